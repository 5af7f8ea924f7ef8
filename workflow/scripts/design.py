"""Rule design: the sequential design, written before any seed past the first look
trains: looks, alpha, boundaries, the comparisons and their primary metric, and
what the design is expected to do (power, error rates, seeds) by simulation."""

from ablation import atomic, design_lock, sequential, sequential_simulation
from ablation.joblog import run_logged, say


def main(smk):
    params = smk.params
    design = sequential.Design.from_dict(params.design)
    planning = params.sequential
    characteristics = sequential_simulation.operating_characteristics(
        design, planning["target"], planning["planning_sd"], params.margin, outlier_size=0.004
    )
    trainings = {
        "worst_case": design.cap * len(params.variants),
        "expected_no_difference": sequential_simulation.expected_trainings(
            design, params.comparisons, params.variants, planning["planning_sd"], params.margin, 0.0
        ),
        "expected_at_target": sequential_simulation.expected_trainings(
            design,
            params.comparisons,
            params.variants,
            planning["planning_sd"],
            params.margin,
            planning["target"],
        ),
    }
    amendment = params.amendment
    if amendment:
        # What changing the design after the data did to its error rates.
        locked = amendment["locked"]
        first = sequential.Design.from_config(locked, locked["alpha"])
        amendment = {
            **amendment,
            "simulated": design_lock.simulate_amendment(
                first, design, planning["planning_sd"], params.margin
            ),
        }
    atomic.write_json(
        smk.output[0],
        {
            **params.design,
            "citations": list(sequential.CITATIONS),
            "primary_metric": sequential.PRIMARY,
            "margin": params.margin,
            "seed_order": "seeds 1, 2, 3, ... in order; a seed is never replaced or skipped",
            "comparisons": params.comparisons,
            "planning": planning,
            "operating_characteristics": characteristics,
            "planning_studies": sequential_simulation.PLANNING_STUDIES,
            "fixed_seeds_for_power": sequential_simulation.fixed_seeds_for_power(
                planning["target"], planning["planning_sd"], design.alpha, params.power
            ),
            "power": params.power,
            "trainings": trainings,
            **({"amendment": amendment} if amendment else {}),
        },
    )
    say(
        f"Sequential design: looks at {', '.join(map(str, design.looks))} seeds; "
        f"{trainings['worst_case']} trainings at most, about "
        f"{trainings['expected_no_difference']:.0f} expected"
    )


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
