rule report:
    input:
        metrics=rules.metrics.output[0],
        verdicts=rules.verdicts.output[0],
        looks=look_files,
        design=[DESIGN_FILE] if SEQUENTIAL else [],
        histories=lambda wc: run_files("history.csv"),
        facts=lambda wc: run_files("training.json"),
        layers=lambda wc: run_files("layers.json"),
        benchmarks=lambda wc: [TRAIN_BENCHMARK.format(**r) for r in runs()],
        dataset=DATASET_FILE,
        figures=[path for _, _, path in figure_files()],
        finished=lambda wc: [
            *finished(rules.train),
            rules.metrics.log.status,
            rules.verdicts.log.status,
            *[
                getattr(rules, f"plot_{key}").log.status.format(variant=v)
                for key, v, _ in figure_files()
            ],
        ],
        template=WORKFLOW_DIR / "templates" / "report.md.j2",
        front_page=WORKFLOW_DIR / "templates" / "front_page.rst.j2",
        code=code("report"),
    output:
        markdown=report(
            REPORT,
            caption="../report/report_md.rst",
            category="Results",
            labels={"file": "report.md"},
        ),
        # report.md with its figures, readable inside snakemake --report's page.
        html_page=report(
            f"{RESULTS}/report_page.html",
            caption="../report/report_page.rst",
            category="Results",
            labels={"file": "report.md as a page"},
        ),
        # The front page of snakemake --report (the Snakefile's `report:`).
        front_page=FRONT_PAGE,
    log:
        **job_log("report"),
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=lambda wc: runs(),
        # Each variant's architecture, training, and what it changes of its base.
        variants={
            name: {
                "arch": STUDY.variants[name],
                "training": STUDY.trainings[name],
                "base": STUDY.bases[name],
                "changes": STUDY.changes(name),
            }
            for name in VARIANTS
        },
        # Each of input.figures, in order: its key and variant.
        figures=[{"key": key, "variant": v} for key, v, _ in figure_files()],
        # The figures' alt texts and captions, which the report shows (the code
        # identity leaves them out: ablation/code.py).
        figure_words={key: [f.alt, f.caption] for key, f in FIGURES.items()},
        margins=STUDY.statistics["margins"],
        config_sha256=STUDY.config_sha256,
        project_dir=os.path.relpath(workflow.basedir),
        settings={
            "dataset": DATASET,
            "description": STUDY.description,
            "dataset_title": DATASET_SPEC.title,
            "num_classes": DATASET_SPEC.num_classes,
            "seeds": "auto" if SEQUENTIAL else SEEDS,
            # Advice the report prints, for this study (its target and study files).
            "sequential_command": study_command(seeds="auto"),
            "validation_fraction": STUDY.split["validation_fraction"],
            **{f"{part}_images": n for part, n in STUDY.images.items()},
            "accuracy_as": STUDY.plots["accuracy_as"],
            **STUDY.training,
        },
    message:
        "Rendering report.md"
    script:
        "../scripts/report.py"
