"""Keras 3 ``TextVectorization`` without TensorFlow.

Keras' own layer runs on ``tf.strings`` and refuses to build without TensorFlow. A model whose
first layer is a TextVectorization is run here in two parts: :class:`TextVectorizer` turns the
strings into what the layer would give (the same standardisation, split, n-grams, vocabulary
lookup, padding), and :func:`strip_text_vectorization` rewrites the saved model config so that
Keras builds the rest of the network with a numeric input in its place. The weights of that rest
sit in the archive's ``model.weights.h5`` under the same names, so they load unchanged.

What TensorFlow does, and so what this does:

- ``lower``: ASCII letters only (``tf.strings.lower`` without an encoding); ``É`` stays ``É``.
- ``strip_punctuation``: removes the ASCII characters ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'``.
- ``whitespace`` split: on runs of ASCII whitespace (space, tab, newline, CR, VT, FF); a
  no-break or ideographic space is part of a word.
- ``character`` split: one token per Unicode code point.
- ``ngrams``: all 1-grams, then all 2-grams, ..., words joined by one space.
- lookup: index 0 is padding (``int``) and 1 the out-of-vocabulary token; in ``multi_hot`` /
  ``count`` modes the out-of-vocabulary token is column 0 and empty tokens are dropped.
- ``int`` output is cut or padded with 0 to ``output_sequence_length``; without one, to the
  longest text of the batch (as Keras pads a batch of ``model.predict``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelqa.errors import ModelError

LAYER = "TextVectorization"
MASK_TOKEN = ""
OOV_TOKEN = "[UNK]"
STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = (None, "whitespace", "character")
OUTPUT_MODES = ("int", "multi_hot", "count")
#: What Keras' TextVectorization strips (its DEFAULT_STRIP_REGEX).
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_ASCII_SPACE = re.compile(r"[ \t\n\r\x0b\x0c]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class TextVectorizer:
    """The inference of one TextVectorization layer, read from its config and vocabulary."""

    name: str
    standardize: str | None
    split: str | None
    ngrams: tuple[int, ...] | None
    output_mode: str
    output_sequence_length: int | None
    vocabulary: tuple[str, ...]          # with the special tokens, index = output id
    depth: int                           # columns of a multi_hot / count output

    @property
    def output_width(self) -> int | None:
        """Columns of the output: the sequence length (None: the longest text), or the depth."""
        return self.output_sequence_length if self.output_mode == "int" else self.depth

    def describe(self) -> dict:
        return {"layer": self.name, "standardize": self.standardize, "split": self.split,
                "ngrams": list(self.ngrams) if self.ngrams else None, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "vocabulary_size": len(self.vocabulary)}

    def tokens(self, text: str) -> list[str]:
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        if self.split == "whitespace":
            words = [w for w in _ASCII_SPACE.split(text) if w]
        elif self.split == "character":
            words = list(text)
        else:
            words = [text]
        if not self.ngrams:
            return words
        return [" ".join(words[i:i + n]) for n in self.ngrams for i in range(len(words) - n + 1)]

    def ids(self, text: str) -> list[int]:
        index = self._index()
        oov = 1 if self.output_mode == "int" else 0
        out = []
        for token in self.tokens(text):
            if token == MASK_TOKEN:
                if self.output_mode == "int":
                    out.append(0)
                continue  # a masked token is dropped from counts
            out.append(index.get(token, oov))
        return out

    def transform(self, texts: list[str]) -> np.ndarray:
        """The layer's output for a batch: int64 ids (n, length) or float32 (n, depth)."""
        rows = [self.ids(t) for t in texts]
        if self.output_mode == "int":
            width = self.output_sequence_length
            if width is None:
                width = max((len(r) for r in rows), default=0)
            out = np.zeros((len(rows), width), dtype=np.int64)
            for i, r in enumerate(rows):
                r = r[:width]
                out[i, :len(r)] = r
            return out
        out = np.zeros((len(rows), self.depth), dtype=np.float32)
        for i, r in enumerate(rows):
            ids = np.asarray([j for j in r if j < self.depth], dtype=np.int64)
            if ids.size:
                counts = np.bincount(ids, minlength=self.depth).astype(np.float32)
                out[i] = counts if self.output_mode == "count" else (counts > 0)
        return out

    def _index(self) -> dict[str, int]:
        cached = self.__dict__.get("_cached_index")
        if cached is None:
            cached = {}
            for i, token in enumerate(self.vocabulary):
                cached.setdefault(token, i)
            object.__setattr__(self, "_cached_index", cached)
        return cached


def vectorizer_from_config(layer_config: dict, vocabulary_text: str | None, *, where: str) -> TextVectorizer:
    """A :class:`TextVectorizer` from the layer's saved config and its ``vocabulary.txt`` (the
    archive's ``assets/.../vocabulary.txt``; None when the vocabulary is in the config)."""
    cfg = layer_config
    name = str(cfg.get("name", "text_vectorization"))
    standardize, split = cfg.get("standardize"), cfg.get("split")
    mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(cfg.get("output_mode", "int"), cfg.get("output_mode", "int"))
    for key, value, allowed in (("standardize", standardize, STANDARDIZE), ("split", split, SPLIT),
                                ("output_mode", mode, OUTPUT_MODES)):
        if value not in allowed:
            shown = "a custom function" if isinstance(value, dict) else repr(value)
            raise ModelError(f"{where}: the {LAYER} layer {name!r} has {key}={shown}; modelqa runs this layer "
                             f"itself (it needs TensorFlow in Keras) and supports {key} "
                             f"{', '.join(repr(a) for a in allowed)}",
                             hint="save the model without the layer and feed modelqa the vectorized inputs, "
                                  "or retrain with a supported setting")
    ngrams = cfg.get("ngrams")
    if isinstance(ngrams, int) and not isinstance(ngrams, bool):
        ngrams = tuple(range(1, ngrams + 1))
    elif isinstance(ngrams, list | tuple):
        ngrams = tuple(int(n) for n in ngrams)
    elif ngrams is not None:
        raise ModelError(f"{where}: the {LAYER} layer {name!r} has ngrams={ngrams!r}, which Keras does not write")
    if ngrams and split is None:
        raise ModelError(f"{where}: the {LAYER} layer {name!r} makes n-grams without splitting the text; "
                         "modelqa does not support that setting")
    if cfg.get("sparse") or cfg.get("ragged"):
        raise ModelError(f"{where}: the {LAYER} layer {name!r} gives sparse or ragged output, which needs "
                         "TensorFlow; modelqa supports dense output only")
    vocab = _vocabulary(cfg, vocabulary_text, mode=mode, name=name, where=where)
    max_tokens = cfg.get("max_tokens")
    depth = int(max_tokens) if cfg.get("pad_to_max_tokens") and max_tokens else len(vocab)
    length = cfg.get("output_sequence_length") if mode == "int" else None
    return TextVectorizer(name=name, standardize=standardize, split=split, ngrams=ngrams or None,
                          output_mode=mode, output_sequence_length=None if length is None else int(length),
                          vocabulary=tuple(vocab), depth=depth)


def _vocabulary(cfg: dict, text: str | None, *, mode: str, name: str, where: str) -> list[str]:
    """Tokens in output order, special tokens first, as Keras' ``set_vocabulary`` orders them."""
    special = [MASK_TOKEN, OOV_TOKEN] if mode == "int" else [OOV_TOKEN]
    given = cfg.get("vocabulary")
    if isinstance(given, str):
        raise ModelError(f"{where}: the {LAYER} layer {name!r} reads its vocabulary from the file {given!r} "
                         "at load time; modelqa reads only what is inside the .keras archive",
                         hint="call layer.set_vocabulary(layer.get_vocabulary()) before model.save(...)")
    if isinstance(given, list):
        tokens = [str(t) for t in given]
    elif text is not None:
        tokens = text.splitlines()   # as Keras' load_assets reads vocabulary.txt
        while tokens and tokens[-1] == "":
            tokens.pop()
    else:
        raise ModelError(f"{where}: the {LAYER} layer {name!r} has no vocabulary in the archive "
                         "(no assets/.../vocabulary.txt and none in its config)",
                         hint="adapt the layer (layer.adapt(texts)) before saving the model")
    if tokens[:len(special)] == special:
        tokens = tokens[len(special):]
    return special + tokens


def find_text_vectorization(model_config: dict) -> tuple[int, dict] | None:
    """(position in the layer list, layer entry) of a Sequential's first layer when it is a
    TextVectorization; None when the model has none. A TextVectorization anywhere else, or in a
    Functional model, is a ModelError (only the first layer of a Sequential is supported)."""
    cfg = model_config.get("config") or {}
    layers = cfg.get("layers") or []
    positions = [i for i, layer in enumerate(layers) if layer.get("class_name") == LAYER]
    if not positions:
        return None
    first = next((i for i, layer in enumerate(layers) if layer.get("class_name") != "InputLayer"), None)
    if model_config.get("class_name") != "Sequential" or positions != [first]:
        raise ModelError(f"a {LAYER} layer that is not the first layer of a Sequential model; modelqa runs "
                         f"{LAYER} itself (Keras needs TensorFlow for it) only as the first layer of a "
                         "Sequential", hint="rebuild the model as keras.Sequential([TextVectorization, ...])")
    return first, layers[first]


def strip_text_vectorization(model_config: dict, vectorizer: TextVectorizer) -> dict:
    """The model config with the TextVectorization layer replaced by a numeric input of the
    shape it outputs, the rest untouched (so the weights under ``layers/...`` still match)."""
    new = copy.deepcopy(model_config)
    cfg = new["config"]
    found = find_text_vectorization(new)
    assert found is not None
    position, _ = found
    shape = [None, vectorizer.output_width]
    dtype = "int64" if vectorizer.output_mode == "int" else "float32"
    layers: list[Any] = [layer for i, layer in enumerate(cfg["layers"])
                         if i != position and layer.get("class_name") != "InputLayer"]
    input_layer = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                   "config": {"batch_shape": shape, "dtype": dtype, "sparse": False, "ragged": False,
                              "name": "modelqa_vectorized_input"}}
    cfg["layers"] = [input_layer, *layers]
    cfg["build_input_shape"] = shape
    if isinstance(new.get("build_config"), dict):
        new["build_config"] = {"input_shape": shape}
    new["compile_config"] = None
    return new
