"""train_tabular → save → load → predict; regression; class weights; resume; bad input; CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelqa.errors import DataError, RunError, UsageError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from churn_table import make_churn  # noqa: E402

FAST = {"hidden": "16,8", "epochs": 8, "patience": 3, "batch_size": 32, "lr": 0.01}


@pytest.fixture(scope="module")
def churn_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tab") / "churn.csv"
    make_churn(400, seed=1).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(churn_csv, tmp_path_factory):
    from modelqa.api.tabular import train_tabular

    out = tmp_path_factory.mktemp("models") / "churn"
    return train_tabular(data=churn_csv, target="Churn", out=out, **FAST)


def test_train_saves_model_history_and_test_metrics(trained):
    out = trained.model_dir
    assert sorted(p.name for p in out.iterdir()) == ["evaluation", "history.json", "model.safetensors",
                                                      "modelqa.json"]
    meta = json.loads((out / "modelqa.json").read_text())
    assert meta["kind"] == "tabular" and meta["task"] == "binary" and meta["labels"] == ["No", "Yes"]
    assert meta["architecture"]["hidden"] == [16, 8] and meta["architecture"]["output_dim"] == 2
    assert meta["split"]["train"] == 240 and meta["split"]["test"] == 80
    assert "customerID" not in meta["feature_columns"]
    assert {d["name"] for d in meta["preprocessing"]["dropped"]} == {"customerID"}
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    assert {"train_loss", "val_loss", "val_accuracy", "val_f1_macro", "learning_rate", "seconds"} <= set(history[0])
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["task"] == "binary" and metrics["n_samples"] == 80
    assert 0.5 <= metrics["metrics"]["accuracy"] <= 1
    assert not list(out.rglob("*.pt")) and not (out / ".checkpoint").exists()


def test_load_predict_identical_to_in_memory(trained, churn_csv):
    import torch

    from modelqa.adapters.tabular import is_tabular_model, load_tabular_model
    from modelqa.api.tabular import predict_tabular, tabular_arrays
    from modelqa.data.load import read_table

    assert is_tabular_model(trained.model_dir) and not is_tabular_model(churn_csv.parent)
    model = load_tabular_model(trained.model_dir)
    df = read_table(churn_csv)
    preds = model.predict(df)
    x, _ = model.preprocessor.transform(df)
    with torch.no_grad():
        logits = model.module(torch.from_numpy(x)).double().numpy()
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(preds.probs, expected, rtol=1e-6)
    test = pd.read_csv(trained.model_dir / "evaluation" / "predictions.csv")
    again = model.predict(pd.read_csv(trained.model_dir / "evaluation" / "test_split.csv", dtype=str,
                                      keep_default_na=False).replace("", None))
    np.testing.assert_allclose(again.probs[:, 1], test["prob_Yes"].to_numpy(), rtol=1e-5, atol=1e-7)
    frame = predict_tabular(trained.model_dir, churn_csv, id_col="customerID")
    assert list(frame.columns) == ["customerID", "predicted_label", "confidence", "prob_No", "prob_Yes"]
    np.testing.assert_allclose(frame["prob_Yes"].to_numpy(), preds.probs[:, 1])
    arrays = tabular_arrays(trained.model_dir, churn_csv, label_col="Churn")
    assert arrays["task"] == "binary" and arrays["labels"] == ["No", "Yes"]
    assert np.array_equal(arrays["y_true"], (df["Churn"] == "Yes").to_numpy().astype(int))


def test_predict_missing_columns_and_unseen_categories(trained, churn_csv, tmp_path):
    from modelqa.api.tabular import predict_tabular

    df = pd.read_csv(churn_csv, dtype=str)
    df.loc[:4, "PaymentMethod"] = "Bitcoin"
    df.head(10).drop(columns=["Churn"]).to_csv(tmp_path / "new.csv", index=False)
    frame = predict_tabular(trained.model_dir, tmp_path / "new.csv")
    assert frame.attrs["unseen_categories"] == {"PaymentMethod": 5} and len(frame) == 10
    df.drop(columns=["tenure", "Contract", "customerID"]).to_csv(tmp_path / "less.csv", index=False)
    with pytest.raises(DataError) as err:
        predict_tabular(trained.model_dir, tmp_path / "less.csv")
    assert "less.csv" in str(err.value) and "'tenure'" in str(err.value) and "'Contract'" in str(err.value)


def test_regression_and_class_weights(churn_csv, tmp_path):
    from modelqa.adapters.tabular import load_tabular_model
    from modelqa.api.tabular import train_tabular

    res = train_tabular(data=churn_csv, target="MonthlyCharges", out=tmp_path / "reg", **FAST)
    assert res.task == "regression" and res.labels is None
    assert "val_rmse" in res.history[0] and res.test_metrics["metrics"]["rmse"] > 0
    model = load_tabular_model(tmp_path / "reg")
    values = model.predict(pd.read_csv(churn_csv, dtype=str)).values
    assert values.shape == (400,) and 10 < float(values.mean()) < 130  # in target units
    preds = pd.read_csv(tmp_path / "reg" / "evaluation" / "predictions.csv", encoding="utf-8-sig")
    assert list(preds.columns) == ["target", "prediction", "residual"]
    np.testing.assert_allclose(preds["residual"], preds["target"] - preds["prediction"], atol=1e-6)
    # the test split's metrics are the regression module's, the same as evaluate on that file gives
    from sklearn.metrics import mean_absolute_error, r2_score

    m = res.test_metrics["metrics"]
    assert m["mae"] == pytest.approx(mean_absolute_error(preds["target"], preds["prediction"]), rel=1e-5)
    assert m["r2"] == pytest.approx(r2_score(preds["target"], preds["prediction"]), rel=1e-5)

    plain = train_tabular(data=churn_csv, target="Churn", out=tmp_path / "plain", **FAST)
    weighted = train_tabular(data=churn_csv, target="Churn", out=tmp_path / "w", class_weight="balanced", **FAST)
    share = lambda r: r.test_metrics["per_class"]["Yes"]["predicted_count"]  # noqa: E731
    assert share(weighted) >= share(plain)
    assert json.loads((tmp_path / "w" / "modelqa.json").read_text())["training_args"]["class_weight"] == "balanced"


class _Boom:
    """A progress callback that fails after ``k`` epochs (an interrupted run)."""

    def __init__(self, k: int) -> None:
        self.k, self.n = k, 0

    def start(self, total, description):
        pass

    def advance(self, n=1):
        pass

    def finish(self):
        pass

    def log(self, message):
        if message.startswith("epoch "):
            self.n += 1
            if self.n == self.k:
                raise KeyboardInterrupt


def test_resume_gives_the_same_history(churn_csv, tmp_path):
    from modelqa.adapters.tabular import load_tabular_model
    from modelqa.api.tabular import train_tabular

    opts = {**FAST, "epochs": 7, "patience": 0, "dropout": 0.3}
    full = train_tabular(data=churn_csv, target="Churn", out=tmp_path / "full", **opts)
    with pytest.raises(KeyboardInterrupt):
        train_tabular(data=churn_csv, target="Churn", out=tmp_path / "cut", progress=_Boom(3), **opts)
    assert (tmp_path / "cut" / ".checkpoint").is_dir() and not (tmp_path / "cut" / "model.safetensors").exists()
    resumed = train_tabular(data=churn_csv, target="Churn", out=tmp_path / "cut", resume=True, **opts)
    assert resumed.resumed_from == 3

    def strip(h):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in h]

    assert strip(resumed.history) == strip(full.history)
    a, b = load_tabular_model(tmp_path / "full"), load_tabular_model(tmp_path / "cut")
    for (k1, v1), (k2, v2) in zip(a.module.state_dict().items(), b.module.state_dict().items(), strict=True):
        assert k1 == k2 and bool((v1 == v2).all())
    with pytest.raises(KeyboardInterrupt):
        train_tabular(data=churn_csv, target="Churn", out=tmp_path / "cut2", progress=_Boom(2), **opts)
    with pytest.raises(RunError, match="different"):
        train_tabular(data=churn_csv, target="Churn", out=tmp_path / "cut2", resume=True, **{**opts, "lr": 0.02})


@pytest.mark.parametrize(("change", "kwargs", "error", "pattern"), [
    ("none", {"target": "Churnn"}, DataError, r"missing column 'Churnn'.*'customerID'"),
    ("single", {"target": "Churn"}, DataError, "single value"),
    ("text_target", {"target": "Contract", "task": "regression"}, DataError,
     r"not numbers: row 1: 'Month-to-month'"),
    ("tiny", {"target": "Churn"}, DataError, "cannot be split|cannot be in every"),
    ("none", {"target": "Churn", "hidden": "0"}, UsageError, "`hidden`"),
    ("none", {"target": "Churn", "val_data": "x.csv"}, UsageError, "--test-data"),
    ("none", {"target": "Churn", "monitor": "val_rmse"}, UsageError, "`monitor`"),
])
def test_bad_input_writes_nothing(churn_csv, tmp_path, change, kwargs, error, pattern):
    from modelqa.api.tabular import train_tabular

    df = pd.read_csv(churn_csv, dtype=str, keep_default_na=False)
    if change == "single":
        df["Churn"] = "No"
    if change == "tiny":
        df = df.head(4)
    data = tmp_path / "data.csv"
    df.to_csv(data, index=False)
    with pytest.raises(error, match=pattern):
        train_tabular(data=data, out=tmp_path / "out", **{**FAST, **kwargs})
    assert not (tmp_path / "out").exists()


def test_cli_profile_and_train(churn_csv, tmp_path, capsys):
    from modelqa.cli.main import main

    assert main(["profile", str(churn_csv), "--target", "Churn", "--out", str(tmp_path / "p.json")]) == 0
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["id_columns"][0]["name"] == "customerID"
    assert "Numbers stored as text: TotalCharges" in capsys.readouterr().out.replace("\n", " ") or \
        doc["numeric_as_text"] == []
    code = main(["train", "tabular", "--data", str(churn_csv), "--target", "Churn", "--out",
                 str(tmp_path / "m"), "--hidden", "8", "--epochs", "3", "--quiet"])
    assert code == 0 and (tmp_path / "m" / "model.safetensors").exists()
    assert main(["train", "tabular", "--data", str(churn_csv), "--target", "Nope", "--out",
                 str(tmp_path / "m2"), "--quiet"]) == 3
    assert "Nope" in capsys.readouterr().err and not (tmp_path / "m2").exists()
    assert main(["train", "tabular", "--data", str(churn_csv), "--target", "Churn", "--out", str(tmp_path / "m3"),
                 "--class-weight", "heavy", "--quiet"]) == 2
