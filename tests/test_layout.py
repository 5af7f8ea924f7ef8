"""docs/layout.md names, for each file a study makes, the rule, script and library
module that make it: a newcomer's map, kept true to the code."""

import re

from conftest import REPO

ROWS = [
    [cell.strip() for cell in line.strip("|").split("|")]
    for line in (REPO / "docs" / "layout.md").read_text().splitlines()
    if line.startswith("| `")
]


def test_every_row_names_a_script_that_imports_its_module():
    for _, rule, script, module in ROWS:
        main = module.split()[0]
        assert (REPO / "workflow/scripts/ablation" / main).is_file(), module
        if script == "–":
            continue
        text = (REPO / "workflow/scripts" / script).read_text()
        assert re.search(rf"\b{main.removesuffix('.py')}\b", text), (script, main)
        rule_name, rule_file = re.fullmatch(r"(\S+) \((\S+)\)", rule).groups()
        rules = (REPO / "workflow/rules" / rule_file).read_text()
        assert f"scripts/{script}" in rules, (rule, script)


def test_every_rule_that_runs_a_script_is_on_the_map():
    mapped = {script for _, _, script, _ in ROWS}
    for rules in (REPO / "workflow/rules").glob("*.smk"):
        for script in re.findall(r'"\.\./scripts/(\w+\.py)"', rules.read_text()):
            assert script in mapped, f"{script} (run by {rules.name}) is not in docs/layout.md"
