"""The README.md model card of ``modelqa export``: YAML front matter for the Hugging Face Hub
(language, license, base model, pipeline tag, ``model-index`` with the evaluation's metrics)
and a Markdown body (classes, use, training data and settings, evaluation with intervals and
baselines, per-class table, learning-curve diagnosis, QA checks, limitations).

Rendering only: ``api/export.py`` gathers the inputs as plain data (``CardInputs``). Every
value that comes from data or a file (class names, file names, check names) is escaped for
Markdown tables and HTML. The metric values in ``model-index`` are the floats of metrics.json,
written by PyYAML with ``repr`` precision, so they read back equal.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import yaml

from modelqa.report import formatting as fmt

#: metrics.json keys put into model-index: (key, Hub metric type, display name, args)
INDEX_METRICS = (
    ("accuracy", "accuracy", "Accuracy", None),
    ("f1_macro", "f1", "Macro F1", {"average": "macro"}),
    ("precision_macro", "precision", "Macro precision", {"average": "macro"}),
    ("recall_macro", "recall", "Macro recall", {"average": "macro"}),
    ("f1_weighted", "f1", "Weighted F1", {"average": "weighted"}),
)
#: a class whose F1 is below this is listed under Limitations
LOW_F1 = 0.6
#: a truncation rate above this is listed under Limitations
TRUNCATION_NOTE = 0.01


@dataclass
class CardInputs:
    """Everything the card shows, as plain data (see api/export.py for where each comes from)."""

    model_name: str
    labels: list[str]
    license: str
    pipeline_tag: str = "text-classification"
    language: list[str] = field(default_factory=list)
    base_model: str | None = None          # a Hub id, or None when the base is a local folder
    base_model_title: str | None = None    # what modelqa.json says about the base
    training: Mapping | None = None        # modelqa.json (data file names only)
    metrics: Mapping | None = None         # metrics.json of the evaluation run
    run: Mapping | None = None             # run.json of the evaluation run
    dataset_name: str | None = None
    diagnosis: Sequence[Mapping] | None = None   # findings of analysis.curves.diagnose
    checks: Sequence[Mapping] | None = None      # "results" of check.json
    check_source: str | None = None
    upload_command: str | None = None      # relative to the folder that holds the export (no local paths)
    tags: list[str] = field(default_factory=lambda: ["modelqa", "text-classification"])


def cell(value) -> str:
    """Text safe in a Markdown table cell (no pipes, no line breaks, HTML escaped)."""
    text = "" if value is None else str(value)
    text = html.escape(text.replace("\r", " ").replace("\n", " "), quote=False)
    return text.replace("|", "\\|").replace("`", "\\`") or " "


def prose(value) -> str:
    """Text safe in a Markdown paragraph or list item (one line, HTML escaped)."""
    text = "" if value is None else str(value)
    return html.escape(text.replace("\r", " ").replace("\n", " "), quote=False)


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def model_index(inputs: CardInputs) -> list[dict] | None:
    """The ``model-index`` block: one result with the evaluation's headline metrics."""
    metrics = (inputs.metrics or {}).get("metrics") or {}
    entries = []
    for key, kind, name, args in INDEX_METRICS:
        value = metrics.get(key)
        if value is None:
            continue
        entry = {"type": kind, "value": float(value), "name": name}
        if args:
            entry["args"] = dict(args)
        entries.append(entry)
    if not entries:
        return None
    return [{"name": inputs.model_name, "results": [{
        "task": {"type": "text-classification", "name": "Text Classification"},
        "dataset": {"name": inputs.dataset_name or "evaluation data", "type": "custom", "split": "test"},
        "metrics": entries,
    }]}]


def front_matter(inputs: CardInputs) -> dict:
    meta: dict = {}
    if inputs.language:
        meta["language"] = list(inputs.language)
    meta["license"] = inputs.license
    meta["library_name"] = "transformers"
    meta["pipeline_tag"] = inputs.pipeline_tag
    meta["tags"] = list(inputs.tags)
    if inputs.base_model:
        meta["base_model"] = inputs.base_model
    index = model_index(inputs)
    if index:
        meta["model-index"] = index
    return meta


def render_model_card(inputs: CardInputs) -> str:
    """The README.md text: ``---`` YAML ``---`` then the Markdown body."""
    head = yaml.safe_dump(front_matter(inputs), sort_keys=False, allow_unicode=True, width=1000)
    body = [f"# {cell(inputs.model_name)}", ""]
    body += _intro(inputs) + _classes(inputs) + _usage(inputs) + _training(inputs) + _evaluation(inputs)
    body += _curves(inputs) + _checks(inputs) + _limitations(inputs)
    if inputs.upload_command:
        body += ["## Publishing", "", "This folder was written by `modelqa export`; to publish it, from the folder "
                 "that holds it:", "",
                 "```", inputs.upload_command, "```", ""]
    return f"---\n{head}---\n\n" + "\n".join(body).rstrip() + "\n"


def _intro(inputs: CardInputs) -> list[str]:
    base = inputs.base_model or inputs.base_model_title or "a BERT-style encoder"
    k = len(inputs.labels)
    return [f"A text classifier with {k} classes, fine-tuned from {prose(base)} with modelqa "
            "(`modelqa train text`) and exported with `modelqa export`. Every number below comes from "
            "the evaluation run the card names.", ""]


def _classes(inputs: CardInputs) -> list[str]:
    return ["## Classes", "", *_table(["id", "label"], [(i, name) for i, name in enumerate(inputs.labels)]), ""]


def _usage(inputs: CardInputs) -> list[str]:
    return ["## How to use", "", "```python", "from transformers import pipeline", "",
            'classifier = pipeline("text-classification", model="PATH_OR_REPO_ID")',
            'print(classifier("your text here"))', "```", "",
            "or evaluate it on your own labelled file: "
            "`modelqa evaluate --model PATH --data labelled.csv --out run/`.", ""]


def _training(inputs: CardInputs) -> list[str]:
    t = inputs.training or {}
    if not t:
        return ["## Training", "", "This folder has no modelqa.json: how it was trained is not recorded.", ""]
    split = t.get("split") or {}
    args = t.get("training_args") or {}
    files = t.get("data_files") or {}
    rows = [("training data", ", ".join(f"{k}: {v}" for k, v in files.items()) or "—"),
            ("split", f"{split.get('rule', '—')} (seed {split.get('seed', '—')})"),
            ("rows", ", ".join(f"{k} {split[k]}" for k in ("train", "validation", "test") if k in split) or "—")]
    cleaning = t.get("cleaning") or {}
    if cleaning:
        rows.append(("dropped before training", f"{cleaning.get('missing', 0)} rows with missing text or label, "
                                                f"{cleaning.get('duplicates', 0)} duplicate texts"))
    rows.append(("base model", t.get("base_model") or "—"))
    rows.append(("max length (tokens)", t.get("max_length", "—")))
    for key in ("epochs", "lr", "batch_size", "warmup_ratio", "weight_decay", "monitor", "patience",
                "class_weight", "seed"):
        if key in args:
            rows.append((key, "none" if args[key] is None else args[key]))
    rows.append(("best epoch", f"{t.get('best_epoch', '—')}" + (" (stopped early)" if t.get("stopped_early") else "")))
    if t.get("train_seconds") is not None:
        rows.append(("training time", f"{t['train_seconds']} s on {t.get('device', '?')}"))
    return ["## Training data and settings", "", *_table(["", ""], rows), ""]


def _evaluation(inputs: CardInputs) -> list[str]:
    doc = inputs.metrics
    if not doc:
        return ["## Evaluation", "", "No evaluation run was given (`modelqa export --eval RUN_DIR`).", ""]
    m = doc.get("metrics") or {}
    ci = doc.get("confidence_intervals") or {}
    level = fmt.pct(ci.get("level"), 0) if ci.get("level") is not None else "95%"
    out = ["## Evaluation", "",
           f"On {fmt.count(doc.get('n_samples'))} rows of {prose(inputs.dataset_name or 'the evaluation data')} "
           f"({level} bootstrap intervals, {ci.get('n_resamples', '—')} resamples):", ""]
    rows = []
    for key, _, name, _ in INDEX_METRICS:
        if m.get(key) is not None:
            rows.append((name, fmt.num(m[key], 4), fmt.interval(ci.get(key)) if ci.get(key) else ""))
    out += _table(["metric", "value", "interval"], rows) + [""]
    out += _baselines(doc.get("baselines") or {})
    per_class = doc.get("per_class") or {}
    if per_class:
        out += ["### Per class", ""]
        out += _table(["class", "precision", "recall", "F1", "support"],
                      [(name, fmt.num(v.get("precision")), fmt.num(v.get("recall")), fmt.num(v.get("f1")),
                        v.get("support")) for name, v in per_class.items()]) + [""]
    return out


def _baselines(b: Mapping) -> list[str]:
    if not b:
        return []
    rows = [("chance (by class frequency)", fmt.num(b.get("chance_accuracy")), ""),
            (f"majority (always {b.get('majority_label')})", fmt.num(b.get("majority_accuracy")), "")]
    simple = b.get("simple") or {}
    if simple.get("status") == "done":
        sm, sci = simple.get("metrics") or {}, simple.get("confidence_intervals") or {}
        rows.append((f"{simple.get('name')} (accuracy / macro F1)",
                     f"{fmt.num(sm.get('accuracy'))} / {fmt.num(sm.get('f1_macro'))}",
                     f"{fmt.interval(sci.get('accuracy'))} / {fmt.interval(sci.get('f1_macro'))}"))
    out = ["### Baselines", "", *_table(["baseline", "accuracy", "interval"], rows), ""]
    if simple.get("status") == "done":
        out += [f"Paired comparison on the same rows: {prose((simple.get('comparison') or {}).get('summary'))}.", ""]
    elif simple.get("status") == "skipped":
        out += [f"The simple baseline was not fitted: {prose(simple.get('reason'))}.", ""]
    return out


def _curves(inputs: CardInputs) -> list[str]:
    if not inputs.diagnosis:
        return []
    return ["## Learning curves", "", *[f"- {prose(f.get('message'))}" for f in inputs.diagnosis], ""]


def _checks(inputs: CardInputs) -> list[str]:
    if inputs.checks is None:
        return []
    out = ["## QA checks", ""]
    if inputs.check_source:
        out += [f"From `modelqa check` ({prose(inputs.check_source)}):", ""]
    rows = [(r.get("check"), r.get("target"), r.get("status"), r.get("metric"), fmt.num(r.get("value")),
             fmt.num(r.get("threshold"))) for r in inputs.checks]
    return out + _table(["check", "target", "status", "metric", "value", "threshold"], rows) + [""]


def limitations(inputs: CardInputs) -> list[str]:
    """Plain sentences: classes with low F1, the truncation rate, failed checks, the simple baseline."""
    notes = []
    doc = inputs.metrics or {}
    low = [(name, v.get("f1")) for name, v in (doc.get("per_class") or {}).items()
           if v.get("f1") is not None and v["f1"] < LOW_F1]
    if low:
        notes.append(f"Classes with F1 below {LOW_F1}: " + ", ".join(f"{n} ({fmt.num(f)})" for n, f in low) + ".")
    run = inputs.run or {}
    n = doc.get("n_samples")
    if run.get("truncated") is not None and n:
        rate = run["truncated"] / n
        limit = run.get("max_length", "the limit")
        sentence = f"{run['truncated']} of {n} evaluated texts ({fmt.pct(rate)}) were longer than {limit} tokens " \
                   "and were truncated"
        notes.append(sentence + ("." if rate > TRUNCATION_NOTE else " (a negligible share)."))
    failed = [r for r in inputs.checks or [] if str(r.get("status", "")).lower() in ("fail", "failed", "error")]
    if failed:
        notes.append("Failed QA checks: " + ", ".join(f"{r.get('check')} ({r.get('target')})" for r in failed) + ".")
    simple = (doc.get("baselines") or {}).get("simple") or {}
    verdict = (simple.get("comparison") or {}).get("verdict")
    if verdict in ("worse", "no significant difference"):
        how = "significantly worse than" if verdict == "worse" else "not significantly better than"
        notes.append(f"The fine-tuned model is {how} a character n-gram TF-IDF + logistic regression baseline on "
                     "the same rows; consider the simpler model.")
    if n is not None and n < 200:
        notes.append(f"The evaluation has only {n} rows: the intervals above are wide.")
    if not doc:
        notes.append("No evaluation was given: the card reports no measured quality.")
    notes.append("The metrics hold for data like the evaluation data; other domains, languages or label "
                 "definitions need their own evaluation.")
    return notes


def _limitations(inputs: CardInputs) -> list[str]:
    return ["## Limitations", "", *[f"- {prose(s)}" for s in limitations(inputs)], ""]
