"""``evaluate --compare-fp32``: what a speed lever (``--quantize int8``, ``--backend onnx``,
``--precision bf16`` / ``fp16``) costs on the labelled rows of the run.

The plain float32 torch model is the reference. ``Fp32Reference`` predicts the rows with it from
``from_text_model``'s ``before_run`` hook, that is before ``run_classifier`` swaps ``clf.model``
for the quantised or cast copy (a cast changes the weights in place); the variant run keeps its
resumable chunk journal as without the comparison (the reference is not journalled: a resumed
run predicts it again). ``attach_compare_fp32`` then adds ``compare_fp32`` to metrics.json:
argmax agreement, probability differences, the reference's accuracy and macro-F1 and the paired
differences variant − reference with paired-bootstrap intervals and McNemar's exact p
(analysis.paired). The run's own metrics stay the variant's: that is the model that ships.
"""

from __future__ import annotations

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.errors import UsageError

REFERENCE = "fp32 torch"
#: metrics.json key of the comparison
KEY = "compare_fp32"
#: rows the reference predicts once, untimed, before its timed pass (thread pools, kernels, caches)
WARM_UP_ROWS = 8


def lever(*, quantize: str = "none", precision: str = "fp32", backend: str = "torch") -> str | None:
    """The speed lever of a text-model run: "int8", "bf16", "fp16", "onnx" or None (plain fp32 torch)."""
    if quantize not in (None, "none"):
        return str(quantize)
    if precision not in (None, "fp32"):
        return str(precision)
    if backend not in (None, "torch"):
        return str(backend)
    return None


def check_compare_fp32(compare_fp32: bool, *, quantize: str, precision: str, backend: str,
                       engine: str = "local") -> str | None:
    """The variant's name when ``compare_fp32`` is asked (None when it is not); UsageError when the run
    has no lever to compare, or predicts with Ray actors (the reference runs on this machine)."""
    if not compare_fp32:
        return None
    if engine != "local":
        raise UsageError(f"--compare-fp32 predicts the fp32 reference on this machine; it does not go with "
                         f"--engine {engine}", hint="leave out --engine ray to compare")
    variant = lever(quantize=quantize, precision=precision, backend=backend)
    if variant is None:
        raise UsageError("--compare-fp32 compares a speed lever with the plain float32 torch model, and this run "
                         "uses the plain float32 torch model already",
                         hint="add --quantize int8, --backend onnx or --precision bf16 (fp16 on a GPU)")
    return variant


class Fp32Reference:
    """The float32 torch model's predictions on the evaluated rows, taken before the variant run.

    Call it with the loaded classifier and the texts (``from_text_model``'s ``before_run``); it
    leaves ``clf.model`` as it was. ``probs`` / ``seconds`` / ``device`` are set afterwards."""

    def __init__(self, variant: str, *, quantize: str, precision: str, max_length: int | None, batch_size: int,
                 max_tokens: int | None, chunk_rows: int | None = None, progress: Progress | None = None) -> None:
        self.variant, self.chunk_rows = variant, chunk_rows
        self.quantize, self.precision = quantize, precision
        self.max_length, self.batch_size, self.max_tokens = max_length, batch_size, max_tokens
        self.progress = progress or NullProgress()
        self.probs: np.ndarray | None = None
        self.seconds: float | None = None
        self.device: str | None = None

    def __call__(self, clf, texts: list[str]) -> None:
        from modelqa.api._run import check_chunk_rows, check_max_length, check_max_tokens
        from modelqa.engine.predict import predict_texts
        from modelqa.engine.quantize import check_precision

        device = str(clf.device)
        if self.quantize == "int8" and not device.startswith("cpu"):
            return  # the variant run refuses int8 off the CPU; no reference run before that message
        check_precision(self.precision, device)  # fp16 off a GPU: refused before the reference run
        self.progress.log(f"{self.variant} vs fp32: predicting the {len(texts):,} rows with the float32 torch "
                          "model first (the reference)")
        common = {"max_length": check_max_length(self.max_length, clf.max_length), "batch_size": self.batch_size,
                  "device": device, "max_tokens": check_max_tokens(self.max_tokens)}
        predict_texts(clf.model, clf.tokenizer, texts[:WARM_UP_ROWS], **common)  # first-call costs off the clock
        out = predict_texts(clf.model, clf.tokenizer, texts, progress=self.progress,
                            chunk_rows=check_chunk_rows(self.chunk_rows), **common)
        self.probs, self.seconds, self.device = np.asarray(out.probs, dtype=np.float64), out.seconds, device


def reference_for(compare_fp32: bool, *, quantize: str, precision: str, backend: str, engine: str,
                  max_length: int | None, batch_size: int, max_tokens: int | None, chunk_rows: int | None = None,
                  progress: Progress | None = None) -> Fp32Reference | None:
    """The reference run ``evaluate`` hands to ``from_text_model`` (None without ``compare_fp32``),
    after checking ``quantize`` and that there is a lever to compare."""
    from modelqa.engine.quantize import check_quantize

    quantize = check_quantize(quantize)
    variant = check_compare_fp32(compare_fp32, quantize=quantize, precision=precision, backend=backend,
                                 engine=engine)
    if variant is None:
        return None
    return Fp32Reference(variant, quantize=quantize, precision=precision, max_length=max_length,
                         batch_size=batch_size, max_tokens=max_tokens, chunk_rows=chunk_rows, progress=progress)


def _predicted(probs: np.ndarray, result: dict, labels: list[str]) -> np.ndarray:
    """Class ids as the run predicts them: the argmax, or the run's ``threshold`` on its positive class."""
    if result.get("threshold") is not None and len(labels) == 2:
        pos = labels.index(str(result["positive_label"]))
        return np.where(probs[:, pos] >= float(result["threshold"]), pos, 1 - pos)
    return probs.argmax(axis=1)


def _delta(delta, variant: str) -> dict:
    """A PairedDelta (A = the reference, B = the variant) with its sides named."""
    out = delta.to_dict()
    out["reference"], out[variant] = out.pop("a"), out.pop("b")
    return out


def compare_section(*, y_true, variant_probs, reference_probs, labels: list[str], variant: str, result: dict,
                    n_resamples: int = 1000, seed: int = 0, speed: dict | None = None) -> dict:
    """The ``compare_fp32`` block of metrics.json (JSON-safe). Differences are variant − reference."""
    from modelqa.analysis.paired import mcnemar_exact, paired_deltas

    y = np.asarray(y_true, dtype=np.int64)
    pv = np.asarray(variant_probs, dtype=np.float64)
    pr = np.asarray(reference_probs, dtype=np.float64)
    if pv.shape != pr.shape or pv.shape[0] != y.size:
        raise UsageError(f"the {variant} run and the fp32 reference predicted different rows "
                         f"({pv.shape} and {pr.shape} probabilities for {y.size} labels)")
    var_pred, ref_pred = _predicted(pv, result, labels), _predicted(pr, result, labels)
    differ = int(np.count_nonzero(var_pred != ref_pred))
    abs_diff = np.abs(pv - pr)
    mc = mcnemar_exact(ref_pred == y, var_pred == y)
    paired = paired_deltas(y, ref_pred, var_pred, metrics=("accuracy", "f1_macro"), per_class=(),
                           n_resamples=n_resamples, seed=seed, labels=list(range(len(labels))))
    acc, f1 = paired.metrics["accuracy"], paired.metrics["f1_macro"]
    basis = "argmax" if result.get("threshold") is None else f"threshold {float(result['threshold']):g}"
    section = {
        "variant": variant, "reference": REFERENCE, "difference": f"{variant} - {REFERENCE}", "n_rows": int(y.size),
        "agreement": {"fraction": 1.0 - differ / max(y.size, 1), "rows_differ": differ,
                      "basis": f"predicted labels ({basis})"},
        "probability_delta": {"mean_abs": float(abs_diff.mean()), "max_abs": float(abs_diff.max()),
                              "meaning": "|variant - reference| over every row and class"},
        "reference_metrics": {"accuracy": acc.value_a, "f1_macro": f1.value_a},
        "variant_metrics": {"accuracy": acc.value_b, "f1_macro": f1.value_b},
        "accuracy_difference": _delta(acc, variant), "f1_macro_difference": _delta(f1, variant),
        "mcnemar": {**mc.to_dict(), "meaning": f"b: rows the fp32 reference gets right and {variant} wrong; "
                                               f"c: {variant} right, the reference wrong"},
        "seed": seed,
    }
    if speed:
        section["speed"] = speed
    section["summary"] = summary_line(section)
    return section


def _signed(x) -> str:
    return "n/a" if x is None else f"{x:+.4f}".replace("-", "\u2212")


def summary_line(section: dict) -> str:
    """'int8 vs fp32: 98.4 % agreement (3 of 190 rows differ), accuracy −0.0013 [−0.0053, +0.0026], McNemar p = 0.62'."""
    agree = section["agreement"]
    acc = section["accuracy_difference"]
    shown = _signed(acc.get("delta"))
    if acc.get("interval"):
        lo, hi = acc["interval"]
        shown += f" [{_signed(lo)}, {_signed(hi)}]"
    line = (f"{section['variant']} vs fp32: {100 * agree['fraction']:.1f} % agreement ({agree['rows_differ']:,} of "
            f"{section['n_rows']:,} rows differ), accuracy {shown}, macro-F1 "
            f"{_signed(section['f1_macro_difference'].get('delta'))}, McNemar p = {section['mcnemar']['p_value']:.3g}")
    return line


def _speed(reference: Fp32Reference, timing: dict, n_rows: int) -> dict | None:
    if not reference.seconds or not timing.get("predict_s"):
        return None
    ref_rate = n_rows / max(reference.seconds, 1e-9)
    var_rate = float(timing.get("rows_per_s") or n_rows / max(float(timing["predict_s"]), 1e-9))
    return {"reference_rows_per_s": round(ref_rate, 1), "variant_rows_per_s": round(var_rate, 1),
            "ratio": round(var_rate / ref_rate, 3), "reference_device": reference.device,
            "note": "one pass each on this run's rows; for speed, time a large file (docs/performance.md)"}


def attach_compare_fp32(evaluation, inputs, reference: Fp32Reference | None, *, n_resamples: int = 1000,
                        seed: int = 0, progress: Progress | None = None) -> dict | None:
    """Add ``compare_fp32`` to ``evaluation.result`` from the run's inputs (the variant) and the
    reference's probabilities; None (nothing added) without a reference run."""
    if reference is None or reference.probs is None or inputs.probs is None:
        return None
    labels = [str(x) for x in inputs.labels]
    resumed = bool((inputs.info or {}).get("resumed_rows"))
    speed = None if resumed else _speed(reference, dict(inputs.timing or {}), len(reference.probs))
    section = compare_section(y_true=inputs.y_true, variant_probs=inputs.probs, reference_probs=reference.probs,
                              labels=labels, variant=reference.variant, result=evaluation.result,
                              n_resamples=n_resamples, seed=seed, speed=speed)
    evaluation.result[KEY] = section
    (progress or NullProgress()).log(section["summary"])
    return section
