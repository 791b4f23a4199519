"""Figures render at few and many classes, with Hangul labels, without pyplot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from test_report_sample import class_names

from modelqa.report import figures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _counts(k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 5, size=(k, k))
    counts[np.arange(k), np.arange(k)] += 40
    return counts


@pytest.mark.parametrize("k", [2, 5, 20, 58])
@pytest.mark.parametrize("normalize", [False, True])
def test_heatmap_renders_png(k, normalize):
    counts = _counts(k)
    if k > 2:
        counts[1] = 0  # a class absent from the data: its normalised row stays empty
    fig = figures.confusion_heatmap(class_names(k), counts.tolist(), normalize=normalize)
    assert isinstance(fig, Figure)
    data = figures.figure_to_png_bytes(fig)
    assert data.startswith(PNG_MAGIC)
    annotations = fig.axes[0].texts
    assert (len(annotations) > 0) == (k <= figures.MAX_ANNOTATED_CLASSES)


def test_heatmap_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        figures.confusion_heatmap(["a", "b", "c"], [[1, 2], [3, 4]], normalize=False)


def test_heatmap_long_labels_are_shortened():
    labels = ["아주 긴 레이블 이름이 계속 이어지는 경우입니다 정말로", "b"]
    fig = figures.confusion_heatmap(labels, [[3, 1], [0, 4]], normalize=False)
    shown = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert shown[0].endswith("…") and len(shown[0]) == figures.MAX_TICK_LABEL_CHARS


@pytest.mark.parametrize("k", [3, 58])
def test_distribution_bars_vertical_and_horizontal(k):
    true = np.arange(1, k + 1) * 3
    pred = true[::-1]
    flags = ["over-predicted" if p > 1.25 * t else "under-predicted" if p < 0.8 * t else "" for t, p in zip(true, pred, strict=True)]
    df = pd.DataFrame({"label": class_names(k), "true_count": true, "predicted_count": pred,
                       "difference": pred - true, "ratio": pred / true, "flag": flags})
    fig = figures.distribution_bars(df)
    ax = fig.axes[0]
    ticks = ax.get_yticklabels() if k > 12 else ax.get_xticklabels()
    assert any("▲" in t.get_text() for t in ticks)
    assert figures.figure_to_png_bytes(fig).startswith(PNG_MAGIC)


def test_confidence_histogram_ignores_nan():
    fig = figures.confidence_histogram([0.9, np.nan, 0.4, 0.7], [True, False, False, True])
    assert figures.figure_to_png_bytes(fig).startswith(PNG_MAGIC)


def test_data_uri_and_save_png(tmp_path):
    fig = figures.confusion_heatmap(["긍정", "부정"], [[5, 1], [2, 7]], normalize=True)
    uri = figures.figure_to_data_uri(fig)
    assert uri.startswith("data:image/png;base64,")
    path = figures.save_png(fig, tmp_path / "out" / "cm.png")
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in path.parent.iterdir()) == ["cm.png"]


def test_no_pyplot_and_no_global_font_change():
    import matplotlib

    before = list(matplotlib.rcParams["font.family"])
    figures.figure_to_png_bytes(figures.confusion_heatmap(["a", "b"], [[1, 0], [0, 1]], normalize=False))
    assert list(matplotlib.rcParams["font.family"]) == before
    source = "".join(p.read_text(encoding="utf-8") for p in Path(figures.__file__).parent.glob("*.py"))
    assert "import matplotlib.pyplot" not in source and "from matplotlib import pyplot" not in source


def test_hangul_font_found_when_installed():
    from matplotlib import font_manager

    files = [p for p in font_manager.findSystemFonts() if "cjk" in p.lower() or "nanum" in p.lower()]
    if not files:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert figures.hangul_font() is not None


def test_without_cjk_font_falls_back_silently(monkeypatch):
    import warnings

    monkeypatch.setattr(figures, "_font_families", lambda: [figures.FALLBACK_FAMILY])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = figures.figure_to_png_bytes(figures.confusion_heatmap(["긍정", "부정"], [[5, 1], [2, 7]], normalize=False))
    assert data.startswith(PNG_MAGIC)
