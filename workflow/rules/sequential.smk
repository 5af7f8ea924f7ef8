# `seeds: auto`: the design, written before any seed past the first look trains,
# and one look after each group of seeds, a checkpoint, so the DAG grows as the
# looks decide (ablation/sequential.py).


rule design:
    input:
        code=code("design"),
    output:
        DESIGN_FILE,
    log:
        **job_log("sequential/design"),
    conda:
        "../../envs/analysis.yaml"
    params:
        design=lambda wc: DESIGN.as_dict(),
        sequential=STUDY.sequential_settings,
        comparisons=COMPARISONS,
        variants=VARIANTS,
        margin=STUDY.margin,
        power=STUDY.statistics["power"],
        # A design changed after a look (`sequential: amend`): the first design's
        # hash, the look, the changes.
        amendment=DESIGN_AMENDMENT,
    message:
        "Writing the sequential design before its looks"
    script:
        "../scripts/design.py"


checkpoint look:
    input:
        unpack(look_inputs),
        code=code("look"),
    output:
        LOOK,
    log:
        **job_log("sequential/look{k}"),
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=lambda wc: look_runs(wc)[1],
    message:
        "Look {wildcards.k}: deciding the comparisons still open"
    script:
        "../scripts/look.py"
