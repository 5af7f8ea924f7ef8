"""Every study of this folder side by side: one row per study and variant.

    .venv/bin/python workflow/scripts/compare_studies.py

Reads results/metrics.csv (the default study) and studies/*/results/metrics.csv
(studies with a `study:` name), prints a Markdown table (dataset, seeds, epochs,
test accuracy mean ± sd over seeds) and writes it to studies.md. Not a rule: it
reads whatever studies are finished and changes none of them.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import atomic, metrics_table  # noqa: E402
from ablation.study import study_folder  # noqa: E402


def main() -> None:
    found = {"(default)": Path(f"{study_folder(None)}results/metrics.csv")} | {
        path.parents[1].name: path
        for path in sorted(Path().glob(f"{study_folder('*')}results/metrics.csv"))
    }
    tables = {study: metrics_table.read_metrics(p) for study, p in found.items() if p.exists()}
    if not tables:
        sys.exit("no finished study here: no results/metrics.csv, no studies/*/results/metrics.csv")
    table = metrics_table.compare_studies(tables).to_markdown(index=False)
    atomic.write_text("studies.md", f"# Studies side by side\n\n{table}\n")
    print(table)


if __name__ == "__main__":
    main()
