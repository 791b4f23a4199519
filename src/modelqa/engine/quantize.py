"""Dynamic int8 quantisation of a classifier's Linear layers for CPU inference.

Weights are stored as int8 (per output channel by default), activations are quantised on
the fly per batch; the layers named in ``keep_fp32`` (by default the classification head
and the pooler) stay float32, because the head decides the argmax and costs almost
nothing. See docs/performance.md "Prediction speed" for the speed / agreement trade-off.
"""

from __future__ import annotations

import warnings

from modelqa.errors import UsageError, check_choice

QUANTIZE_CHOICES = ("none", "int8")
DEFAULT_KEEP_FP32 = ("classifier", "pooler")


def check_quantize(value: str | None) -> str:
    return check_choice(value or None, "quantize", QUANTIZE_CHOICES)


def quantize_model(model, scheme: str = "int8", *, keep_fp32: tuple[str, ...] = DEFAULT_KEEP_FP32,
                   per_channel: bool = True, device: str = "cpu"):
    """Return ``model`` with its Linear layers quantised to int8 (dynamic), except those whose
    qualified name starts with, or has a component equal to, one of ``keep_fp32``
    (``"pooler"`` keeps ``bert.pooler.dense``). ``scheme='none'`` returns it unchanged."""
    scheme = check_quantize(scheme)
    if scheme == "none":
        return model
    if not str(device).startswith("cpu"):
        raise UsageError("`quantize='int8'` runs on the CPU only",
                         hint="use `device='cpu'`, or leave `quantize='none'`")
    import torch
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    spec = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and not any(
                name == k or name.startswith(k + ".") or k in name.split(".") for k in keep_fp32):
            spec[name] = qconfig
    if not spec:
        return model
    model.eval()
    with warnings.catch_warnings():  # torch 2.13 flags its quantised-tensor API as deprecated
        warnings.filterwarnings("ignore", message=".*quantize_per_(tensor|channel).*", category=UserWarning)
        return quantize_dynamic(model, qconfig_spec=spec, dtype=torch.qint8, inplace=False)


PRECISION_CHOICES = ("fp32", "bf16", "fp16")


def check_precision(value: str | None, device: str = "cpu") -> str:
    """``fp32`` (default) everywhere; ``bf16`` on a GPU or a CPU (fast where the CPU has
    AVX512-BF16 / AMX, slow elsewhere); ``fp16`` on a GPU only (CPU kernels are slow or missing)."""
    value = check_choice(value or None, "precision", PRECISION_CHOICES)
    if value == "fp16" and not str(device).startswith("cuda"):
        raise UsageError("`precision='fp16'` runs on a CUDA GPU only", hint="use `precision='bf16'` on the CPU")
    return value


def cast_model(model, precision: str = "fp32", *, device: str = "cpu"):
    """The model with its weights in ``precision`` (``fp32`` returns it unchanged). The logits
    are turned back into float32 by the engine before the softmax."""
    precision = check_precision(precision, device)
    if precision == "fp32":
        return model
    import torch

    return model.to({"bf16": torch.bfloat16, "fp16": torch.float16}[precision])
