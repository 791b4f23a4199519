"""The Hangul font for figures: Noto Sans KR, shipped as a dependency.

The PyPI package ``pylopdf-fonts-ko`` (SIL Open Font License 1.1) carries
``NotoSansKR-Regular.otf``, the Korean subset of Noto Sans CJK: all 11,172 Hangul
syllables, the jamo, Latin and the common hanja. It is a data-only package; we locate the
file through its import spec without importing it, register it with matplotlib's font
manager once, and hand back its family name.

The bundled font wins over any system font, so a figure looks the same on every machine
(a laptop with Malgun Gothic, a CI box with no CJK font at all). Only when the package is
missing, or its file does not cover Hangul, does ``figures.hangul_font()`` look for an
installed system font instead.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

BUNDLED_PACKAGE = "pylopdf_fonts_ko"
BUNDLED_FILE = "NotoSansKR-Regular.otf"
BUNDLED_FAMILY = "Noto Sans KR"
# A few syllables and jamo the font must draw before we rely on it.
HANGUL_PROBE = "한국어가힣ㄱ"


def bundled_font_path() -> Path | None:
    """Path of the bundled Noto Sans KR file, or None when its package is not installed.

    ``find_spec`` on a top-level package finds it without running its ``__init__``.
    """
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


def covers(path: str | Path, text: str) -> bool:
    """True when the font file at ``path`` has a glyph for every character of ``text``."""
    from matplotlib.ft2font import FT2Font

    charmap = FT2Font(str(path)).get_charmap()
    return all(ord(ch) in charmap for ch in text if not ch.isspace())


@functools.lru_cache(maxsize=1)
def bundled_hangul_family() -> str | None:
    """Register the bundled font with matplotlib (once) and return its family name.

    None when the package is missing or its file is unreadable or lacks Hangul.
    """
    path = bundled_font_path()
    if path is None:
        return None
    from matplotlib import font_manager

    try:
        if not covers(path, HANGUL_PROBE):
            return None
        manager = font_manager.fontManager
        entries = [f for f in manager.ttflist if Path(f.fname) == path]
        if not entries:
            manager.addfont(str(path))
            entries = [f for f in manager.ttflist if Path(f.fname) == path]
    except (OSError, RuntimeError, ValueError):
        return None
    return entries[0].name if entries else None
