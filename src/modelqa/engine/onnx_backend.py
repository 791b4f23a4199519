"""ONNX Runtime backend for text-classifier prediction (``--backend onnx``).

The torch model is exported to ONNX once and the file is cached "next to the model, keyed by
the weights' hash": ``<model>/.modelqa-onnx/<hash[:16]>/model.onnx`` beside a small
``modelqa-onnx.json`` (hash, opset, versions). When the model folder cannot be written the
cache goes to ``$XDG_CACHE_HOME`` (or ``~/.cache``) ``/modelqa/onnx/<hash[:16]>/``. The hash
covers the weight files and config.json, so changed weights get a new export and the old one
is never used for them. The leading dot keeps the cache out of ``engine.journal``'s model
fingerprint.

Why the legacy TorchScript exporter (``torch.onnx.export(..., dynamo=False)``): in torch 2.13
the default dynamo exporter imports ``onnxscript`` (torch/onnx/_internal/exporter/_core.py),
which is not a dependency of modelqa; the legacy exporter still ships, works offline, supports
opsets up to 20 and traces BERT-style encoders exactly (checked to ~1e-7 against torch). It
warns that it is deprecated; that warning and the tracer's expected warnings are silenced here.
Tracing bakes in Python-level branches, so every export is checked on a batch of another shape
(other batch size, other length, padding) against the torch model before it is kept.

Writes are atomic at the folder level: the export goes to a hidden temporary folder beside the
final one and is renamed into place only when ``model.onnx`` (and any external-data file) and
the json are complete and verified, so a killed export never leaves a file that is later trusted.
Only a folder whose json names the same full hash is reused.

After the check, ONNX Runtime's transformer optimizer fuses the graph (engine.onnx_fusion:
one Attention op per layer, SkipLayerNormalization, BiasGelu); the fused graph is checked against
torch the same way and replaces the plain one. When the optimizer fails or fuses nothing (an
architecture it does not know), the plain export is kept and the reason is logged and recorded in
the json (``"optimized": false``, ``"optimizer_note"``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.engine.batching import Batch
from modelqa.engine.journal import named_files_sha256
from modelqa.engine.onnx_fusion import eager_attention, fuse_verified
from modelqa.errors import ModelError, RunError, UsageError, check_choice

BACKEND_CHOICES = ("torch", "onnx")
#: ONNX opset of the export: LayerNormalization is a single op from 17 on; the legacy exporter
#: goes up to 20 and onnxruntime 1.17+ runs 17.
ONNX_OPSET = 17
CACHE_FOLDER = ".modelqa-onnx"
MODEL_FILE = "model.onnx"
META_FILE = "modelqa-onnx.json"
#: Bumped when the export recipe changes in a way that must not reuse older files.
EXPORT_FORMAT = 2  # 2: eager-attention trace + transformer optimizer
#: The model inputs a sequence classifier may take, in the order they are exported.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack")
_INSTALL_HINT = 'pip install "modelqa[onnx]"'
_STALE_STAGING_SECONDS = 3600


def check_backend(value: str | None) -> str:
    return check_choice(value or None, "backend", BACKEND_CHOICES)


def require_onnxruntime():
    """Import onnxruntime and onnx, or say how to install them (they are an optional extra)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as exc:
        raise UsageError(f"`backend='onnx'` needs onnxruntime and onnx, which cannot be imported ({exc})",
                         hint=_INSTALL_HINT) from exc
    return onnxruntime


def weights_hash(model_dir: str | os.PathLike) -> str:
    """SHA-256 over the names and contents of the folder's weight files and config.json.

    Weights decide the numbers and config.json decides the graph (labels, layers, attention);
    the tokenizer and modelqa.json do not change the exported graph, so they are left out."""
    folder = Path(model_dir)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and (p.name.endswith(_WEIGHT_SUFFIXES) or p.name.endswith(".index.json")))
    if not files:
        raise ModelError(f"{folder} has no weight files to export to ONNX (model.safetensors)")
    config = folder / "config.json"
    return named_files_sha256(([config] if config.is_file() else []) + files,
                              prefix=f"modelqa-onnx-{EXPORT_FORMAT}-opset{ONNX_OPSET}\0".encode())


def user_cache_root() -> Path:
    """``$XDG_CACHE_HOME/modelqa/onnx`` (or ``~/.cache/modelqa/onnx``): used when the model
    folder is read-only."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelqa" / "onnx"


def model_input_names(model) -> list[str]:
    """The inputs of ``INPUT_NAMES`` that the model's forward takes (token_type_ids only for
    models that have it, e.g. BERT but not DistilBERT)."""
    params = inspect.signature(model.forward).parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    names = [n for n in INPUT_NAMES if n in params]
    if "input_ids" not in names and takes_kwargs:
        names = list(INPUT_NAMES[:2])
    return names


def check_exportable(model) -> None:
    """Refuse what the export cannot stand for: a model on a GPU (onnxruntime runs here on the
    CPU) and a torch-quantised model (its cached export would silently be the float32 one)."""
    first = next(iter(model.parameters()), None)
    if first is not None and first.device.type != "cpu":
        raise UsageError("`backend='onnx'` runs on the CPU only", hint="use `device='cpu'`, or `backend='torch'`")
    for module in model.modules():
        if "quantized" in type(module).__module__:
            raise UsageError("`backend='onnx'` runs the float32 model; it cannot be combined with `quantize='int8'`",
                             hint="leave `quantize='none'` with `backend='onnx'`")


def _logits_module(model, names: list[str]):
    """A module whose positional inputs are exactly ``names``, in order, and whose one output is
    the logits tensor.

    Passing the tokenizer's dict as keyword arguments is not enough: the legacy exporter names
    graph inputs by position in ``forward``'s signature, so a dict ordered input_ids,
    token_type_ids, attention_mask silently swaps the mask and the segment ids."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            out = self.model(**dict(zip(names, inputs, strict=True)))
            return out.logits if hasattr(out, "logits") else out[0]

    return LogitsOnly().eval()


def _example_inputs(model, names: list[str], batch: int, length: int, seed: int) -> dict:
    """Random token ids with the last row padded to half length, so the traced graph and the
    check see real padding."""
    import torch

    vocab = int(getattr(model.config, "vocab_size", 0) or 1000)
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, max(6, min(vocab, 30000)), (batch, length), generator=gen, dtype=torch.long)
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[-1, length // 2:] = 0
    pad = getattr(model.config, "pad_token_id", None)
    ids[-1, length // 2:] = int(pad) if pad is not None else 0
    types = torch.zeros(batch, length, dtype=torch.long)
    types[0, length // 2:] = 1 if int(getattr(model.config, "type_vocab_size", 1) or 1) > 1 else 0
    every = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {n: every[n] for n in names}


def export_onnx(model, out_file: str | os.PathLike, *, input_names: list[str], opset: int = ONNX_OPSET,
                eager: bool = True) -> None:
    """Export ``model`` (a Hugging Face sequence classifier in eval mode, on the CPU) to
    ``out_file`` with dynamic batch and sequence axes and a single ``logits`` output; traced with
    eager attention unless ``eager`` is False (engine.onnx_fusion.eager_attention)."""
    import torch

    wrapped = _logits_module(model, input_names)
    example = _example_inputs(model, input_names, batch=2, length=8, seed=0)
    axes = {n: {0: "batch", 1: "sequence"} for n in input_names}
    axes["logits"] = {0: "batch"}
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad(), \
                eager_attention(model, enabled=eager):
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message=".*aten::index.*", category=UserWarning)
            torch.onnx.export(wrapped, tuple(example[n] for n in input_names), str(out_file),
                              input_names=list(input_names), output_names=["logits"], dynamic_axes=axes,
                              opset_version=opset, do_constant_folding=True, dynamo=False)
    finally:
        if was_training:
            model.train()


def _session(onnx_file: Path, threads: int):
    ort = require_onnxruntime()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(onnx_file), sess_options=opts, providers=["CPUExecutionProvider"])


def _verify(model, session, names: list[str]) -> float:
    """Largest |ONNX - torch| logit on a batch of another shape than the traced one; raises when
    the graph does not follow the torch model (a branch baked in by tracing, swapped inputs)."""
    import torch

    example = _example_inputs(model, names, batch=3, length=13, seed=1)
    with torch.inference_mode(False), torch.no_grad():
        out = model(**example)
        ref = (out.logits if hasattr(out, "logits") else out[0]).float().numpy()
    declared = {i.name for i in session.get_inputs()}
    got = session.run(["logits"], {n: v.numpy() for n, v in example.items() if n in declared})[0]
    diff = float(np.max(np.abs(got.astype(np.float32) - ref))) if ref.size else 0.0
    tol = 1e-3 * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
    if not np.isfinite(diff) or diff > tol:
        raise ValueError(f"the ONNX graph gives logits up to {diff:.3g} away from torch's (tolerance {tol:.3g})")
    return diff


def _valid_entry(folder: Path, full_hash: str) -> bool:
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("sha256") == full_hash and (folder / MODEL_FILE).is_file()


def _staging(root: Path, key: str) -> Path | None:
    """A fresh hidden folder in ``root`` to export into, or None when ``root`` cannot be written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".tmp", dir=root))
    except OSError:
        return None


def _sweep_stale(root: Path) -> None:
    """Remove staging folders that a killed export left more than an hour ago."""
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in root.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if entry.is_dir() and now - entry.stat().st_mtime > _STALE_STAGING_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)


def _versions() -> dict:
    import onnx
    import onnxruntime
    import torch

    try:
        import transformers
        tf_version = transformers.__version__
    except ImportError:
        tf_version = None
    return {"torch": torch.__version__, "transformers": tf_version, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__}


def cached_onnx_path(model, model_dir: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None,
                     progress: Progress | None = None) -> tuple[Path, bool, float]:
    """``(model.onnx path, exported now?, export seconds)``: the cached export of ``model`` for
    the weights in ``model_dir``, exporting it first when there is none.

    ``cache_dir`` replaces both default locations (the model folder, then the user cache)."""
    require_onnxruntime()
    check_exportable(model)
    progress = progress or NullProgress()
    model_dir = Path(model_dir)
    full = weights_hash(model_dir)
    key = full[:16]
    roots = [Path(cache_dir)] if cache_dir is not None else [model_dir / CACHE_FOLDER, user_cache_root()]
    for root in roots:
        if _valid_entry(root / key, full):
            return root / key, False, 0.0
    for root in roots:
        staging = _staging(root, key)
        if staging is None:
            continue
        _sweep_stale(root)
        try:
            seconds = _export_into(model, model_dir, staging, full, progress)
            return _publish(staging, root / key, full), True, seconds
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    raise RunError(f"no writable place for the ONNX export of {model_dir}: tried "
                   + " and ".join(str(r) for r in roots),
                   hint="set XDG_CACHE_HOME to a writable folder, or use `backend='torch'`")


def _export_into(model, model_dir: Path, staging: Path, full_hash: str, progress: Progress) -> float:
    names = model_input_names(model)
    if "input_ids" not in names or "attention_mask" not in names:
        raise ModelError(f"cannot export the model in {model_dir} to ONNX: its forward() takes no "
                         "input_ids / attention_mask", hint="use `backend='torch'`")
    progress.log(f"exporting the model in {model_dir} to ONNX (once; cached by the weights' hash)")
    t0 = time.perf_counter()
    try:
        export_onnx(model, staging / MODEL_FILE, input_names=names)
        import onnx

        onnx.checker.check_model(str(staging / MODEL_FILE))
        diff = _verify(model, _session(staging / MODEL_FILE, threads=1), names)
    except (UsageError, RunError):
        raise
    except Exception as exc:  # the exporter raises many types (RuntimeError, torch errors, onnx errors)
        raise ModelError(f"cannot export the model in {model_dir} to ONNX: {exc.__class__.__name__}: {exc}",
                         hint="use `backend='torch'`") from exc
    fusion = fuse_verified(staging / MODEL_FILE, model.config, lambda f: _verify(model, _session(f, threads=1), names),
                           progress.log)
    seconds = time.perf_counter() - t0
    meta = {"format": EXPORT_FORMAT, "sha256": full_hash, "opset": ONNX_OPSET, "inputs": names,
            "outputs": ["logits"], "model_dir": str(model_dir.resolve()), "export_seconds": round(seconds, 3),
            "max_abs_logit_diff": fusion.pop("max_abs_logit_diff", diff), "plain_max_abs_logit_diff": diff,
            **fusion, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **_versions()}
    (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    progress.log(f"ONNX export took {seconds:.1f} s")
    return seconds


def _publish(staging: Path, final: Path, full_hash: str) -> Path:
    """Rename the complete staging folder onto ``final``; another process may have got there
    first, and then its (equally valid) folder is kept."""
    for _ in range(2):
        try:
            os.rename(staging, final)
            return final
        except OSError:
            if _valid_entry(final, full_hash):
                return final
            shutil.rmtree(final, ignore_errors=True)  # an invalid leftover under the final name
    raise RunError(f"cannot move the ONNX export into {final}")


class OnnxForward:
    """A ``Forward`` (engine.predict): a padded batch in, ``(b, K)`` float32 logits out, run by one
    onnxruntime session. Feeds only the inputs the graph declares; a declared token_type_ids
    that the tokenizer did not produce is fed as zeros, which is what the torch model assumes."""

    def __init__(self, session, onnx_path: Path, *, exported: bool, export_seconds: float, threads: int) -> None:
        self.session = session
        self.onnx_path = onnx_path
        self.exported = exported
        self.export_seconds = export_seconds
        self.threads = threads
        self.input_names = [i.name for i in session.get_inputs()]

    def __call__(self, batch: Batch) -> np.ndarray:
        feeds = {}
        for name in self.input_names:
            if name == "input_ids":
                value = batch.input_ids
            elif name == "attention_mask":
                value = batch.attention_mask
            elif name in batch.extra:
                value = batch.extra[name]
            elif name == "token_type_ids":
                value = np.zeros_like(batch.input_ids)
            else:
                raise ModelError(f"the ONNX graph {self.onnx_path} asks for input {name!r}, which the batch lacks")
            feeds[name] = np.ascontiguousarray(value, dtype=np.int64)
        return np.asarray(self.session.run(["logits"], feeds)[0], dtype=np.float32)


def onnx_forward(model, model_dir: str | os.PathLike, *, threads: int | None = None,
                 cache_dir: str | os.PathLike | None = None, progress: Progress | None = None) -> OnnxForward:
    """A ``Forward`` that runs ``model`` (loaded from ``model_dir``) with ONNX Runtime on the CPU.

    Exports once per weights (see the module docstring for the cache); ``threads`` defaults to
    torch's intra-op thread count so both backends use the same cores. A cached file that
    onnxruntime cannot load is exported again once."""
    import torch

    require_onnxruntime()
    n_threads = int(threads or torch.get_num_threads())
    if n_threads < 1:
        raise UsageError(f"threads must be at least 1, not {threads}")
    path, exported, seconds = cached_onnx_path(model, model_dir, cache_dir=cache_dir, progress=progress)
    try:
        session = _session(path / MODEL_FILE, n_threads)
    except Exception as exc:
        if exported:
            raise ModelError(f"onnxruntime cannot load the ONNX export of {model_dir} ({path}): {exc}",
                             hint="use `backend='torch'`") from exc
        shutil.rmtree(path, ignore_errors=True)  # a damaged cache entry: never trusted again
        path, exported, seconds = cached_onnx_path(model, model_dir, cache_dir=cache_dir, progress=progress)
        session = _session(path / MODEL_FILE, n_threads)
    return OnnxForward(session, path / MODEL_FILE, exported=exported, export_seconds=seconds, threads=n_threads)
