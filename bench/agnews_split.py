"""Write the AG News development split used by the training benchmarks.

From ../shared/data/ag_news_test.csv (no header: class 1-4, title, description) draw
2,000 rows with a fixed seed, stratified, and write train.csv (1,200 rows) and
test.csv (800 rows) with columns text,label (label = class name).

    python bench/agnews_split.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CLASSES = ["World", "Sports", "Business", "Sci/Tech"]


def make_split(out_dir: Path, *, seed: int = 0, n_train: int = 1200, n_test: int = 800) -> tuple[Path, Path]:
    src = SHARED / "ag_news_test.csv"
    if not src.exists():
        raise SystemExit(f"{src} is missing: the AG News benchmarks need ../shared/data beside the project")
    df = pd.read_csv(src, header=None, names=["cls", "title", "description"])
    df["text"] = (df["title"].str.strip() + ". " + df["description"].str.replace("\\", " ").str.strip())
    df["label"] = df["cls"].map(lambda c: CLASSES[int(c) - 1])
    sample, _ = train_test_split(df, train_size=n_train + n_test, stratify=df["label"], random_state=seed)
    train, test = train_test_split(sample, train_size=n_train, stratify=sample["label"], random_state=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "train.csv", out_dir / "test.csv"
    train[["text", "label"]].to_csv(paths[0], index=False)
    test[["text", "label"]].to_csv(paths[1], index=False)
    return paths


if __name__ == "__main__":
    print(*make_split(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/agnews")), sep="\n")
