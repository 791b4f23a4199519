"""Both base encoders on the shared Korean chatbot set and on AG News, and the fine-tuning levers
of the multilingual one (frozen word embeddings, lr, epochs). Figures: docs/korean.md.

Subsets (stratified, seed 0): --train-rows training, --val-rows validation (early stopping and
best epoch), --test-rows test rows of each set; the Korean text is column Q, labels 0/1/2; the
AG News text is "title. description", 4 classes. Every run is `fit_text_classifier` (the loop
behind `modelqa train text`) with its defaults unless the run names an option; the test split is
scored with scikit-learn. Results are appended, one JSON object a line, to --out.

    .venv/bin/python bench/train_korean.py --tokens            # token statistics only, seconds
    .venv/bin/python bench/train_korean.py --runs ko:minilm ko:e5 ko:e5:freeze=0 \\
        ko:e5:lr=5e-5 ko:e5:lr=2e-4 ag:minilm ag:e5 --out /tmp/modelqa-bench-korean.jsonl
    .venv/bin/python bench/train_korean.py --mix 0.1 --runs mix:minilm mix:e5   # Korean share of rows

A run is SET:BASE[:option=value...]; SET is ko, ag or mix (--mix: that share of the rows from the
Korean set, the rest AG News, labels ko-0..2 and the four AG News classes); BASE is minilm or e5;
options: freeze=0/1, lr, epochs, batch, max_length.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
AG_CLASSES = {1: "World", 2: "Sports", 3: "Business", 4: "Sci/Tech"}


def _stratified(df: pd.DataFrame, sizes: tuple[int, ...], seed: int) -> list[pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    parts, rest = [], df
    for n in sizes:
        if n >= len(rest):
            parts.append(rest)
            break
        take, rest = train_test_split(rest, train_size=n, stratify=rest["label"], random_state=seed)
        parts.append(take)
    return parts


def load_set(name: str) -> pd.DataFrame:
    if name == "ko":
        df = pd.read_csv(SHARED / "korean_chatbot.csv")
        df = pd.DataFrame({"text": df["Q"].astype(str), "label": df["label"].astype(str).str.strip()})
    elif name == "ag":
        df = pd.read_csv(SHARED / "ag_news_test.csv", header=None, names=["cls", "title", "description"])
        text = df["title"].str.strip() + ". " + df["description"].str.replace("\\", " ").str.strip()
        df = pd.DataFrame({"text": text, "label": df["cls"].map(AG_CLASSES)})
    else:
        raise SystemExit(f"unknown set {name!r}")
    return df.drop_duplicates("text").reset_index(drop=True)


def splits(name: str, args) -> list[pd.DataFrame]:
    sizes = (args.train_rows, args.val_rows, args.test_rows)
    if name != "mix":
        return _stratified(load_set(name), sizes, args.seed)
    ko = load_set("ko").assign(label=lambda d: "ko-" + d["label"])
    ag = load_set("ag")
    out = []
    for ko_part, ag_part in zip(_stratified(ko, tuple(round(args.mix * n) for n in sizes), args.seed),
                                _stratified(ag, tuple(n - round(args.mix * n) for n in sizes), args.seed),
                                strict=True):
        out.append(pd.concat([ko_part, ag_part]).sample(frac=1.0, random_state=args.seed))
    return out


def base_path(key: str) -> str:
    from modelqa.adapters.bases import MINILM, MULTILINGUAL_E5

    return str({"minilm": MINILM, "e5": MULTILINGUAL_E5}[key].path())


def token_stats(args) -> None:
    from transformers import AutoTokenizer

    from modelqa.adapters.bases import letter_counts

    for name in ("ko", "ag"):
        texts = load_set(name)["text"].tolist()
        hangul, letters = letter_counts(texts)
        row = {"set": name, "texts": len(texts), "hangul_share_of_letters": round(hangul / letters, 4)}
        for key in ("minilm", "e5"):
            tok = AutoTokenizer.from_pretrained(base_path(key))
            ids = tok(texts, verbose=False)["input_ids"]
            n = sum(len(x) - 2 for x in ids)
            row[key] = {"tokens_per_text": round(n / len(ids), 2),
                        "unknown_share": round(sum(x.count(tok.unk_token_id) for x in ids) / n, 4),
                        "texts_with_unknown": round(float(np.mean([tok.unk_token_id in x for x in ids])), 4)}
        print(json.dumps(row, ensure_ascii=False))
    # what a Hangul share of letters means in rows: Korean chatbot questions mixed into AG News
    ko, ag = load_set("ko")["text"], load_set("ag")["text"]
    for share in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5):
        n_ko = round(2000 * share)
        rows = ko.sample(n_ko, random_state=0).tolist() + ag.sample(2000 - n_ko, random_state=0).tolist()
        hangul, letters = letter_counts(rows)
        print(json.dumps({"korean_rows_share": share, "rows": 2000,
                          "hangul_share_of_letters": round(hangul / letters, 4)}))


class _EpochLog:
    """Per-epoch lines on stderr (the loop's Progress protocol; batch progress is not printed)."""

    def __init__(self, spec: str):
        self.spec = spec

    def start(self, total, description):
        self.t0 = time.perf_counter()

    def advance(self, n=1):
        pass

    def finish(self):
        pass

    def log(self, message):
        import sys

        print(f"[{self.spec}] {message}", file=sys.stderr, flush=True)


def run_one(spec: str, args) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    from modelqa.train.config import TextTrainConfig
    from modelqa.train.text import evaluate_split, fit_text_classifier

    set_name, base_key, *opts = spec.split(":")
    options = dict(o.split("=", 1) for o in opts)
    train, val, test = splits(set_name, args)
    labels = sorted(set(train["label"]))
    enc = {c: i for i, c in enumerate(labels)}
    config = TextTrainConfig(seed=args.seed, device="cpu")
    config.freeze_embeddings = bool(int(options.get("freeze", "1" if base_key == "e5" else "0")))
    config.lr = float(options.get("lr", config.lr))
    config.epochs = int(options.get("epochs", config.epochs))
    config.batch_size = int(options.get("batch", config.batch_size))
    if "max_length" in options:
        config.max_length = int(options["max_length"])
    fit = fit_text_classifier(base_model=base_path(base_key), train_texts=train["text"].tolist(),
                              train_y=train["label"].map(enc).to_numpy(), val_texts=val["text"].tolist(),
                              val_y=val["label"].map(enc).to_numpy(), labels=labels, config=config,
                              progress=_EpochLog(spec))
    t0 = time.perf_counter()
    y_test = test["label"].map(enc).to_numpy()
    ev = evaluate_split(fit.model, fit.tokenizer, test["text"].tolist(), y_test, len(labels),
                        max_length=fit.max_length, device="cpu")
    from modelqa.engine.predict import predict_texts

    pred = predict_texts(fit.model, fit.tokenizer, test["text"].tolist(), max_length=fit.max_length,
                         batch_size=64, device="cpu").probs.argmax(axis=1)
    row = {"run": spec, "set": set_name, "base": base_key, "mix": args.mix if set_name == "mix" else None,
           "train_rows": len(train), "val_rows": len(val), "test_rows": len(test),
           "freeze_embeddings": config.freeze_embeddings, "lr": config.lr, "epochs": config.epochs,
           "batch_size": config.batch_size, "epochs_run": len(fit.history), "best_epoch": fit.best_epoch,
           "max_length": fit.max_length, "test_accuracy": round(float(accuracy_score(y_test, pred)), 4),
           "test_f1_macro": round(float(f1_score(y_test, pred, average="macro")), 4),
           "val_accuracy_by_epoch": [round(h["val_accuracy"], 4) for h in fit.history],
           "train_seconds": round(fit.seconds, 1), "test_seconds": round(time.perf_counter() - t0, 1),
           "torch_threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0)}
    if set_name == "mix":
        is_ko = test["label"].str.startswith("ko-").to_numpy()
        row["test_accuracy_korean_rows"] = round(float(accuracy_score(y_test[is_ko], pred[is_ko])), 4)
        row["test_accuracy_english_rows"] = round(float(accuracy_score(y_test[~is_ko], pred[~is_ko])), 4)
        from modelqa.adapters.bases import letter_counts

        hangul, letters = letter_counts(train["text"])
        row["hangul_share_of_letters"] = round(hangul / letters, 4)
    row["modelqa_accuracy_minus_sklearn"] = float(ev["val_accuracy"] - accuracy_score(y_test, pred))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="*", default=[])
    ap.add_argument("--tokens", action="store_true", help="print token statistics of both bases on both sets")
    ap.add_argument("--train-rows", type=int, default=2000)
    ap.add_argument("--val-rows", type=int, default=500)
    ap.add_argument("--test-rows", type=int, default=1000)
    ap.add_argument("--mix", type=float, default=0.1, help="share of Korean rows in the 'mix' set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/modelqa-bench-korean.jsonl"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    if args.tokens:
        token_stats(args)
    for spec in args.runs:
        row = run_one(spec, args)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
