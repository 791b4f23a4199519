"""ONNX models as ``--model``: tabular ``.onnx`` files (torch MLPs exported with torch.onnx, a
skl2onnx-style ZipMap classifier built from a fitted scikit-learn model) and text folders
(the tiny BERT exported beside its tokenizer). Every prediction is checked against
onnxruntime's (or torch's, or scikit-learn's) own numbers, every metric against scikit-learn,
and external data that leaves the model's folder is refused before anything runs."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install \"modelqa[onnx]\")")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

from modelqa.adapters.onnx_model import describe_onnx, load_onnx_model, onnx_kind  # noqa: E402
from modelqa.adapters.onnx_safety import check_external_data, external_refs  # noqa: E402
from modelqa.adapters.onnx_text import load_onnx_text_classifier  # noqa: E402
from modelqa.errors import DataError, ModelError, UsageError  # noqa: E402

FEATURES = ["age", "income", "score", "noise"]
CLASSES = ["low", "mid", "high"]


def make_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features, a 3-class label (a linear rule) and a regression target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    z = 1.5 * x[:, 0] - 1.0 * x[:, 1] + 0.5 * x[:, 2]
    y = np.digitize(z, [-0.7, 0.7])
    target = 2.0 * x[:, 0] + x[:, 2] - 0.5 * x[:, 1] + 0.1 * rng.normal(size=n)
    return pd.DataFrame(x, columns=FEATURES), y, target.astype(np.float32)


def train_mlp(out: int, head: str, *, seed: int = 0, dtype=None):
    """A 4-16-out MLP trained 60 Adam steps on the generated table (head: softmax, logits, linear)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 4-16-3 net: more threads only add synchronisation
    try:
        return _train(torch, out, head, seed, dtype)
    finally:
        torch.set_num_threads(threads)


def _train(torch, out, head, seed, dtype):
    torch.manual_seed(seed)
    frame, y, target = make_table(256, seed)
    x = torch.tensor(frame.to_numpy())
    layers = [torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, out)]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        pred = net(x)
        if out == 1:
            loss = torch.nn.functional.mse_loss(pred[:, 0], torch.tensor(target))
        else:
            loss = torch.nn.functional.cross_entropy(pred, torch.tensor(y))
        loss.backward()
        opt.step()
    model = torch.nn.Sequential(net, torch.nn.Softmax(dim=1)) if head == "softmax" else net
    model = model.eval()
    return model.double() if dtype == "double" else model


def export(model, path, *, output: str, meta: dict | None = None, dtype=np.float32):
    """torch.onnx.export with a dynamic batch axis, then metadata_props set with onnx.helper."""
    import torch

    example = torch.zeros(2, 4, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), input_names=["features"], output_names=[output],
                          dynamic_axes={"features": {0: "batch"}, output: {0: "batch"}}, opset_version=17,
                          dynamo=False)
    if meta:
        proto = onnx.load(str(path))
        onnx.helper.set_model_props(proto, {k: json.dumps(v) for k, v in meta.items()})
        onnx.save(proto, str(path))
    return path


def ort_run(path, x: np.ndarray) -> np.ndarray:
    """The oracle: onnxruntime's own session on the matrix, in the model's feature order."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx_tabular")
    probs_model, logits_model, reg_model = train_mlp(3, "softmax"), train_mlp(3, "logits", seed=1), train_mlp(1, "linear")
    return {
        "probs": export(probs_model, d / "probs.onnx", output="probabilities",
                        meta={"feature_columns": FEATURES, "labels": CLASSES}),
        "bare": export(probs_model, d / "bare.onnx", output="probabilities"),
        "logits": export(logits_model, d / "logits.onnx", output="logits", meta={"feature_columns": FEATURES}),
        "reg": export(reg_model, d / "reg.onnx", output="value", meta={"feature_columns": FEATURES}),
        "double": export(train_mlp(3, "softmax", seed=2, dtype="double"), d / "double.onnx", output="probs",
                         dtype=np.float64),
        "torch_probs": probs_model,
        "dir": d,
    }


def test_onnx_kind(models, tmp_path):
    assert onnx_kind(models["probs"]) == "onnx"
    assert onnx_kind(models["dir"]) is None          # a folder of .onnx files is no text model
    (tmp_path / "x.csv").write_text("a\n1\n")
    assert onnx_kind(tmp_path / "x.csv") is None
    assert onnx_kind(None) is None


def test_describe_without_running(models):
    desc = describe_onnx(models["probs"])
    assert desc.kind == "onnx" and desc.task == "multiclass" and desc.labels == CLASSES
    assert desc.feature_columns == FEATURES
    assert desc.unsafe is None and desc.loadable
    assert desc.size_bytes == os.path.getsize(models["probs"])
    assert desc.details["opset"]["ai.onnx"] == 17
    assert desc.details["producer"].startswith("pytorch")
    assert desc.details["inputs"] == ["features float[batch, 4]"]
    assert desc.details["output"] == "probabilities"
    assert json.loads(desc.details["metadata_props"]["labels"]) == CLASSES
    bare = describe_onnx(models["bare"])
    assert bare.labels == ["0", "1", "2"] and bare.feature_columns is None
    reg = describe_onnx(models["reg"])
    assert reg.task == "regression" and reg.labels is None


def test_probabilities_equal_onnxruntime_and_torch(models):
    import torch

    frame, _, _ = make_table(300, seed=7)
    model = load_onnx_model(models["probs"])
    assert (model.kind, model.task, model.input_kind) == ("onnx", "classification", "features")
    assert model.labels == CLASSES and model.feature_columns == FEATURES and model.n_features == 4
    out = model.predict(frame)
    expected = ort_run(models["probs"], frame[FEATURES].to_numpy(np.float32))
    np.testing.assert_allclose(out.probs, expected, rtol=0, atol=1e-7)
    with torch.no_grad():
        ref = models["torch_probs"](torch.tensor(frame.to_numpy(np.float32))).numpy()
    np.testing.assert_allclose(out.probs, ref, atol=1e-5)
    assert (out.predicted_ids() == expected.argmax(axis=1)).all()
    assert out.values is None


def test_feature_order_follows_the_model_not_the_frame(models):
    frame, _, _ = make_table(50, seed=8)
    shuffled = frame[["score", "noise", "age", "income"]].assign(extra=1.0)
    base = load_onnx_model(models["probs"]).predict(frame).probs
    np.testing.assert_array_equal(load_onnx_model(models["probs"]).predict(shuffled).probs, base)
    # No metadata: the caller's feature_cols give the order, and the frame's column order does not matter.
    named = load_onnx_model(models["bare"], feature_cols=FEATURES)
    assert named.feature_columns == FEATURES
    np.testing.assert_array_equal(named.predict(shuffled).probs, base)
    # Renamed columns in another order map to other tensor positions: other numbers.
    other = load_onnx_model(models["bare"], feature_cols=["income", "age", "score", "noise"])
    assert not np.allclose(other.predict(shuffled).probs, base)
    bare = load_onnx_model(models["bare"])
    assert bare.feature_columns is None and bare.n_features == 4
    np.testing.assert_array_equal(bare.predict(frame).probs, base)
    with pytest.raises(DataError, match="takes 4 input columns, but the data gives 5"):
        bare.predict(shuffled)
    with pytest.raises(DataError, match="'age'"):
        load_onnx_model(models["probs"]).predict(frame.drop(columns=["age"]).assign(x=1.0, y=2.0))
    with pytest.raises(UsageError, match="`feature_cols` names 3 columns but .* takes 4"):
        load_onnx_model(models["bare"], feature_cols=FEATURES[:3])


def test_logits_output(models):
    frame, y, _ = make_table(120, seed=9)
    raw = ort_run(models["logits"], frame.to_numpy(np.float32))
    model = load_onnx_model(models["logits"], scores="logits", labels=CLASSES)
    probs = model.predict(frame).probs
    np.testing.assert_allclose(probs, softmax(raw), atol=1e-12)
    assert skm.accuracy_score(y, probs.argmax(axis=1)) > 0.7   # it did learn the rule
    with pytest.raises(ModelError, match="not probabilities"):
        load_onnx_model(models["logits"]).predict(frame)
    with pytest.raises(UsageError, match="`labels` names 2 classes"):
        load_onnx_model(models["logits"], labels=["a", "b"])


def test_regression_and_single_unit_binary(models):
    frame, _, target = make_table(80, seed=10)
    raw = ort_run(models["reg"], frame.to_numpy(np.float32))[:, 0]
    model = load_onnx_model(models["reg"])
    assert model.task == "regression" and model.labels is None
    out = model.predict(frame)
    np.testing.assert_array_equal(out.values, raw.astype(np.float64))
    assert out.probs is None and skm.r2_score(target, out.values) > 0.8
    binary = load_onnx_model(models["reg"], labels=["no", "yes"], scores="logits")
    assert binary.task == "classification" and binary.labels == ["no", "yes"]
    p = binary.predict(frame).probs
    np.testing.assert_allclose(p[:, 1], 1.0 / (1.0 + np.exp(-raw.astype(np.float64))), atol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    with pytest.raises(UsageError, match="one output"):
        load_onnx_model(models["reg"], labels=["a", "b", "c"])


def test_float64_input_is_cast_to_the_declared_dtype(models):
    frame, _, _ = make_table(40, seed=11)
    model = load_onnx_model(models["double"])
    assert model.input.dtype == "double"
    expected = ort_run(models["double"], frame.to_numpy(np.float64))
    np.testing.assert_array_equal(model.predict(frame.astype(np.float32)).probs, expected)


def zipmap_classifier(path, clf):
    """What skl2onnx writes for a LogisticRegression: LinearClassifier + ZipMap (ai.onnx.ml)."""
    from onnx import TensorProto, helper

    names = [str(c) for c in clf.classes_]
    lin = helper.make_node("LinearClassifier", ["X"], ["label", "probability_tensor"], domain="ai.onnx.ml",
                           coefficients=clf.coef_.astype(np.float32).ravel().tolist(),
                           intercepts=clf.intercept_.astype(np.float32).tolist(), classlabels_strings=names,
                           multi_class=1, post_transform="SOFTMAX")
    zm = helper.make_node("ZipMap", ["probability_tensor"], ["output_probability"], domain="ai.onnx.ml",
                          classlabels_strings=names)
    ident = helper.make_node("Identity", ["label"], ["output_label"])
    seq = helper.make_value_info("output_probability", helper.make_sequence_type_proto(
        helper.make_map_type_proto(TensorProto.STRING, helper.make_tensor_type_proto(TensorProto.FLOAT, []))))
    graph = helper.make_graph([lin, zm, ident], "logreg",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                              [helper.make_tensor_value_info("output_label", TensorProto.STRING, [None]), seq])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
                              producer_name="skl2onnx-style")
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_zipmap_output_of_a_scikit_learn_classifier(tmp_path):
    from sklearn.linear_model import LogisticRegression

    frame, y, _ = make_table(200, seed=12)
    names = np.array(CLASSES)[y]
    clf = LogisticRegression(max_iter=500).fit(frame.to_numpy(), names)
    path = zipmap_classifier(tmp_path / "logreg.onnx", clf)
    desc = describe_onnx(path)
    assert desc.details["output"] == "output_probability" and desc.labels == sorted(CLASSES)
    model = load_onnx_model(path)
    assert model.labels == list(clf.classes_) and model.info["output_form"] == "zipmap"
    test, _, _ = make_table(60, seed=13)
    probs = model.predict(test).probs
    np.testing.assert_allclose(probs, clf.predict_proba(test.to_numpy()), atol=1e-5)


# --- external data: only files inside the model's folder ------------------------------------


def external_copy(src, folder, *, location="weights.bin"):
    """``folder/model.onnx`` with every initializer in ``folder/<location>``."""
    (folder / location).parent.mkdir(parents=True, exist_ok=True)
    proto = onnx.load(str(src))
    onnx.save_model(proto, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)
    return folder / "model.onnx"


def point_to(model_file, location: str):
    """Rewrite every external ``location`` of ``model_file`` (the data itself is not touched)."""
    proto = onnx.load(str(model_file), load_external_data=False)
    for t in proto.graph.initializer:
        for entry in t.external_data:
            if entry.key == "location":
                entry.value = location
    model_file.write_bytes(proto.SerializeToString())
    return external_refs(proto)[0].tensor


def test_external_data_inside_the_folder_loads(models, tmp_path):
    path = external_copy(models["probs"], tmp_path / "m", location="data/weights.bin")
    desc = describe_onnx(path)
    assert desc.unsafe is None and desc.loadable and desc.details["external_data"] == ["data/weights.bin"]
    assert desc.size_bytes == os.path.getsize(path) + os.path.getsize(tmp_path / "m" / "data" / "weights.bin")
    frame, _, _ = make_table(30, seed=14)
    np.testing.assert_array_equal(load_onnx_model(path).predict(frame).probs,
                                  load_onnx_model(models["probs"]).predict(frame).probs)


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink", "symlinked_folder", "missing"])
def test_external_data_outside_the_folder_is_refused(models, tmp_path, case):
    path = external_copy(models["probs"], tmp_path / "m")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.move(tmp_path / "m" / "weights.bin", outside / "x.bin")
    if case == "dotdot":
        location, why = "../outside/x.bin", "climbs out with '..'"
    elif case == "absolute":
        location, why = str(outside / "x.bin"), "is an absolute path"
    elif case == "symlink":
        os.symlink(outside / "x.bin", tmp_path / "m" / "weights.bin")
        location, why = "weights.bin", "symbolic link"
    elif case == "symlinked_folder":
        os.symlink(outside, tmp_path / "m" / "sub")
        location, why = "sub/x.bin", "symbolic link"
    else:
        location, why = "weights.bin", "does not exist"
    tensor = point_to(path, location)
    with pytest.raises(ModelError, match=why) as err:
        load_onnx_model(path)
    assert repr(tensor) in err.value.message and location in err.value.message
    desc = describe_onnx(path)
    assert not desc.loadable and why in desc.unsafe and tensor in desc.unsafe
    with pytest.raises(ModelError, match=why):
        check_external_data(onnx.load(str(path), load_external_data=False), path.parent)


# --- ONNX text folders ------------------------------------------------------------------------

TEXT_ROWS = [
    ("a great film, I loved it", "pos"), ("terrible acting, boring plot", "neg"), ("okay", "neu"),
    ("wonderful happy day", "pos"), ("bad", "neg"), ("table chair window", "neu"),
    ("정말 재미없는 영화였다", "neg"), (" ".join(["tokens"] * 300), "pos"), ("meh meh meh", "neu"),
    ("I hate this, awful", "neg"), ("love it", "pos"), ("paper door street", "neu"),
]


def export_text_folder(hf_folder, out):
    """The tiny BERT exported with torch.onnx to ``out/model.onnx`` beside its tokenizer and
    config.json (no torch weights), as Optimum lays a folder out."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(hf_folder).eval()

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).logits

    out.mkdir(parents=True)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = (torch.randint(5, 100, (2, 8)), torch.ones(2, 8, dtype=torch.long), torch.zeros(2, 8, dtype=torch.long))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Logits().eval(), example, str(out / "model.onnx"), input_names=names,
                          output_names=["logits"], dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names},
                                                                 "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    for f in hf_folder.iterdir():
        if f.is_file() and not f.name.endswith(".safetensors"):
            shutil.copy(f, out / f.name)
    return out


@pytest.fixture(scope="module")
def text_folder(tiny_model, tmp_path_factory):
    return export_text_folder(tiny_model, tmp_path_factory.mktemp("onnx_text") / "tiny-onnx")


def torch_probs(hf_folder, texts):
    """The oracle: the torch model, one text at a time."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(hf_folder)
    model = AutoModelForSequenceClassification.from_pretrained(hf_folder).eval()
    with torch.no_grad():
        return np.vstack([torch.softmax(model(**tok(t, truncation=True, max_length=128, return_tensors="pt"))
                                        .logits[0].double(), dim=-1).numpy() for t in texts])


def test_text_folder_is_recognised_and_described(text_folder, tiny_model):
    assert onnx_kind(text_folder) == "onnx-text"
    assert onnx_kind(tiny_model) is None                      # safetensors: a torch folder
    desc = describe_onnx(text_folder)
    assert desc.kind == "onnx-text" and desc.task == "multiclass" and desc.labels == ["neg", "neu", "pos"]
    assert desc.loadable and desc.unsafe is None
    clf = load_onnx_text_classifier(text_folder)
    assert clf.model is None and clf.device == "cpu" and clf.labels == ["neg", "neu", "pos"]
    assert clf.max_length == 128 and clf.label2id == {"neg": 0, "neu": 1, "pos": 2}


def test_evaluate_text_folder_matches_torch_and_scikit_learn(text_folder, tiny_model, tmp_path):
    from modelqa import evaluate

    data = tmp_path / "test.csv"
    pd.DataFrame(TEXT_ROWS, columns=["text", "label"]).to_csv(data, index=False)
    ev = evaluate(model=text_folder, data=data, batch_size=4, out=tmp_path / "run")
    assert (tmp_path / "run" / "metrics.json").is_file() and not (tmp_path / "run" / ".partial").exists()
    cols = ["prob_neg", "prob_neu", "prob_pos"]
    probs = ev.predictions[cols].to_numpy(np.float64)
    np.testing.assert_allclose(probs, torch_probs(tiny_model, [t for t, _ in TEXT_ROWS]), atol=1e-4)
    y_true = [lab for _, lab in TEXT_ROWS]
    y_pred = np.array(["neg", "neu", "pos"])[probs.argmax(axis=1)]
    assert ev.predictions["predicted_label"].tolist() == y_pred.tolist()
    m = ev.metrics
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))
    exact = probs / probs.sum(axis=1, keepdims=True)  # the csv's float32 rows, summing to 1 in float64
    assert m["log_loss"] == pytest.approx(skm.log_loss(y_true, exact, labels=["neg", "neu", "pos"]), abs=1e-6)
    assert ev.run_info["truncated"] == 1


def test_text_folder_in_an_onnx_subfolder(text_folder, tiny_model, tmp_path):
    folder = shutil.copytree(text_folder, tmp_path / "optimum")
    (folder / "onnx").mkdir()
    shutil.move(folder / "model.onnx", folder / "onnx" / "model.onnx")
    assert onnx_kind(folder) == "onnx-text"
    from modelqa.api.predict import predict

    data = tmp_path / "texts.csv"
    pd.DataFrame({"text": [t for t, _ in TEXT_ROWS[:5]]}).to_csv(data, index=False)
    frame = predict(model=folder, data=data, out=tmp_path / "predictions.csv")
    assert (tmp_path / "predictions.csv").is_file()
    np.testing.assert_allclose(frame[["prob_neg", "prob_neu", "prob_pos"]].to_numpy(np.float64),
                               torch_probs(tiny_model, [t for t, _ in TEXT_ROWS[:5]]), atol=1e-4)


@pytest.mark.parametrize("option", [{"quantize": "int8"}, {"precision": "bf16"}, {"engine": "ray"},
                                    {"device": "cuda"}])
def test_text_folder_refuses_torch_only_options(text_folder, tmp_path, option):
    from modelqa.api.predict import predict

    data = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["good", "bad"]}).to_csv(data, index=False)
    with pytest.raises(UsageError, match="ONNX model"):
        predict(model=text_folder, data=data, **option)


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink"])
def test_cli_refuses_text_folder_with_outside_external_data(text_folder, tmp_path, capsys, case):
    from modelqa.cli.main import main

    folder = shutil.copytree(text_folder, tmp_path / "model")
    external_copy(text_folder / "model.onnx", folder, location="model.onnx.data")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.move(folder / "model.onnx.data", outside / "x.bin")
    if case == "dotdot":
        location = "../outside/x.bin"
    elif case == "absolute":
        location = str(outside / "x.bin")
    else:
        os.symlink(outside / "x.bin", folder / "model.onnx.data")
        location = "model.onnx.data"
    tensor = point_to(folder / "model.onnx", location)
    data = tmp_path / "test.csv"
    pd.DataFrame(TEXT_ROWS, columns=["text", "label"]).to_csv(data, index=False)
    out = tmp_path / "run"
    rc = main(["evaluate", "--quiet", "--model", str(folder), "--data", str(data), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 4, err
    assert tensor in err and location in err and "external data" in err
    assert not out.exists()
