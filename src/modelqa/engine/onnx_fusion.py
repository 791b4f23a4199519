"""ONNX Runtime's transformer optimizer on a fresh export (engine.onnx_backend).

The plain export runs every layer as dozens of small ops (MatMul, Add, Softmax, Pow, Sqrt...).
``onnxruntime.transformers.optimizer.optimize_model(model_type="bert")`` rewrites the graph into
fused kernels: one ``Attention`` op per layer (the Q/K/V projections, scores, mask, softmax and
weighted sum), ``SkipLayerNormalization`` (residual add + layer norm), ``BiasGelu`` and
``EmbedLayerNormalization``. It needs only the ``onnx`` package and runs offline.

Its attention fusion matches the graph of the eager attention code; Hugging Face's default SDPA
attention traces into another pattern that it does not fuse (then only the layer norms and GELU
are fused). So the export is traced with ``attn_implementation="eager"`` (``eager_attention``),
which computes the same attention, and the torch model is switched back afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

#: The fused ops whose counts are recorded (optimizer.get_fused_operator_statistics()).
FUSED_OPS = ("EmbedLayerNormalization", "Attention", "MultiHeadAttention", "SkipLayerNormalization",
             "LayerNormalization", "BiasGelu", "Gelu", "FastGelu")
#: onnxruntime's default for model_type "bert": its basic graph optimisations (constant folding,
#: redundant node removal) before the fusions; higher levels write hardware-specific graphs.
OPT_LEVEL = 1


@contextlib.contextmanager
def eager_attention(model, *, enabled: bool = True):
    """Trace ``model`` with eager attention (the pattern the optimizer fuses), then restore the
    implementation it had. Models that cannot switch (and ``enabled=False``) are traced as they are."""
    config = getattr(model, "config", None)
    before = getattr(config, "_attn_implementation", None)
    switched = False
    if enabled and before not in (None, "eager") and hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation("eager")
            switched = True
        except (ValueError, ImportError, AttributeError, TypeError):
            switched = False
    try:
        yield
    finally:
        if switched:
            model.set_attn_implementation(before)


def _heads_and_hidden(config) -> tuple[int, int]:
    """Attention heads and hidden size from a Hugging Face config (0: let the optimizer detect)."""
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", None) or 0
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", None) or 0
    return int(heads), int(hidden)


def optimize_export(plain: Path, out: Path, config) -> dict[str, int]:
    """Write the fused graph of ``plain`` to ``out``; return the count of each fused op (only
    those present). Raises ``ValueError`` when nothing was fused (the architecture is not one the
    optimizer knows): the caller keeps the plain export then. Exceptions of the optimizer itself
    are passed on."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads, hidden = _heads_and_hidden(config)
    quiet = [logging.getLogger(name) for name in ("onnx_model", "onnx_model_bert", "fusion_base", "fusion_utils",
                                                   "fusion_attention", "onnxruntime.transformers")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.ERROR)
    try:
        optimized = optimize_model(str(plain), model_type="bert", num_heads=heads, hidden_size=hidden,
                                   opt_level=OPT_LEVEL, use_gpu=False)
        stats = optimized.get_fused_operator_statistics()
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)
    fused = {op: int(stats.get(op, 0)) for op in FUSED_OPS if stats.get(op)}
    if not any(fused.get(op) for op in ("Attention", "MultiHeadAttention", "SkipLayerNormalization")):
        raise ValueError(f"the optimizer fused no attention or layer norm ({fused or 'nothing'})")
    optimized.save_model_to_file(str(out), use_external_data_format=False)
    return fused


def fuse_verified(plain: Path, config, verify: Callable[[Path], float], log: Callable[[str], None]) -> dict:
    """Replace the verified plain export ``plain`` by the optimizer's fused graph when ``verify``
    (largest |ONNX - torch| logit; raises on a graph that does not follow torch) accepts it too;
    otherwise keep the plain file and ``log`` why. Returns the fields modelqa-onnx.json records."""
    fused_file = plain.with_name("model.fused.onnx")
    try:
        fused = optimize_export(plain, fused_file, config)
        diff = verify(fused_file)
    except Exception as exc:  # the optimizer raises many types on graphs it does not know
        fused_file.unlink(missing_ok=True)
        note = f"{exc.__class__.__name__}: {exc}"
        log(f"ONNX Runtime's transformer optimizer did not apply ({note}); the plain export is used")
        return {"optimized": False, "optimizer_note": note[:500], "fused_ops": {}}
    os.replace(fused_file, plain)
    return {"optimized": True, "fused_ops": fused, "max_abs_logit_diff": diff}
