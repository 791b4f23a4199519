"""Fine-tuning on a tiny real BERT: outputs, determinism, best-epoch restore, cleaning, splits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import keyword_frame
from sklearn.utils.class_weight import compute_class_weight

from modelqa.train.callbacks import EarlyStopping
from modelqa.train.text import auto_max_length, class_weights

_frame = keyword_frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("traindata")
    train = _frame(20, 0)
    # a missing label, a blank text and an exact duplicate text are dropped and counted
    extra = pd.DataFrame([{"sentence": "good good", "emotion": None}, {"sentence": "  ", "emotion": "pos"},
                          {"sentence": train.loc[0, "sentence"], "emotion": train.loc[0, "emotion"]}])
    pd.concat([train, extra]).to_csv(d / "train.csv", index=False)
    _frame(8, 1).to_csv(d / "val.csv", index=False)
    _frame(8, 2).to_csv(d / "test.csv", index=False)
    return d


def _train(files, out, tiny_model, **kw):
    from modelqa.api.train import train_text

    args = dict(data=files / "train.csv", val_data=files / "val.csv", test_data=files / "test.csv", out=out,
                text_col="sentence", label_col="emotion", base_model=tiny_model, epochs=3, lr=5e-3,
                batch_size=8, seed=7, device="cpu", patience=0)
    args.update(kw)
    return train_text(**args)


@pytest.fixture(scope="module")
def trained(files, tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "emo"
    return _train(files, out, tiny_model), out


def test_outputs_and_metadata(trained, files):
    result, out = trained
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "modelqa.json", "history.json", "evaluation"} <= names
    assert not any(n.endswith(".bin") or n.endswith(".pkl") for n in names)
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "neg", "1": "neu", "2": "pos"}
    meta = json.loads((out / "modelqa.json").read_text())
    assert meta["labels"] == ["neg", "neu", "pos"]
    assert meta["label2id"] == {"neg": 0, "neu": 1, "pos": 2}
    assert meta["training_args"]["lr"] == 5e-3 and meta["training_args"]["seed"] == 7
    import hashlib

    assert meta["data_sha256"]["data"] == hashlib.sha256((files / "train.csv").read_bytes()).hexdigest()
    assert meta["cleaning"] == {"missing": 2, "duplicates": 1}
    assert meta["split"]["train"] == 60 and meta["split"]["validation"] == 24 and meta["split"]["test"] == 24
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    for h in history:
        assert {"train_loss", "val_loss", "val_accuracy", "val_f1_macro", "learning_rate", "seconds"} <= set(h)
    ev = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert ev["n_samples"] == 24 and ev["labels"] == ["neg", "neu", "pos"]
    assert result.evaluation is not None and result.evaluation.result["n_samples"] == 24


def test_learning_happens(trained):
    result, _ = trained
    h = result.history
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    assert max(x["val_accuracy"] for x in h) > 0.5  # keywords make the task easy (chance: 1/3)


def test_best_epoch_is_restored_and_saved(trained, files):
    """The saved model reproduces the monitored value of the best epoch, not of the last one."""
    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.train.text import evaluate_split

    result, out = trained
    best = result.history[result.best_epoch - 1]
    assert best["val_loss"] == min(h["val_loss"] for h in result.history)
    clf = load_hf_classifier(out, device="cpu")
    val = pd.read_csv(files / "val.csv")
    y = val["emotion"].map(clf.label2id).to_numpy()
    again = evaluate_split(clf.model, clf.tokenizer, list(val["sentence"]), y, 3, max_length=clf.max_length,
                           device="cpu")
    assert again["val_loss"] == pytest.approx(best["val_loss"], abs=1e-5)
    assert again["val_accuracy"] == pytest.approx(best["val_accuracy"])


def test_same_seed_same_history(files, tiny_model, tmp_path, trained):
    first, _ = trained
    second = _train(files, tmp_path / "again", tiny_model)

    def strip(h):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in h]

    assert strip(second.history) == strip(first.history)


def test_early_stopping_stops_and_restores(files, tiny_model, tmp_path):
    # lr 0 never improves val_loss after epoch 1: patience 1 stops after epoch 2
    res = _train(files, tmp_path / "es", tiny_model, lr=1e-12, epochs=5, patience=1, min_delta=1e-4,
                 evaluate_test=False)
    assert len(res.history) == 2 and res.best_epoch == 1 and res.stopped_early
    assert any("early stopping" in n for n in res.notes)


def test_sixty_twenty_twenty_split(files, tiny_model, tmp_path):
    res = _train(files, tmp_path / "split", tiny_model, val_data=None, test_data=None, epochs=1,
                 evaluate_test=False)
    assert res.split_sizes == {"train": 36, "validation": 12, "test": 12}


def test_early_stopping_modes():
    es = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.01)
    assert es.update(1, {"val_accuracy": 0.5})
    assert not es.update(2, {"val_accuracy": 0.505})  # below min_delta
    assert es.update(3, {"val_accuracy": 0.6})
    assert not es.update(4, {"val_accuracy": 0.6})
    assert not es.should_stop
    assert not es.update(5, {"val_accuracy": 0.59})
    assert es.should_stop and es.best_epoch == 3
    loss = EarlyStopping(monitor="val_loss", patience=1)
    assert loss.update(1, {"val_loss": 1.0}) and not loss.update(2, {"val_loss": 1.2}) and loss.should_stop


def test_auto_max_length():
    lengths = np.array([10] * 98 + [33, 300])
    p99 = np.percentile(lengths, 99)
    assert auto_max_length(lengths, 512) == int(np.ceil(p99 / 8) * 8)
    assert auto_max_length(lengths, 512) % 8 == 0
    assert auto_max_length(np.array([1000, 2000]), 512) == 512
    assert auto_max_length(np.array([3, 4]), 512) == 8


def test_balanced_class_weights_match_sklearn():
    y = np.array([0, 0, 0, 1, 2, 2])
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=y)
    np.testing.assert_allclose(class_weights(y, 3), expected)


def test_class_weight_balanced_trains(files, tiny_model, tmp_path):
    res = _train(files, tmp_path / "cw", tiny_model, epochs=1, class_weight="balanced", evaluate_test=False)
    meta = json.loads((res.model_dir / "modelqa.json").read_text())
    assert meta["training_args"]["class_weight"] == "balanced"


def test_cli_train_text(files, tiny_model, tmp_path, capsys):
    from modelqa.cli.main import main

    out = tmp_path / "cli"
    code = main(["train", "text", "--data", str(files / "train.csv"), "--test-data", str(files / "test.csv"),
                 "--text-col", "sentence", "--label-col", "emotion", "--base-model", str(tiny_model),
                 "--epochs", "1", "--out", str(out), "--quiet", "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Training history" in printed and "Accuracy" in printed
    assert (out / "evaluation" / "report.html").exists()


def test_cli_train_single_class_is_an_error(tmp_path, capsys):
    from modelqa.cli.main import main

    pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", "x", "x"]}).to_csv(tmp_path / "one.csv", index=False)
    code = main(["train", "text", "--data", str(tmp_path / "one.csv"), "--out", str(tmp_path / "m")])
    assert code != 0
    err = capsys.readouterr().err
    assert "single class" in err and "one.csv" in err
    assert not (tmp_path / "m").exists()
