"""render_html: every section, escaping of hostile data, self-contained (no network)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from test_report_sample import XSS_LABEL, make_sample

from modelqa.report.html import render_html, write_html

SECTION_IDS = ["run", "headline", "per-class", "confusion", "distribution", "confidence", "errors",
               "confused-pairs", "all-metrics", "details"]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.open_tags: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if "id" in attributes:
            self.ids.append(attributes["id"])
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _render(sample: dict, **kwargs) -> str:
    return render_html(sample["result"], sample["predictions"], sample["errors"], sample["confusions"],
                       sample["distribution"], sample["run_info"], **kwargs)


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return _render(make_sample(k=6, n=300, hostile=True))


def test_has_every_section(hostile_html):
    ids = _parse(hostile_html).ids
    for section in SECTION_IDS:
        assert section in ids, section
    assert len(ids) == len(set(ids)), "ids must be unique"


def test_hostile_text_and_labels_stay_inert(hostile_html):
    parsed = _parse(hostile_html)
    # exactly one script element: ours, at the end
    scripts = [attrs for tag, attrs in parsed.elements if tag == "script"]
    assert len(scripts) == 1
    assert not any("alert" in s for s in parsed.scripts)
    for tag, attrs in parsed.elements:
        assert tag != "b", "label markup must not become an element"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler attribute {name} on <{tag}>"
            if name in ("src", "href"):
                assert not (value or "").lower().startswith("javascript:"), (tag, name, value)
        if tag == "img":
            assert attrs.get("src", "").startswith("data:image/png;base64,"), attrs.get("src", "")[:40]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in hostile_html
    assert XSS_LABEL in hostile_html  # shown as text
    assert "<script>alert" not in hostile_html


def test_self_contained_no_network_loads(hostile_html):
    parsed = _parse(hostile_html)
    for tag, attrs in parsed.elements:
        for name in ("src", "href", "srcset", "data", "action", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
        if tag == "link":
            assert attrs.get("rel") != "stylesheet"
        if tag == "a":
            assert attrs.get("href", "#").startswith("#")
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", hostile_html)
    assert "@import" not in hostile_html
    csp = next(a["content"] for t, a in parsed.elements if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


def test_script_hash_matches_csp(hostile_html):
    import base64
    import hashlib

    parsed = _parse(hostile_html)
    script = "".join(parsed.scripts)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in hostile_html


def test_headline_numbers_and_baselines():
    sample = make_sample(k=4, n=200, seed=3)
    html = _render(sample)
    result = sample["result"]
    accuracy = result["metrics"]["accuracy"]
    lo, hi = result["confidence_intervals"]["accuracy"]
    assert f"{accuracy * 100:.1f}%" in html
    assert f"{lo * 100:.1f}–{hi * 100:.1f}%" in html
    assert f"{result['metrics']['f1_macro']:.3f}" in html
    assert f"{result['baselines']['majority_accuracy'] * 100:.1f}%" in html
    n_errors = int((~sample["predictions"]["correct"]).sum())
    assert f">{n_errors:,}<" in html


def test_error_table_is_capped_and_says_so():
    sample = make_sample(k=5, n=400)
    html = _render(sample, max_error_rows=7)
    table = html.split('id="errors-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 7
    assert f"Showing 7 of {len(sample['errors']):,} errors" in html
    assert "at most 7" in html


def test_none_metrics_show_as_dash_and_no_probabilities():
    sample = make_sample(k=3, n=120, with_probs=False)
    sample["result"]["metrics"]["mcc"] = None
    html = _render(sample)
    assert "—" in html
    ids = _parse(html).ids
    assert "confidence" not in ids  # no probabilities: no confidence histogram
    assert "ROC AUC</th>" not in html


def test_many_classes_renders(tmp_path):
    sample = make_sample(k=58, n=1500)
    html = _render(sample)
    assert "With 58 classes the cell values are shown by colour only" in html
    path = write_html(tmp_path / "report.html", html)
    assert path.read_text(encoding="utf-8") == html
    assert path.stat().st_size < 2_000_000


def test_binary_without_errors_or_confusions():
    sample = make_sample(k=2, n=50)
    predictions = sample["predictions"].assign(correct=True)
    empty_errors = sample["errors"].iloc[0:0]
    empty_pairs = pd.DataFrame(columns=["true_label", "predicted_label", "count", "share_of_true"])
    html = render_html(sample["result"], predictions, empty_errors, empty_pairs, sample["distribution"],
                       {"data": "d.csv"})
    assert "No errors" in html and "No confusions" in html
    assert "— (predictions file)" in html
