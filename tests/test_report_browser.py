"""The report in a real browser: headless Chromium opens it from disk, runs its script without a
single console message, shows every section, and leaves a screenshot to look at.

Skipped, with the reason, where no Chromium is installed (`make test` installs it with
apt-get where it runs as root). Headless Chromium cannot dump or shoot a page with scripts
disabled, so "reads without JavaScript" is checked on the file as written: the sections are
there before any script runs.
Set MODELQA_CHROMIUM to a browser binary to use another one,
and MODELQA_SCREENSHOTS to a folder to keep the screenshots.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from modelqa.api.evaluate import evaluate_arrays

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
LABELS = ["정치", "경제", "생활문화", "스포츠"]
HOSTILE_TEXT = "<script>alert(1)</script> 그리고 <img src=x onerror=alert(1)> javascript:alert(1)"
CORE_SECTIONS = ("run", "headline", "per-class", "confusion", "distribution", "confidence", "errors",
                 "confused-pairs", "all-metrics", "details")
WINDOW = (1280, 3000)
# "[pid:tid:date:INFO:CONSOLE:12] "message", source: file:///... (12)"; older builds write CONSOLE(12)
CONSOLE_LINE = re.compile(r"CONSOLE[:(]\d+\)?\]\s*(?P<message>.*)$")


def _browser() -> str | None:
    override = os.environ.get("MODELQA_CHROMIUM")
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


BROWSER = _browser()
_WHERE = (f"MODELQA_CHROMIUM={os.environ['MODELQA_CHROMIUM']!r} is not a program" if os.environ.get("MODELQA_CHROMIUM")
          else "no Chromium on PATH (looked for " + ", ".join(BROWSERS) + ")")
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason=_WHERE + "; `make test` installs it with apt-get when run as root, "
    "or: apt-get install chromium fonts-noto-cjk",
)


class _Page(HTMLParser):
    """What the tests need from a DOM: ids, the nav links, scripts, images, header cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.section_ids: list[str] = []
        self.nav_targets: list[str] = []
        self.html_classes: list[str] = []
        self.scripts = 0
        self.img_srcs: list[str] = []
        self.sortable_headers: list[dict] = []
        self.text: list[str] = []
        self._in_nav = 0
        self._in_sortable = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"] or "")
        if tag == "html":
            self.html_classes = (a.get("class") or "").split()
        elif tag == "section":
            self.section_ids.append(a.get("id") or "")
        elif tag == "nav":
            self._in_nav += 1
        elif tag == "a" and self._in_nav and (a.get("href") or "").startswith("#"):
            self.nav_targets.append(a["href"][1:])
        elif tag == "script":
            self.scripts += 1
        elif tag == "img":
            self.img_srcs.append(a.get("src") or "")
        elif tag == "table" and "sortable" in (a.get("class") or "").split():
            self._in_sortable += 1
        elif tag == "th" and self._in_sortable:
            self.sortable_headers.append(a)

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav -= 1
        elif tag == "table" and self._in_sortable:
            self._in_sortable -= 1

    def handle_data(self, data):
        self.text.append(data)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-breakpad", "--no-first-run",
               "--no-default-browser-check", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=90, cwd=tmp_path, stdin=subprocess.DEVNULL)


def _console(stderr: str) -> list[str]:
    """Console messages from Chromium's log. The report's script never logs, so every message
    is a problem: an uncaught exception, a Content-Security-Policy violation, a blocked load."""
    return [m.group("message") for line in stderr.splitlines() if (m := CONSOLE_LINE.search(line))]


def _parse(dom: str) -> _Page:
    page = _Page()
    page.feed(dom)
    return page


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-run")
    rng = np.random.default_rng(4)
    n, k = 240, len(LABELS)
    y = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 2.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    texts = [f"{LABELS[t]} 관련 기사 {i}번: 오늘 발표된 내용에 따르면 …" for i, t in enumerate(y)]
    wrong = int(np.flatnonzero(probs.argmax(axis=1) != y)[0])
    texts[wrong] = HOSTILE_TEXT
    evaluate_arrays(task="multiclass", y_true=y, probs=probs, labels=LABELS, texts=texts,
                    ids=("doc_id", [f"doc-{i:04d}" for i in range(n)]),
                    run_info={"model": "한국어 뉴스 분류기", "data": "뉴스_검증.csv"}, out=out, n_resamples=50)
    path = out / "report.html"
    assert path.is_file()
    return path


def test_report_runs_in_chromium_without_console_messages(report, tmp_path):
    done = _chromium(tmp_path, "--dump-dom", report.resolve().as_uri())
    assert done.returncode == 0, done.stderr[-3000:]
    assert _console(done.stderr) == []
    assert "Uncaught" not in done.stderr

    page = _parse(done.stdout)
    # the page's own script ran: it marks <html class="js"> and makes sortable headers focusable
    assert "js" in page.html_classes
    assert page.sortable_headers and all(h.get("tabindex") == "0" for h in page.sortable_headers)
    # every section, every link of the table of contents lands somewhere
    missing = [s for s in CORE_SECTIONS if s not in page.ids]
    assert not missing, f"sections missing from the page: {missing}"
    assert page.nav_targets and [t for t in page.nav_targets if t not in page.ids] == []
    assert len(page.section_ids) == len(set(page.section_ids))
    # one script (the page's own): the hostile text stayed text
    assert page.scripts == 1
    text = "".join(page.text)
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(1)>" in text
    # figures are inline, Hangul labels and run info are on the page
    assert page.img_srcs and all(src.startswith("data:image/") for src in page.img_srcs)
    assert all(label in text for label in LABELS) and "한국어 뉴스 분류기" in text
    # nothing is built by the script: the file as written has the same sections
    static = _parse(report.read_text(encoding="utf-8"))
    assert "js" not in static.html_classes
    assert static.section_ids == page.section_ids


def test_report_screenshot(report, tmp_path):
    shot = tmp_path / "report-4-classes.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                     report.resolve().as_uri())
    assert done.returncode == 0, done.stderr[-3000:]
    assert _console(done.stderr) == []
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == WINDOW

    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    assert pixels.std() > 0.05, "the screenshot is blank"
    assert (pixels[:60].mean(axis=2) < 0.3).mean() > 0.5, "the dark page header is not at the top"

    keep = os.environ.get("MODELQA_SCREENSHOTS")
    target = Path(keep) if keep else tmp_path / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    kept = shutil.copy2(shot, target / shot.name)
    print(f"screenshot: {kept}")
