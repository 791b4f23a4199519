"""Keras, skops and ONNX model files as a `--model` of `evaluate` and `predict`, and `modelqa inspect`.

Each model is built and trained here on a generated churn-like table; every number modelqa writes
is checked against scikit-learn computed on the framework's own predictions of the same rows."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from modelqa.cli.main import main

os.environ.setdefault("KERAS_BACKEND", "torch")
FEATURES = ["age", "tenure", "monthly", "support_calls"]


def churn_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"customer_id": [f"C{seed}-{i:04d}" for i in range(n)],
                       "age": rng.integers(18, 80, n).astype(float), "tenure": rng.integers(0, 72, n).astype(float),
                       "monthly": rng.normal(70, 20, n).round(2), "support_calls": rng.poisson(2, n).astype(float),
                       "plan": rng.choice(["basic", "plus", "pro"], n)})
    logit = (-0.05 * (df.tenure - 30) + 0.04 * (df.monthly - 70) + 0.6 * (df.support_calls - 2)
             + 0.8 * (df.plan == "basic") + rng.normal(0, 0.8, n))
    df["churn"] = np.where(logit > 0, "yes", "no")
    return df


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("formats")
    train, test = churn_table(300, 0), churn_table(120, 1)
    test.to_csv(d / "mixed.csv", index=False)                           # with the categorical 'plan'
    test.drop(columns=["plan"]).to_csv(d / "d.csv", index=False)        # numeric features only
    return {"dir": d, "train": train, "test": test}


def standardize(train: pd.DataFrame, df: pd.DataFrame) -> np.ndarray:
    x = train[FEATURES].to_numpy(np.float32)
    return ((df[FEATURES].to_numpy(np.float32) - x.mean(0)) / x.std(0)).astype(np.float32)


@pytest.fixture(scope="module")
def keras_model(data):
    import keras

    keras.utils.set_random_seed(0)
    d, train, test = data["dir"] / "keras", data["train"], data["test"]
    d.mkdir()
    x = train[FEATURES].to_numpy(np.float32)
    norm = keras.layers.Normalization()
    norm.adapt(x)
    model = keras.Sequential([keras.Input((len(FEATURES),)), norm, keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    fit = model.fit(x, (train.churn == "yes").to_numpy(np.float32), validation_split=0.25, epochs=4, batch_size=32,
                    verbose=0)
    model.save(d / "best_model.keras")
    (d / "history.json").write_text(json.dumps(fit.history), encoding="utf-8")
    p_yes = model.predict(test[FEATURES].to_numpy(np.float32), verbose=0)[:, 0].astype(np.float64)
    return {"path": d / "best_model.keras", "history": fit.history, "probs": np.column_stack([1 - p_yes, p_yes]),
            "keras": keras, "model": model}


@pytest.fixture(scope="module")
def skops_model(data):
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cols = [*FEATURES, "plan"]
    pipe = Pipeline([("prep", ColumnTransformer([("num", StandardScaler(), FEATURES),
                                                 ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])),
                     ("clf", LogisticRegression(max_iter=500))])
    pipe.fit(data["train"][cols], data["train"]["churn"])
    path = data["dir"] / "churn.skops"
    sio.dump(pipe, path)
    return {"path": path, "pipe": pipe, "probs": pipe.predict_proba(data["test"][cols]),
            "labels": [str(c) for c in pipe.classes_]}


@pytest.fixture(scope="module")
def onnx_model(data):
    import onnx
    import torch

    torch.manual_seed(0)
    train, test = data["train"], data["test"]
    x = torch.from_numpy(standardize(train, train))
    y = torch.from_numpy((train.churn == "yes").to_numpy(np.int64))
    net = torch.nn.Sequential(torch.nn.Linear(len(FEATURES), 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    x_np = train[FEATURES].to_numpy(np.float32)
    mean, std = torch.from_numpy(x_np.mean(0)), torch.from_numpy(x_np.std(0))

    class Scaled(torch.nn.Module):  # the scaling is part of the exported graph: raw columns in, logits out
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)

        def forward(self, raw):
            return self.net((raw - self.mean) / self.std)

    model = Scaled().eval()
    path = data["dir"] / "churn.onnx"
    torch.onnx.export(model, (torch.zeros(1, len(FEATURES)),), str(path), input_names=["features"],
                      output_names=["logits"], dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}},
                      dynamo=False)
    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, {"labels": json.dumps(["no", "yes"]), "feature_columns": json.dumps(FEATURES)})
    onnx.save(proto, str(path))
    with torch.no_grad():
        logits = model(torch.tensor(test[FEATURES].to_numpy(np.float32))).double().numpy()
    return {"path": path, "probs": softmax(logits, axis=1)}


def run(argv, capsys) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "internal error" not in captured.err, captured.err
    return rc, captured.out, captured.err


def check_against_oracle(run_dir: Path, test: pd.DataFrame, probs: np.ndarray, labels: list[str], pos: str) -> dict:
    """metrics.json of ``run_dir`` equals scikit-learn on ``probs`` (the framework's own outputs)."""
    doc = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    y_true = test["churn"].to_numpy()
    y_pred = np.asarray(labels, dtype=object)[probs.argmax(axis=1)]
    m = doc["metrics"]
    assert doc["labels"] == labels and doc["n_samples"] == len(test)
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert m["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y_true == pos, probs[:, labels.index(pos)]), abs=1e-6)
    assert m["log_loss"] == pytest.approx(log_loss(y_true, probs, labels=labels), rel=1e-5)
    preds = pd.read_csv(run_dir / "predictions.csv")
    np.testing.assert_allclose(preds[[f"prob_{c}" for c in labels]].to_numpy(), probs, atol=1e-5)
    if "customer_id" in preds.columns:
        assert preds["customer_id"].tolist() == test["customer_id"].tolist()
    return doc


def check_predict(model: Path, data_file: Path, out: Path, probs: np.ndarray, labels: list[str], capsys,
                  extra=()) -> None:
    rc, _, err = run(["predict", "--quiet", "--model", model, "--data", data_file, "--id-col", "customer_id",
                      "--out", out, *extra], capsys)
    assert rc == 0, err
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["customer_id", "predicted_label", "confidence", *[f"prob_{c}" for c in labels]]
    np.testing.assert_allclose(frame[[f"prob_{c}" for c in labels]].to_numpy(), probs, atol=1e-5)
    np.testing.assert_allclose(frame["confidence"].to_numpy(), probs.max(axis=1), atol=1e-5)
    assert frame["predicted_label"].astype(str).tolist() == [labels[i] for i in probs.argmax(axis=1)]


# ---------------------------------------------------------------- Keras


def test_keras_evaluate_predict_and_learning_curves(keras_model, data, capsys, tmp_path):
    d = data["dir"]
    out = tmp_path / "run"
    rc, _, err = run(["evaluate", "--quiet", "--model", keras_model["path"], "--data", d / "d.csv", "--label-col",
                      "churn", "--id-col", "customer_id", "--pos-label", "yes", "--out", out], capsys)
    assert rc == 0, err
    check_against_oracle(out, data["test"], keras_model["probs"], ["no", "yes"], "yes")
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["model_kind"] == "keras" and info["model"] == str(keras_model["path"])
    assert info["feature_columns"] == FEATURES and info["model_info"]
    assert Path(info["history"]).name == "history.json"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="learning-curves"' in html
    curves = pd.read_csv(out / "tables" / "learning_curves.csv")
    assert len(curves) == len(keras_model["history"]["loss"])
    np.testing.assert_allclose(curves["train_loss"].to_numpy(), keras_model["history"]["loss"], rtol=1e-6)
    # predict: the same probabilities; without names for its outputs the model's classes are 0 and 1
    check_predict(keras_model["path"], d / "d.csv", tmp_path / "p.csv", keras_model["probs"], ["0", "1"], capsys,
                  extra=["--drop-col", "churn"])


def test_keras_unnamed_classes_need_pos_label(keras_model, data, capsys, tmp_path):
    rc, _, err = run(["evaluate", "--quiet", "--model", keras_model["path"], "--data", data["dir"] / "d.csv",
                      "--label-col", "churn", "--id-col", "customer_id", "--out", tmp_path / "run"], capsys)
    assert rc == 3 and "--pos-label" in err and "no, yes" in err and "'churn'" in err, err
    assert not (tmp_path / "run").exists()


def test_keras_column_count_mismatch_names_the_columns(keras_model, data, capsys, tmp_path):
    rc, _, err = run(["evaluate", "--quiet", "--model", keras_model["path"], "--data", data["dir"] / "mixed.csv",
                      "--label-col", "churn", "--pos-label", "yes", "--out", tmp_path / "run"], capsys)
    assert rc == 3, err
    assert "takes 4 inputs" in err and "customer_id" in err and "plan" in err and "--feature-cols" in err
    assert not (tmp_path / "run").exists()
    # named inputs pick the model's columns out of a wider table
    check_predict(keras_model["path"], data["dir"] / "mixed.csv", tmp_path / "p.csv", keras_model["probs"],
                  ["0", "1"], capsys, extra=["--feature-cols", ",".join(FEATURES)])


def test_keras_refusals(keras_model, data, capsys, tmp_path):
    keras = keras_model["keras"]
    lam = keras.Sequential([keras.Input((len(FEATURES),)), keras.layers.Lambda(lambda t: t * 2.0),
                            keras.layers.Dense(1, activation="sigmoid")])
    lam.save(tmp_path / "lambda.keras")
    keras_model["model"].save(tmp_path / "legacy.h5")
    for model, words in ((tmp_path / "lambda.keras", ("Lambda", "--allow-unsafe")),
                         (tmp_path / "legacy.h5", ("h5", "--allow-unsafe"))):
        out = tmp_path / f"run-{model.stem}"
        rc, _, err = run(["evaluate", "--quiet", "--model", model, "--data", data["dir"] / "d.csv", "--label-col",
                          "churn", "--id-col", "customer_id", "--pos-label", "yes", "--out", out], capsys)
        assert rc == 4, err
        for word in words:
            assert word in err, (word, err)
        assert not out.exists()
    # options of other inputs are refused by name, before the model is loaded
    rc, _, err = run(["evaluate", "--quiet", "--model", keras_model["path"], "--data", data["dir"] / "d.csv",
                      "--label-col", "churn", "--max-length", "64", "--chunk-rows", "10", "--out", tmp_path / "x"],
                     capsys)
    assert rc == 2 and "--max-length" in err and "--chunk-rows" in err and "Keras" in err, err
    rc, _, err = run(["evaluate", "--quiet", "--model", keras_model["path"], "--data", data["dir"] / "d.csv",
                      "--label-col", "churn", "--trust", "a.B", "--out", tmp_path / "x"], capsys)
    assert rc == 2 and "--trust" in err, err
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- skops / scikit-learn


def test_skops_pipeline_evaluate_and_predict(skops_model, data, capsys, tmp_path):
    d = data["dir"]
    out = tmp_path / "run"
    history = tmp_path / "training.json"  # a modelqa history.json of the model's training, given with --history
    history.write_text(json.dumps([{"epoch": 1, "train_loss": 0.69, "val_loss": 0.70},
                                   {"epoch": 2, "train_loss": 0.52, "val_loss": 0.58},
                                   {"epoch": 3, "train_loss": 0.44, "val_loss": 0.55}]), encoding="utf-8")
    base = ["evaluate", "--quiet", "--model", skops_model["path"], "--data", d / "mixed.csv", "--label-col", "churn",
            "--id-col", "customer_id"]
    (tmp_path / "bad.json").write_text('{"nothing": "here"}', encoding="utf-8")
    rc, _, err = run([*base, "--history", tmp_path / "bad.json", "--out", tmp_path / "bad"], capsys)
    assert rc == 3 and "bad.json" in err and not (tmp_path / "bad").exists(), err
    rc, _, err = run([*base, "--history", history, "--out", out], capsys)
    assert rc == 0, err
    check_against_oracle(out, data["test"], skops_model["probs"], skops_model["labels"], "yes")
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["model_kind"] == "skops" and info["feature_columns"] == [*FEATURES, "plan"]
    assert info["history"] == str(history) and info["model_info"]["kind"] == "skops"
    curves = pd.read_csv(out / "tables" / "learning_curves.csv")
    np.testing.assert_allclose(curves["val_loss"].to_numpy(), [0.70, 0.58, 0.55])
    check_predict(skops_model["path"], d / "mixed.csv", tmp_path / "p.csv", skops_model["probs"],
                  skops_model["labels"], capsys)


def test_skops_refusals(data, capsys, tmp_path):
    import joblib
    import skops.io as sio
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(data["train"][FEATURES], data["train"]["churn"])
    sio.dump(tree, tmp_path / "tree.skops")
    joblib.dump(tree, tmp_path / "tree.pkl")
    base = ["evaluate", "--quiet", "--data", data["dir"] / "d.csv", "--label-col", "churn", "--id-col", "customer_id"]
    cases = ((tmp_path / "tree.skops", ("sklearn.tree._tree.Tree", "--trust")),
             (tmp_path / "tree.pkl", ("pickle", "--allow-pickle")))
    for model, words in cases:
        out = tmp_path / f"run-{model.suffix[1:]}"
        rc, _, err = run([*base, "--model", model, "--out", out], capsys)
        assert rc == 4, err
        for word in words:
            assert word in err, (word, err)
        assert not out.exists()
    # the opt-ins, when given, load them; the numbers are the tree's own
    probs = tree.predict_proba(data["test"][FEATURES])
    for model, opt in ((tmp_path / "tree.skops", ["--trust", "sklearn.tree._tree.Tree"]),
                       (tmp_path / "tree.pkl", ["--allow-pickle"])):
        check_predict(model, data["dir"] / "d.csv", tmp_path / f"ok-{model.suffix[1:]}.csv", probs, ["no", "yes"],
                      capsys, extra=[*opt, "--drop-col", "churn"])
    # an opt-in of another kind of model is refused by name
    rc, _, err = run([*base, "--model", tmp_path / "tree.pkl", "--allow-unsafe", "--out", tmp_path / "x"], capsys)
    assert rc == 2 and "--allow-unsafe" in err, err


# ---------------------------------------------------------------- ONNX


def test_onnx_evaluate_and_predict(onnx_model, data, capsys, tmp_path):
    d = data["dir"]
    out = tmp_path / "run"
    rc, _, err = run(["evaluate", "--quiet", "--model", onnx_model["path"], "--data", d / "mixed.csv",
                      "--label-col", "churn", "--id-col", "customer_id", "--scores", "logits", "--out", out], capsys)
    assert rc == 0, err
    check_against_oracle(out, data["test"], onnx_model["probs"], ["no", "yes"], "yes")
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["model_kind"] == "onnx" and info["feature_columns"] == FEATURES
    check_predict(onnx_model["path"], d / "mixed.csv", tmp_path / "p.csv", onnx_model["probs"], ["no", "yes"],
                  capsys, extra=["--scores", "logits"])
    # without --scores logits the outputs are checked as probabilities, and they are not
    rc, _, err = run(["evaluate", "--quiet", "--model", onnx_model["path"], "--data", d / "mixed.csv",
                      "--label-col", "churn", "--out", tmp_path / "bad"], capsys)
    assert rc == 4 and "--scores" in err and "logits" in err, err
    assert not (tmp_path / "bad").exists()
    # a text model's option with a model of columns
    rc, _, err = run(["predict", "--quiet", "--model", onnx_model["path"], "--data", d / "mixed.csv",
                      "--max-length", "32", "--out", tmp_path / "p2.csv"], capsys)
    assert rc == 2 and "--max-length" in err, err


# ---------------------------------------------------------------- modelqa inspect


def inspect(model, capsys) -> dict:
    rc, out, err = run(["inspect", model, "--format", "json"], capsys)
    assert rc == 0, err
    doc = json.loads(out)
    rc, table, err = run(["inspect", model], capsys)
    assert rc == 0, err
    assert doc["kind"] in table and str(model) in table
    doc["table"] = table
    return doc


def test_inspect_every_kind(keras_model, skops_model, onnx_model, data, tiny_model, capsys, tmp_path):
    keras_doc = inspect(keras_model["path"], capsys)
    assert keras_doc["kind"] == "keras" and keras_doc["unsafe"] is None and keras_doc["loadable"]
    skops_doc = inspect(skops_model["path"], capsys)
    assert skops_doc["kind"] == "skops" and skops_doc["labels"] == ["no", "yes"] and skops_doc["task"] == "binary"
    assert skops_doc["feature_columns"] == [*FEATURES, "plan"]
    onnx_doc = inspect(onnx_model["path"], capsys)
    assert onnx_doc["kind"] == "onnx" and onnx_doc["labels"] == ["no", "yes"]
    assert onnx_doc["feature_columns"] == FEATURES and onnx_doc["size_bytes"] == onnx_model["path"].stat().st_size

    hf = inspect(tiny_model, capsys)
    assert hf["kind"] == "hf" and hf["labels"] == ["neg", "neu", "pos"] and hf["task"] == "multiclass"
    assert hf["details"]["architecture"] == "BertForSequenceClassification" and hf["unsafe"] is None
    assert hf["details"]["max_position_embeddings"] == 128 and "tokenizer.json" in hf["details"]["tokenizer"]
    assert hf["details"]["fp32_cpu_runtime"].startswith("modelqa's BERT")

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_model, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")  # never read: inspect runs nothing
    doc = inspect(pickled, capsys)
    assert doc["kind"] == "hf" and "--allow-pickle" in doc["unsafe"] and "needs an opt-in" in doc["table"]

    tf = tmp_path / "tf"
    shutil.copytree(tiny_model, tf)
    (tf / "model.safetensors").rename(tf / "tf_model.h5")
    doc = inspect(tf, capsys)
    assert doc["kind"] == "hf-tf" and doc["loadable"] is False and "from_tf=True" in doc["table"]
    pd.DataFrame({"text": ["good", "bad"], "label": ["pos", "neg"]}).to_csv(tmp_path / "t.csv", index=False)
    rc, _, err = run(["evaluate", "--quiet", "--model", tf, "--data", tmp_path / "t.csv", "--out",
                      tmp_path / "tf-run"], capsys)
    assert rc == 4 and "TensorFlow" in err and "from_tf=True" in err and "BertForSequenceClassification" in err, err
    assert "pickle" not in err and not (tmp_path / "tf-run").exists()

    from modelqa.api.tabular import train_tabular

    train_tabular(data=data["train"].drop(columns=["customer_id"]), target="churn", out=tmp_path / "tab",
                  evaluate_test=False, hidden="8", epochs=2, patience=2)
    doc = inspect(tmp_path / "tab", capsys)
    assert doc["kind"] == "tabular" and doc["labels"] == ["no", "yes"] and doc["task"] == "binary"
    assert set(doc["feature_columns"]) == {*FEATURES, "plan"}

    rc, _, err = run(["inspect", data["dir"] / "d.csv"], capsys)
    assert rc == 4 and "not a model modelqa reads" in err and ".keras" in err and ".skops" in err, err
    rc, _, err = run(["inspect", tmp_path / "nothing-here"], capsys)
    assert rc == 4 and "does not exist" in err, err


def test_model_file_options_are_refused_for_other_inputs(tiny_model, capsys, tmp_path):
    pd.DataFrame({"text": ["good", "bad"], "label": ["pos", "neg"], "prob_neg": [0.2, 0.7],
                  "prob_pos": [0.8, 0.3]}).to_csv(tmp_path / "t.csv", index=False)
    cases = ((["evaluate", "--model", tiny_model, "--data", tmp_path / "t.csv", "--feature-cols", "a,b"],
              ["--feature-cols", "text model"]),
             (["evaluate", "--model", tiny_model, "--data", tmp_path / "t.csv", "--allow-unsafe"],
              ["--allow-unsafe", "text model"]),
             (["evaluate", "--predictions", tmp_path / "t.csv", "--history", tmp_path / "t.csv", "--drop-col", "x"],
              ["--drop-col", "--history", "--predictions"]),
             (["predict", "--model", tiny_model, "--data", tmp_path / "t.csv", "--scores", "logits", "--trust", "a.B"],
              ["--scores", "--trust", "text model"]))
    for argv, words in cases:
        out = tmp_path / "out"
        rc, _, err = run([*argv, "--quiet", "--out", out if argv[0] == "evaluate" else tmp_path / "p.csv"], capsys)
        assert rc == 2, (argv, err)
        for word in words:
            assert word in err, (word, err)
        assert not out.exists() and not (tmp_path / "p.csv").exists()
