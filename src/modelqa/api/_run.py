"""Run a Hugging Face text classifier over a table the way every command does: read the table,
load the model, open the journal, run the engine (``run_text_model``, shared by ``predict`` and
``evaluate``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelqa._types import Progress
from modelqa.api._inputs import TextTable, load_text_table
from modelqa.errors import UsageError

if TYPE_CHECKING:
    from modelqa.engine.journal import ChunkJournal
    from modelqa.engine.predict import TextPredictions


def check_max_length(asked: int | None, model_limit: int) -> int:
    if asked is None:
        return model_limit
    if asked < 2:
        raise UsageError(f"--max-length must be at least 2, not {asked}")
    return int(asked)


def check_chunk_rows(value: int | None) -> int | None:
    """``--chunk-rows``: None sizes chunks by work (engine.predict.ChunkPlan)."""
    if value is None:
        return None
    if value < 1:
        raise UsageError(f"--chunk-rows must be at least 1, not {value}")
    return int(value)


def _by_work() -> str:
    from modelqa.engine.predict import CHUNK_SECONDS, DEFAULT_CHUNK_ROWS

    return f"by work ({CHUNK_SECONDS:g} s or {DEFAULT_CHUNK_ROWS} rows)"


def check_engine_options(*, engine: str, backend: str) -> tuple[str, str]:
    """``--engine`` and ``--backend`` names, checked before any file or model is read."""
    from modelqa.engine.onnx_backend import check_backend
    from modelqa.engine.ray_engine import check_engine

    return check_engine(engine), check_backend(backend)


def check_max_tokens(value: int | None) -> int:
    """``--max-tokens``: padded tokens per batch; None gives the engine's default, 0 no budget."""
    from modelqa.engine.predict import DEFAULT_MAX_TOKENS

    if value is None:
        return DEFAULT_MAX_TOKENS
    if value < 0:
        raise UsageError(f"--max-tokens must be 0 (no budget) or more, not {value}")
    return int(value)


def run_classifier(clf, texts: list[str], *, max_length: int | None, batch_size: int, progress: Progress,
                   quantize: str = "none", chunk_rows: int | None = None, journal_dir: Path | None = None,
                   fingerprint: dict | None = None, restart: bool = False, precision: str = "fp32",
                   engine: str = "local", ray_actors: int | None = None, load_options: dict | None = None,
                   device_asked: str = "auto", backend: str = "torch", max_tokens: int | None = None
                   ) -> Predicted:
    """Batched predictions of ``clf`` (an adapters.hf.HFClassifier); logs truncated texts.

    ``quantize="int8"`` swaps ``clf.model`` for a dynamically int8-quantised copy first
    (engine.quantize; CPU only); ``precision`` "bf16" / "fp16" casts the weights first. With
    ``journal_dir`` every finished chunk of ``chunk_rows``
    rows is kept there (engine.journal) and a journal left by a killed run with the same
    ``fingerprint`` (data hash and settings; the model hash and the numeric settings are added
    here) is resumed; the caller drops it with ``.finished()`` on the result once its
    final files are written. ``restart`` discards such a journal instead.

    ``engine="ray"`` predicts with a pool of ``ray_actors`` Ray actors (engine.ray_engine), each
    loading the model folder again with ``load_options`` (labels, label_map, allow_pickle) on
    the device ``device_asked`` says ("cpu": no GPU; "cuda": one GPU each; "auto": one GPU each
    when the cluster has GPUs); ``clf`` is then the driver's CPU copy (labels, max length).
    Chunks, journal and results are the local engine's.
    ``backend="onnx"`` runs the model with ONNX Runtime on the CPU (engine.onnx_backend: exported
    once, cached next to the model by its weights' hash)."""
    from modelqa.engine.onnx_backend import check_backend
    from modelqa.engine.predict import DEFAULT_CHUNK_ROWS, predict_texts
    from modelqa.engine.quantize import cast_model, check_precision, check_quantize, quantize_model
    from modelqa.engine.ray_engine import check_engine

    length = check_max_length(max_length, clf.max_length)
    chunk_rows = check_chunk_rows(chunk_rows)
    max_tokens = check_max_tokens(max_tokens)
    quantize = check_quantize(quantize)
    engine = check_engine(engine)
    onnx_text = getattr(clf, "kind", None) == "onnx-text"  # adapters.onnx_text: onnxruntime on the CPU
    if onnx_text and (quantize != "none" or str(precision).strip().lower() != "fp32" or engine != "local"):
        raise UsageError(f"{clf.path} is an ONNX model, run as it is by onnxruntime on this machine's CPU; "
                         "--quantize, --precision and --engine ray do not apply to it",
                         hint="quantise or cast the ONNX file itself (onnxruntime.quantization), or evaluate the "
                              "torch model folder")
    run_device = ray_device(device_asked) if engine == "ray" else str(clf.device)
    precision = check_precision(precision, "cuda" if run_device == "ray-gpu" else run_device)
    backend = check_backend(backend)
    if backend == "onnx" and (quantize != "none" or precision != "fp32" or engine != "local"):
        raise UsageError("--backend onnx runs the float32 model on this machine's CPU; it does not go with "
                         "--quantize, --precision or --engine ray")
    if quantize != "none" and precision != "fp32":
        raise UsageError(f"--quantize {quantize} and --precision {precision} do not go together",
                         hint="int8 layers keep float32 activations; choose one of the two")
    journal = None
    if journal_dir is not None:
        from modelqa.engine.journal import ChunkJournal, model_fingerprint

        fp = {**(fingerprint or {}), "model_sha256": model_fingerprint(clf.path), "n_rows": len(texts),
              "max_length": length, "batch_size": int(batch_size), "max_tokens": max_tokens,
              "chunk_rows": chunk_rows if chunk_rows is not None else (
                  DEFAULT_CHUNK_ROWS if engine == "ray" else _by_work()),
              "quantize": quantize, "precision": precision, "device": run_device, "backend": backend}
        if onnx_text and clf.onnx_path.parent != Path(clf.path):
            fp["onnx_sha256"] = model_fingerprint(clf.onnx_path.parent)  # onnx/model.onnx
        journal = ChunkJournal.open(journal_dir, fp, restart=restart)
        if journal.n_done:
            progress.log(f"resuming the unfinished run in {journal_dir}: {journal.rows_done()} of {len(texts)} "
                         "rows already predicted")
    if engine == "ray":
        from modelqa.engine.ray_engine import predict_texts_ray

        out = predict_texts_ray(clf.path, texts, max_length=length, batch_size=batch_size, quantize=quantize,
                                precision=precision, block_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
                                num_actors=ray_actors,
                                max_tokens=max_tokens,
                                gpus_per_actor={"ray-cpu": 0.0, "ray-gpu": 1.0}.get(run_device), progress=progress,
                                store=journal, **(load_options or {}))
    else:
        forward = None
        if onnx_text:
            from modelqa.engine.onnx_backend import OnnxForward

            forward = OnnxForward(clf.session, clf.onnx_path, exported=False, export_seconds=0.0, threads=0)
        else:
            if quantize != "none":
                clf.model = quantize_model(clf.model, quantize, device=clf.device)
            clf.model = cast_model(clf.model, precision, device=clf.device)
        if backend == "onnx" and not onnx_text:
            from modelqa.engine.onnx_backend import onnx_forward

            forward = onnx_forward(clf.model, clf.path, progress=progress)
        out = predict_texts(clf.model, clf.tokenizer, texts, max_length=length, batch_size=batch_size,
                            device=clf.device, progress=progress, chunk_rows=chunk_rows, store=journal,
                            forward=forward, max_tokens=max_tokens,
                            num_labels=len(clf.labels) if onnx_text else None)
    if out.n_truncated:
        progress.log(f"{out.n_truncated} of {len(texts)} texts were longer than {length} tokens "
                     "and were truncated")
    return Predicted(out, journal)


def ray_device(device: str) -> str:
    """What ``--device`` means for Ray actors: "ray-cpu", "ray-gpu" or "ray-auto"."""
    return {"cpu": "ray-cpu", "auto": "ray-auto"}.get(device, "ray-gpu")


def driver_device(device: str, engine: str, backend: str = "torch") -> str:
    """Where the driver loads its copy of the model: the CPU under Ray (actors predict) and for
    ONNX Runtime (CPU only; ``--device cuda`` with it is refused)."""
    if backend == "onnx":
        if device not in ("auto", "cpu"):
            raise UsageError(f"--backend onnx runs on the CPU, not --device {device}",
                             hint="leave --device auto (or cpu), or use --backend torch on the GPU")
        return "cpu"
    return "cpu" if engine == "ray" else device


@dataclass
class Predicted:
    """The engine's ``TextPredictions`` and the journal that kept its chunks (None without
    ``journal_dir``)."""

    predictions: TextPredictions
    journal: ChunkJournal | None = None

    def finished(self) -> None:
        """The final files are written: drop the chunks."""
        if self.journal is not None:
            self.journal.remove()


@dataclass(frozen=True)
class TextModelRun:
    """What ``run_text_model`` read and predicted."""

    table: TextTable
    clf: Any                   # adapters.hf.HFClassifier
    run: Predicted
    load_s: float              # reading the table and loading the model


def run_text_model(model, data, *, text_col: str, label_col: str | None = None, id_col: str | None = None,
                   labels=None, label_map=None, on_empty: str = "error", encoding=None, sheet=None,
                   batch_size: int = 64, max_length: int | None = None, device: str = "auto",
                   allow_pickle: bool = False, progress: Progress, quantize: str = "none",
                   chunk_rows: int | None = None, restart: bool = False, precision: str = "fp32",
                   engine: str = "local", ray_actors: int | None = None, backend: str = "torch",
                   max_tokens: int | None = None, journal_dir: Path | None = None, loaded_model=None,
                   before_run: Callable[[Any, TextTable], None] | None = None) -> TextModelRun:
    """Table -> model -> journal -> engine: the one Hugging Face run sequence. ``before_run(clf, table)``
    checks what must hold before the (long) prediction run (labels, action rules)."""
    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.adapters.onnx_model import onnx_kind

    t0 = time.perf_counter()
    table = load_text_table(data, text_col=text_col, label_col=label_col, id_col=id_col, encoding=encoding,
                            sheet=sheet, on_empty=on_empty)
    if loaded_model is None and onnx_kind(model) == "onnx-text":
        from modelqa.adapters.onnx_text import load_onnx_text_classifier

        if device not in ("auto", "cpu"):
            raise UsageError(f"{model} is an ONNX model, run by onnxruntime on the CPU; --device {device} "
                             "does not apply", hint="leave --device auto (or cpu)")
        clf = load_onnx_text_classifier(model, labels=labels, label_map=label_map)
    else:
        from modelqa.adapters.hf import lean_loadable
        from modelqa.engine.lean_imports import import_transformers
        from modelqa.engine.quantize import check_quantize

        # float32 on the CPU: adapters.lean_bert, without transformers, where the folder allows
        lean = loaded_model is None and backend == "torch" and \
            check_quantize(quantize) == "none" and str(precision).strip().lower() == "fp32"
        load_device = driver_device(device, engine, backend)
        if loaded_model is None and not (lean and lean_loadable(model, load_device)):
            import_transformers()  # without scipy / jinja2 in `modelqa predict` (engine.lean_imports)
        clf = loaded_model or load_hf_classifier(model, device=load_device, labels=labels, label_map=label_map,
                                                 allow_pickle=allow_pickle, lean=lean)
    if before_run is not None:
        before_run(clf, table)
    load_s = time.perf_counter() - t0
    fingerprint = {"data_sha256": table.sha256, "text_col": text_col, "on_empty": on_empty}
    if label_col is not None:
        fingerprint["label_col"] = label_col
    run = run_classifier(clf, table.texts, max_length=max_length, batch_size=batch_size, progress=progress,
                         quantize=quantize, chunk_rows=chunk_rows, journal_dir=journal_dir, restart=restart,
                         precision=precision, engine=engine, ray_actors=ray_actors, device_asked=device,
                         backend=backend, max_tokens=max_tokens,
                         load_options={"labels": labels, "label_map": label_map, "allow_pickle": allow_pickle},
                         fingerprint=fingerprint)
    return TextModelRun(table=table, clf=clf, run=run, load_s=load_s)
