"""snakemake --report report.html on the tiny study, rendered in headless Chromium.

Skipped where Chromium is absent (a laptop); .ci/run installs Debian's chromium,
so in CI a missing browser is a failure, not a skip.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import check, snakemake

pytestmark = pytest.mark.workflow

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=15000",
]  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: apt-get install chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def browse(chromium, tmp_path, *args):
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def test_html_report_renders_the_variants_and_their_figures(study_copy, chromium, tmp_path):
    check(snakemake(study_copy, "--report", "report.html", cores=None))
    page = study_copy / "report.html"
    html = page.read_text()
    # Every flagged artifact is in the report, each figure embedded as a PNG.
    for variant in ("baseline", "with_bn"):
        assert f"results/{variant}/curves.png" in html
        assert f"results/{variant}/seed1/test_metrics.json" in html
    assert html.count("data:image/png;") == 8  # 2 variants, 4 curves, differences, accuracy

    dom = browse(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    rendered = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
    for category in ("Training curves", "Comparison", "Test set", "Results"):
        assert category in rendered  # drawn by the page's JavaScript, not in its source
    for category in ("Training curves", "Comparison"):
        assert category not in re.sub(r"<script\b.*?</script>", "", html, flags=re.S)

    shot = tmp_path / "report.png"
    browse(chromium, tmp_path, "--window-size=1280,900", f"--screenshot={shot}", page.as_uri())
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert image.size == (1280, 900) and len(colours) > 50  # not a blank page
