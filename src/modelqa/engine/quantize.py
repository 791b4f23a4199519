"""Dynamic int8 quantisation of a classifier's Linear layers for CPU inference.

Weights are stored as int8 (per output channel by default), activations are quantised on
the fly per batch; the layers named in ``keep_fp32`` (by default the classification head
and the pooler) stay float32, because the head decides the argmax and costs almost
nothing. See docs/performance.md "Prediction speed" for the speed / agreement trade-off.
"""

from __future__ import annotations

import warnings

from modelqa.errors import UsageError

QUANTIZE_CHOICES = ("none", "int8")
DEFAULT_KEEP_FP32 = ("classifier", "pooler")


def check_quantize(value: str | None) -> str:
    value = (value or "none").lower()
    if value not in QUANTIZE_CHOICES:
        raise UsageError(f"--quantize must be one of {', '.join(QUANTIZE_CHOICES)}, not {value!r}")
    return value


def quantize_model(model, scheme: str = "int8", *, keep_fp32: tuple[str, ...] = DEFAULT_KEEP_FP32,
                   per_channel: bool = True, device: str = "cpu"):
    """Return ``model`` with its Linear layers quantised to int8 (dynamic), except those whose
    qualified name starts with, or has a component equal to, one of ``keep_fp32``
    (``"pooler"`` keeps ``bert.pooler.dense``). ``scheme='none'`` returns it unchanged."""
    scheme = check_quantize(scheme)
    if scheme == "none":
        return model
    if not str(device).startswith("cpu"):
        raise UsageError("--quantize int8 runs on the CPU only", hint="use --device cpu, or leave --quantize none")
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
