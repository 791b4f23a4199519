"""Run a loaded classifier over texts the way every command does."""

from __future__ import annotations

from modelqa._types import Progress
from modelqa.errors import UsageError


def check_max_length(asked: int | None, model_limit: int) -> int:
    if asked is None:
        return model_limit
    if asked < 2:
        raise UsageError(f"--max-length must be at least 2, not {asked}")
    return int(asked)


def run_classifier(clf, texts: list[str], *, max_length: int | None, batch_size: int, progress: Progress,
                   quantize: str = "none"):
    """Batched predictions of ``clf`` (an adapters.hf.HFClassifier); logs truncated texts.

    ``quantize="int8"`` swaps ``clf.model`` for a dynamically int8-quantised copy first
    (engine.quantize; CPU only)."""
    from modelqa.engine.predict import predict_texts
    from modelqa.engine.quantize import check_quantize, quantize_model

    length = check_max_length(max_length, clf.max_length)
    if check_quantize(quantize) != "none":
        clf.model = quantize_model(clf.model, quantize, device=clf.device)
    out = predict_texts(clf.model, clf.tokenizer, texts, max_length=length, batch_size=batch_size,
                        device=clf.device, progress=progress)
    if out.n_truncated:
        progress.log(f"{out.n_truncated} of {len(texts)} texts were longer than {length} tokens "
                     "and were truncated")
    return out
