"""snakemake --report report.html on the tiny study, rendered in headless Chromium.

Skipped where Chromium is absent (a laptop); .ci/run installs Debian's chromium,
so in CI a missing browser is a failure, not a skip.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import check, copy_study, snakemake

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


@pytest.fixture(scope="module")
def report_page(tiny_study, tmp_path_factory):
    """snakemake --report report.html, once, on a copy of the tiny study."""
    study = copy_study(tiny_study, tmp_path_factory.mktemp("html") / "study")
    check(snakemake(study, "--report", "report.html", cores=None))
    return study / "report.html"


def test_html_report_opens_on_the_results_and_holds_every_figure(report_page, chromium, tmp_path):
    page = report_page
    html = page.read_text()
    # Every flagged artifact is in the report, each figure embedded as a PNG.
    for variant in ("baseline", "with_bn"):
        assert f"results/{variant}/curves.png" in html
        assert f"results/{variant}/seed1/test_metrics.json" in html
    # 2 variants x (curves, seeds, confusion), the curves by variant, differences,
    # accuracy, and the headline figure again on the front page
    assert html.count("data:image/png;") == 10

    dom = browse(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    rendered = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
    for category in ("Training curves", "Comparison", "Test set", "Results"):
        assert category in rendered  # drawn by the page's JavaScript, not in its source
    for category in ("Training curves", "Comparison"):
        assert category not in re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
    # The front page: the results and verdicts, before any click.
    assert "Results: CNN ablation on MNIST</h1>" in dom
    assert "Verdicts on test accuracy" in dom and "with_bn − baseline" in dom
    # Unescaped quotes: drawn into the page, not the description's source string.
    assert re.search(r'<img alt="Test accuracy per variant" src="data:image/png;base64,', dom)

    shot = tmp_path / "report.png"
    browse(chromium, tmp_path, "--window-size=1280,900", f"--screenshot={shot}", page.as_uri())
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert image.size == (1280, 900) and len(colours) > 50  # not a blank page


# Clicks as a user would, once the page has drawn itself: the front page's link to
# the whole report, then the eye button that opens it; then writes what the page
# shows into <pre id="probe">, for --dump-dom.
CLICKS = """
<script>
function probe(note) {
  const frames = [...document.querySelectorAll("iframe")].map(f => f.getAttribute("src") || "");
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({note: note, frames: frames});
  document.body.appendChild(out);
}
function clickWhen(find, then, tries) {
  tries = tries || 0;
  const found = find();
  if (found) { found.click(); setTimeout(then, 500); }
  else if (tries > 40) { probe("nothing to click before " + then.name); }
  else { setTimeout(() => clickWhen(find, then, tries + 1), 200); }
}
window.addEventListener("load", () => clickWhen(
  () => [...document.querySelectorAll("a")].find(a => a.textContent.trim() === "report_page.html"),
  function openPage() { clickWhen(
    () => document.querySelector("a[iconname=eye]"),  // the result's view button
    function done() { probe("clicked"); }
  ); }
));
</script>
"""


def with_clicks(html: str) -> str:
    end = html.rindex("</body>")  # the last: the page's scripts hold others in strings
    return html[:end] + CLICKS + html[end:]


def test_clicking_into_the_report_page_shows_report_md_with_its_figures(
    report_page, chromium, tmp_path
):
    import base64
    import json

    html = report_page.read_text()
    clicked = tmp_path / "clicked.html"
    clicked.write_text(with_clicks(html))
    dom = browse(chromium, tmp_path, "--dump-dom", clicked.as_uri()).stdout
    from html import unescape

    probe = json.loads(unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)[1]))
    assert probe["note"] == "clicked" and len(probe["frames"]) == 1, probe["note"]
    frame = probe["frames"][0]
    assert frame.startswith("data:text/html;") and "filename=report_page.html" in frame
    page = base64.b64decode(frame.split("base64,", 1)[1]).decode()
    assert "<h2>Results on MNIST</h2>" in page and "<table>" in page
    figures = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)
    assert "Test accuracy per variant" in figures and len(figures) == 9

    shot = tmp_path / "clicked.png"
    browse(chromium, tmp_path, "--window-size=1280,900", f"--screenshot={shot}", clicked.as_uri())
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    # The opened page draws its text and figures beside the result's panel.
    right = image.crop((660, 0, 1280, 900))
    assert len(right.getcolors(maxcolors=1 << 20)) > 100
