"""A folder's ``tokenizer.json`` run by the ``tokenizers`` library directly, without importing
transformers: the tokenizer of adapters.lean_bert's fast inference path.

It gives the same ids as ``AutoTokenizer.from_pretrained(folder)`` for the tokenizers it accepts
(tests/test_lean_bert.py compares them on English, Korean, accents, emoji, Chinese and long texts):

- ``PreTrainedTokenizerFast`` / ``TokenizersBackend``: transformers runs ``tokenizer.json`` as it is;
- ``BertTokenizer`` / ``BertTokenizerFast``: transformers 5 rebuilds the normaliser and the
  ``[CLS] … [SEP]`` template from tokenizer_config.json, so the file is accepted only when its
  normaliser, pre-tokeniser, model and template are exactly what that rebuild gives.

``lean_tokenizer_problem(folder)`` says why another folder is left to transformers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

TOKENIZER_FILE = "tokenizer.json"
AS_IS = ("PreTrainedTokenizerFast", "TokenizersBackend")
BERT = ("BertTokenizer", "BertTokenizerFast")
#: Values of tokenizer_config.json that change what transformers gives; the defaults are the only
#: ones accepted here.
DEFAULTS = {"truncation_side": "right", "add_prefix_space": None, "do_basic_tokenize": True, "never_split": None}


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _content(token) -> str | None:
    if isinstance(token, dict):
        return token.get("content")
    return token


def _bert_problem(spec: dict, config: dict) -> str | None:
    norm, pre, model, post = (spec.get(k) or {} for k in ("normalizer", "pre_tokenizer", "model", "post_processor"))
    want_norm = {"type": "BertNormalizer", "clean_text": True,
                 "handle_chinese_chars": config.get("tokenize_chinese_chars", True),
                 "strip_accents": config.get("strip_accents"), "lowercase": config.get("do_lower_case", True)}
    if {k: norm.get(k) for k in want_norm} != want_norm:
        return "its normaliser is not the one tokenizer_config.json asks for"
    if pre.get("type") != "BertPreTokenizer":
        return f"its pre-tokeniser is {pre.get('type')!r}"
    unk, cls, sep = (_content(config.get(k)) or d for k, d in (("unk_token", "[UNK]"), ("cls_token", "[CLS]"),
                                                               ("sep_token", "[SEP]")))
    if model.get("type") != "WordPiece" or model.get("unk_token") != unk or \
            model.get("continuing_subword_prefix", "##") != "##":
        return "its model is not WordPiece with the configured unknown token"
    vocab = model.get("vocab") or {}
    single = [(x.get("SpecialToken") or x.get("Sequence") or {}) for x in post.get("single") or []]
    want = [{"id": cls, "type_id": 0}, {"id": "A", "type_id": 0}, {"id": sep, "type_id": 0}]
    specials = post.get("special_tokens") or {}
    ids_ok = all((specials.get(t) or {}).get("ids") == [vocab.get(t, d)] for t, d in ((cls, 2), (sep, 3)))
    if post.get("type") != "TemplateProcessing" or single != want or not ids_ok:
        return "its post-processor is not [CLS] text [SEP]"
    return None


def lean_tokenizer_problem(folder: str | Path) -> str | None:
    """None when ``LeanTokenizer(folder)`` gives what transformers gives; else why not."""
    folder = Path(folder)
    if not (folder / TOKENIZER_FILE).is_file():
        return f"no {TOKENIZER_FILE}"
    config = _json(folder / "tokenizer_config.json")
    cls = config.get("tokenizer_class")
    for key, default in DEFAULTS.items():
        if config.get(key, default) != default:
            return f"tokenizer_config.json sets {key}={config.get(key)!r}"
    if cls in AS_IS:
        return None
    if cls in BERT:
        return _bert_problem(_json(folder / TOKENIZER_FILE), config)
    return f"tokenizer_class {cls!r}"


class LeanTokenizer:
    """What engine.predict asks of a tokenizer: ``__call__(texts, truncation=, max_length=)`` giving
    ``input_ids`` / ``token_type_ids`` / ``attention_mask`` lists, ``pad_token_id``,
    ``unk_token_id`` and ``model_max_length``."""

    def __init__(self, folder: str | Path) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        self._tok = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tok.no_padding()
        self._tok.no_truncation()
        self._lock = threading.Lock()  # truncation is state of the Rust tokenizer
        config = _json(folder / "tokenizer_config.json")
        self.model_max_length = int(config.get("model_max_length") or 10**30)
        pad = _content(config.get("pad_token"))
        unk = _content(config.get("unk_token"))
        self.pad_token_id = self._tok.token_to_id(pad) if pad else None
        self.unk_token_id = self._tok.token_to_id(unk) if unk else None
        names = config.get("model_input_names") or ["input_ids", "token_type_ids", "attention_mask"]
        self.model_input_names = list(names)

    def __call__(self, texts: Sequence[str], *, truncation: bool = False, max_length: int | None = None,
                 add_special_tokens: bool = True, **_ignored) -> dict[str, list[list[int]]]:
        if isinstance(texts, str):
            texts = [texts]
        with self._lock:
            if truncation and max_length:
                self._tok.enable_truncation(int(max_length))
            else:
                self._tok.no_truncation()
            encs = self._tok.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        out = {"input_ids": [e.ids for e in encs]}
        if "token_type_ids" in self.model_input_names:
            out["token_type_ids"] = [e.type_ids for e in encs]
        out["attention_mask"] = [e.attention_mask for e in encs]
        return out
