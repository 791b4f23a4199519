"""Hangul in figures is drawn with real glyphs from the bundled Noto Sans KR, never as boxes."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont

from modelqa.report import figures, fonts

KOREAN_LABELS = ["정치", "경제", "생활문화", "스포츠"]


def _render(text: str, family: str) -> np.ndarray:
    """Pixels of ``text`` drawn in ``family`` (Agg, white background, greyscale)."""
    fig = Figure(figsize=(2.0, 1.0), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.25, text, fontsize=36, family=family)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].mean(axis=2)


def test_bundled_font_file_is_found_and_covers_hangul():
    path = fonts.bundled_font_path()
    assert path is not None, "pylopdf-fonts-ko is a dependency: pip install -e ."
    assert path.name == fonts.BUNDLED_FILE and path.is_file()
    # all 11,172 precomposed syllables, the compatibility jamo, and Latin for mixed labels
    syllables = "".join(chr(c) for c in range(0xAC00, 0xD7A4))
    assert fonts.covers(path, syllables)
    assert fonts.covers(path, "ㄱㄴㄷㅏㅑ ABC abc 0123 %")
    assert not fonts.covers(path, "\ue000")  # a private-use code point: the check can fail


def test_hangul_font_is_the_bundled_one_and_matplotlib_resolves_it():
    family = figures.hangul_font()
    assert family == fonts.bundled_hangul_family() == fonts.BUNDLED_FAMILY
    resolved = findfont(FontProperties(family=family), fallback_to_default=False)
    assert Path(resolved) == fonts.bundled_font_path()
    assert figures._font_families()[0] == family


def test_finding_the_font_imports_nothing_and_leaves_rcparams_alone():
    code = (
        "import sys, matplotlib\n"
        "before = list(matplotlib.rcParams['font.family'])\n"
        "from modelqa.report import figures\n"
        "print(figures.hangul_font())\n"
        "assert 'pylopdf_fonts_ko' not in sys.modules and 'koreanize_matplotlib' not in sys.modules\n"
        "assert list(matplotlib.rcParams['font.family']) == before\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == fonts.BUNDLED_FAMILY


def test_missing_package_means_no_bundled_font(monkeypatch):
    monkeypatch.setattr(fonts, "BUNDLED_PACKAGE", "no_such_font_package_xyz")
    fonts.bundled_hangul_family.cache_clear()
    try:
        assert fonts.bundled_font_path() is None
        assert fonts.bundled_hangul_family() is None
    finally:
        fonts.bundled_hangul_family.cache_clear()
    monkeypatch.undo()
    assert fonts.bundled_hangul_family() == fonts.BUNDLED_FAMILY


def test_hangul_is_drawn_with_glyphs_not_boxes():
    family = figures.hangul_font()
    # Without a Hangul font every syllable becomes the same missing-glyph box ("tofu"):
    # that is what the comparison below must tell apart.
    tofu = [_render(ch, figures.FALLBACK_FAMILY) for ch in "한국어"]
    assert np.array_equal(tofu[0], tofu[1]) and np.array_equal(tofu[1], tofu[2])
    assert (tofu[0] < 128).any()  # the box itself is drawn

    drawn = [_render(ch, family) for ch in "한국어"]
    for image in drawn:
        assert (image < 128).sum() > 50, "no ink: the glyph was not drawn"
        assert not np.array_equal(image, tofu[0])
    assert not np.array_equal(drawn[0], drawn[1])
    assert not np.array_equal(drawn[1], drawn[2])
    assert not np.array_equal(drawn[0], drawn[2])
    assert not np.array_equal(_render("한국어", family), _render("한국어", figures.FALLBACK_FAMILY))


@contextlib.contextmanager
def _style_that_keeps_glyph_warnings():
    """figures._style without its warning filter, so a missing glyph would be reported."""
    with matplotlib.rc_context({"font.family": figures._font_families()}):
        yield


def _glyph_warnings(monkeypatch, labels) -> list[str]:
    monkeypatch.setattr(figures, "_style", _style_that_keeps_glyph_warnings)
    k = len(labels)
    counts = np.full((k, k), 2) + np.diag(np.full(k, 30))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = figures.figure_to_png_bytes(figures.confusion_heatmap(labels, counts, normalize=True))
    assert png.startswith(b"\x89PNG")
    return [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_korean_confusion_heatmap_has_every_glyph(monkeypatch):
    assert _glyph_warnings(monkeypatch, KOREAN_LABELS) == []


def test_glyph_warning_check_has_teeth(monkeypatch):
    monkeypatch.setattr(figures, "_font_families", lambda: [figures.FALLBACK_FAMILY])
    missing = _glyph_warnings(monkeypatch, KOREAN_LABELS)
    assert missing and any("DejaVu Sans" in m for m in missing)


@pytest.mark.parametrize("text", ["긍정 Positive", "주제_07", "ㅋㅋㅋ 진짜?", "불만 (-)"])
def test_mixed_hangul_and_latin_labels_fully_covered(text):
    """Each character is covered by the first font or the DejaVu fallback behind it."""
    families = figures._font_families()
    paths = [findfont(FontProperties(family=f), fallback_to_default=False) for f in families]
    for ch in text.replace(" ", ""):
        assert any(fonts.covers(p, ch) for p in paths), f"{ch!r} has no glyph in {families}"
