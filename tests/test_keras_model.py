"""Keras 3 models as --model: describe from the config, load on the torch backend, predict as
``model.predict`` does, refuse what safe_mode does not protect, run TextVectorization without
TensorFlow (against TensorFlow's own outputs, tests/data/keras/), find the training history."""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
from scipy.special import expit, softmax  # noqa: E402

from modelqa.adapters.keras_model import (  # noqa: E402
    describe_keras,
    is_keras_file,
    keras_history,
    keras_kind,
    load_keras_model,
)
from modelqa.adapters.keras_text import find_text_vectorization, vectorizer_from_config  # noqa: E402
from modelqa.analysis.history import read_history  # noqa: E402
from modelqa.errors import DataError, ModelError, UsageError  # noqa: E402

DATA = Path(__file__).parent / "data" / "keras"
N_FEATURES = 5
COLUMNS = [f"f{i}" for i in range(N_FEATURES)]


@pytest.fixture(scope="module")
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, N_FEATURES)).astype("float32")
    score = x[:, 0] + 0.5 * x[:, 1] - x[:, 2]
    return x, score


def _frame(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(x, columns=COLUMNS)


def _mlp(head: list, *, loss: str, x, y, epochs: int = 3, **fit):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((N_FEATURES,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.1), *head])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=loss)
    history = model.fit(x, y, epochs=epochs, batch_size=50, verbose=0, **fit)
    return model, history


@pytest.fixture(scope="module")
def models(tmp_path_factory, xy):
    """Small trained models, each saved as a .keras archive the way users save them."""
    x, score = xy
    root = tmp_path_factory.mktemp("keras")
    y_bin = (score > 0).astype("int64")
    y_multi = np.digitize(score, [-0.7, 0.7]).astype("int64")
    out = {}
    ckpt = root / "ckpt"
    ckpt.mkdir()
    cb = keras.callbacks.ModelCheckpoint(str(ckpt / "best_model.keras"), monitor="val_loss", save_best_only=True)
    model, history = _mlp([keras.layers.Dense(1, activation="sigmoid")], loss="binary_crossentropy", x=x,
                          y=y_bin, validation_split=0.25, callbacks=[cb])
    (ckpt / "history.json").write_text(json.dumps(history.history), encoding="utf-8")
    # the checkpoint holds the best epoch's weights; the oracle is that file loaded by Keras itself
    out["binary"] = (ckpt / "best_model.keras", keras.saving.load_model(ckpt / "best_model.keras", compile=False))
    for name, head, loss, y in (
        ("multiclass", [keras.layers.Dense(3, activation="softmax")], "sparse_categorical_crossentropy", y_multi),
        ("regression", [keras.layers.Dense(1)], "mse", score),
        ("logits", [keras.layers.Dense(3)], keras.losses.SparseCategoricalCrossentropy(from_logits=True), y_multi),
        ("logit1", [keras.layers.Dense(1)], keras.losses.BinaryCrossentropy(from_logits=True), y_bin),
        ("activation", [keras.layers.Dense(2), keras.layers.Activation("softmax")],
         "sparse_categorical_crossentropy", y_bin),
    ):
        model, _ = _mlp(head, loss=loss, x=x, y=y, epochs=2)
        path = root / f"{name}.keras"
        model.save(path)
        out[name] = (path, model)
    return out


# --------------------------------------------------------------------------- describe and predict


@pytest.mark.parametrize("name,task,units,activation", [
    ("binary", "binary", 1, "sigmoid"), ("multiclass", "multiclass", 3, "softmax"),
    ("regression", "regression", 1, "linear"), ("logits", None, 3, "linear"), ("activation", "binary", 2, "softmax"),
])
def test_describe_reads_the_config_without_building(models, name, task, units, activation):
    path, _ = models[name]
    assert keras_kind(path) == "keras" and is_keras_file(path)
    d = describe_keras(path)
    assert (d.kind, d.task, d.unsafe, d.loadable) == ("keras", task, None, True)
    assert d.details["units"] == units and d.details["activation"] == activation
    assert d.details["keras_version"] == keras.__version__
    assert d.details["input_shape"] == [None, N_FEATURES] and d.inputs.startswith(f"{N_FEATURES} numeric inputs")
    assert d.size_bytes == path.stat().st_size
    assert d.labels == ({"binary": ["0", "1"], "multiclass": ["0", "1", "2"]}.get(task))


def test_binary_checkpoint_predicts_what_keras_predicts(models, xy):
    path, model = models["binary"]
    x, _ = xy
    m = load_keras_model(path, labels=["stay", "churn"])
    assert (m.kind, m.task, m.labels, m.input_kind, m.n_features, m.feature_columns) == \
        ("keras", "classification", ["stay", "churn"], "features", N_FEATURES, None)
    out = m.predict(_frame(x))
    p = model.predict(x, verbose=0)[:, 0]  # Keras' default batch of 32.astype(np.float64)
    np.testing.assert_allclose(out.probs[:, 1], p, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out.probs[:, 0], 1 - p, rtol=0, atol=1e-6)
    assert np.array_equal(out.predicted_ids(), (p > 0.5).astype(int))
    assert m.info["safe_mode"] is True and m.info["backend"] == "torch"


def test_multiclass_regression_and_softmax_layer(models, xy):
    x, _ = xy
    path, model = models["multiclass"]
    out = load_keras_model(path).predict(_frame(x))
    np.testing.assert_allclose(out.probs, model.predict(x, batch_size=len(x), verbose=0), atol=1e-6)
    path, model = models["regression"]
    m = load_keras_model(path)
    assert m.task == "regression" and m.labels is None
    np.testing.assert_allclose(m.predict(_frame(x)).values, model.predict(x, batch_size=len(x), verbose=0)[:, 0], atol=1e-6)
    path, model = models["activation"]
    m = load_keras_model(path)
    assert m.labels == ["0", "1"]
    np.testing.assert_allclose(m.predict(_frame(x)).probs, model.predict(x, batch_size=len(x), verbose=0), atol=1e-6)


def test_logits_heads(models, xy):
    x, _ = xy
    path, model = models["logits"]
    with pytest.raises(ModelError, match="scores=.*logits"):
        load_keras_model(path)
    out = load_keras_model(path, scores="logits").predict(_frame(x))
    np.testing.assert_allclose(out.probs, softmax(model.predict(x, batch_size=len(x), verbose=0).astype(np.float64), axis=1), atol=1e-6)
    path, model = models["logit1"]
    assert load_keras_model(path).task == "regression"  # one linear unit is a regressor unless told
    m = load_keras_model(path, scores="logits")
    assert m.labels == ["0", "1"]
    np.testing.assert_allclose(m.predict(_frame(x)).probs[:, 1], expit(model.predict(x, batch_size=len(x), verbose=0)[:, 0]), atol=1e-6)
    with pytest.raises(UsageError, match="already gives probabilities"):
        load_keras_model(models["multiclass"][0], scores="logits")


def test_labels_and_inputs_are_checked(models, xy):
    x, _ = xy
    with pytest.raises(UsageError, match="names 3 classes"):
        load_keras_model(models["binary"][0], labels=["a", "b", "c"])
    with pytest.raises(UsageError, match="regression"):
        load_keras_model(models["regression"][0], labels=["a", "b"])
    m = load_keras_model(models["multiclass"][0])
    with pytest.raises(ModelError, match=r"takes 5 inputs, the frame has 4 columns: f0, f1, f2, f3"):
        m.predict(_frame(x).iloc[:, :4])
    bad = _frame(x[:6]).astype(object)
    bad.loc[3, "f2"] = "n/a"
    with pytest.raises(DataError, match=r"column 'f2'.*row 4: 'n/a'"):
        m.predict(bad)
    assert m.predict(_frame(x[:0])).probs.shape == (0, 3)


def test_multi_label_and_one_unit_softmax_are_refused(tmp_path):
    for head, match in ((keras.layers.Dense(3, activation="sigmoid"), "multi-label"),
                        (keras.layers.Dense(1, activation="softmax"), "always 1")):
        model = keras.Sequential([keras.Input((2,)), head])
        model.save(tmp_path / "m.keras")
        with pytest.raises(ModelError, match=match):
            load_keras_model(tmp_path / "m.keras")


# --------------------------------------------------------------------------- refusals


def test_lambda_layer_is_refused_unless_allowed(tmp_path, xy):
    x, _ = xy
    model = keras.Sequential([keras.Input((N_FEATURES,)), keras.layers.Lambda(lambda t: t * 2.0),
                              keras.layers.Dense(1, activation="sigmoid")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    assert "Lambda layer" in describe_keras(path).unsafe
    with pytest.raises(ModelError, match="Lambda layer.*refuses") as exc:
        load_keras_model(path)
    assert exc.value.exit_code == 4 and "`allow_unsafe`" in exc.value.hint
    out = load_keras_model(path, allow_unsafe=True).predict(_frame(x))
    np.testing.assert_allclose(out.probs[:, 1], model.predict(x, batch_size=len(x), verbose=0)[:, 0], atol=1e-6)


def test_custom_layer_class_is_refused_unless_allowed(tmp_path, xy):
    x, _ = xy

    @keras.saving.register_keras_serializable(package="churnlib")
    class Doubler(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    model = keras.Sequential([keras.Input((N_FEATURES,)), Doubler(), keras.layers.Dense(2, activation="softmax")])
    path = tmp_path / "custom.keras"
    model.save(path)
    assert "churnlib>Doubler" in describe_keras(path).unsafe
    with pytest.raises(ModelError, match=r"not Keras built-ins \(churnlib>Doubler\)"):
        load_keras_model(path)
    out = load_keras_model(path, allow_unsafe=True).predict(_frame(x))  # registered in this process
    np.testing.assert_allclose(out.probs, model.predict(x, batch_size=len(x), verbose=0), atol=1e-6)


def test_h5_is_refused_by_default_and_loads_with_allow_unsafe(tmp_path, models, xy):
    x, _ = xy
    _, model = models["multiclass"]
    path = tmp_path / "model.h5"
    model.save(path)
    assert keras_kind(path) == "keras-h5"
    d = describe_keras(path)
    assert d.kind == "keras-h5" and d.task == "multiclass" and "CVE-2025-9905" in d.unsafe
    with pytest.raises(ModelError, match="CVE-2025-9905"):
        load_keras_model(path)
    m = load_keras_model(path, allow_unsafe=True)
    assert m.kind == "keras-h5" and m.info["safe_mode"] is False
    np.testing.assert_allclose(m.predict(_frame(x)).probs, model.predict(x, batch_size=len(x), verbose=0), atol=1e-6)
    not_h5 = tmp_path / "notes.h5"
    not_h5.write_text("not hdf5")
    assert keras_kind(not_h5) is None


def test_savedmodel_folder_cannot_be_read_even_with_allow_unsafe(tmp_path):
    folder = tmp_path / "exported"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"\x08\x01")
    assert keras_kind(folder) == "savedmodel" and is_keras_file(folder)
    assert describe_keras(folder).loadable is False
    for allow in (False, True):
        with pytest.raises(ModelError, match="CVE-2025-9905.*even with `allow_unsafe`") as exc:
            load_keras_model(folder, allow_unsafe=allow)
        assert "TensorFlow is installed" in exc.value.hint and ".save('exported.keras')" in exc.value.hint
    assert keras_kind(tmp_path / "missing.keras") is None
    assert not is_keras_file(tmp_path)


def test_keras_missing_or_on_another_backend(monkeypatch, models):
    path = models["binary"][0]
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ModelError, match="jax backend"):
        load_keras_model(path)
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "keras", None)
    with pytest.raises(UsageError) as exc:
        load_keras_model(path)
    assert exc.value.hint == 'pip install "modelqa[keras]"'


# --------------------------------------------------------------------------- TextVectorization


def _oracle() -> dict:
    return json.loads((DATA / "text_vectorization.json").read_text(encoding="utf-8"))["models"]


@pytest.mark.parametrize("name", ["text_vectorization", "tv_ngrams_multi_hot", "tv_characters", "tv_count"])
def test_text_vectorization_matches_tensorflow(name):
    spec = _oracle()[name]
    path = DATA / spec["file"]
    d = describe_keras(path)
    assert d.inputs.startswith("text (one column)") and d.task == "multiclass" and d.unsafe is None
    m = load_keras_model(path)
    assert m.input_kind == "text" and m.n_features is None
    vec = m.vectorizer
    for text, expected in zip(spec["texts"], spec["vectors"], strict=True):  # the layer alone, exactly
        got = vec.transform([text])[0]
        assert got.tolist() == expected, text
    keep = [i for i, p in enumerate(spec["probs"]) if np.isfinite(p).all()]
    texts = [spec["texts"][i] for i in keep]
    out = m.predict(pd.DataFrame({"text": texts}))
    np.testing.assert_allclose(out.probs, np.asarray(spec["probs"])[keep], rtol=0, atol=1e-5)


def test_text_vectorization_probes_cover_what_tensorflow_does():
    spec = _oracle()["text_vectorization"]
    texts = spec["texts"]
    assert any(len(t.split()) > 12 for t in texts) and any("\u3000" in t for t in texts)
    assert any(any("\uac00" <= c <= "\ud7a3" for c in t) for t in texts) and "" in texts
    # ASCII-only lowercasing: 'CAFÉ' → 'cafÉ', not 'café' (TensorFlow's tf.strings.lower)
    chars = _oracle()["tv_characters"]
    cafe = chars["vectors"][chars["texts"].index("CAFÉ café Café")]
    assert cafe[3] != cafe[8] and cafe[8] == cafe[13]


def test_fully_masked_text_gives_nan_as_in_tensorflow():
    spec = _oracle()["tv_characters"]
    assert not np.isfinite(spec["probs"][spec["texts"].index("")]).any()
    with pytest.raises(ModelError, match="non-finite outputs .* rows 2"):
        load_keras_model(DATA / spec["file"]).predict(pd.DataFrame({"text": ["ok", ""]}))


def test_unsupported_text_vectorization_settings(tmp_path):
    src = DATA / "text_vectorization.keras"
    with zipfile.ZipFile(src) as zf:
        config = json.loads(zf.read("config.json"))
        vocab = zf.read("assets/layers/text_vectorization/vocabulary.txt").decode()
    layer = config["config"]["layers"][1]["config"]
    assert vectorizer_from_config(layer, vocab, where="x").vocabulary[:3] == ("", "[UNK]", "the")
    for key, value, match in (("output_mode", "tf_idf", "output_mode='tf_idf'"),
                              ("standardize", {"class_name": "function"}, "a custom function")):
        with pytest.raises(ModelError, match=match):
            vectorizer_from_config({**layer, key: value}, vocab, where="x")
    with pytest.raises(ModelError, match="no vocabulary"):
        vectorizer_from_config(layer, None, where="x")
    given = vectorizer_from_config({**layer, "vocabulary": ["b", "a"]}, None, where="x")
    assert given.vocabulary == ("", "[UNK]", "b", "a") and given.ids("A b zz") == [3, 2, 1]
    path = tmp_path / "tfidf.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                bad = json.loads(data)
                bad["config"]["layers"][1]["config"]["output_mode"] = "tf_idf"
                data = json.dumps(bad).encode()
            zout.writestr(item, data)
    assert describe_keras(path).loadable is False
    with pytest.raises(ModelError, match="tf_idf"):
        load_keras_model(path)
    assert find_text_vectorization({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense"}]}}) is None
    with pytest.raises(ModelError, match="only as the first layer of a Sequential"):
        find_text_vectorization({**config, "class_name": "Functional"})
    with pytest.raises(ModelError, match="only as the first layer of a Sequential"):
        layers = config["config"]["layers"]
        find_text_vectorization({**config, "config": {**config["config"], "layers": [layers[0], *layers[2:], layers[1]]}})


def test_text_model_wants_one_text_column():
    m = load_keras_model(DATA / "text_vectorization.keras")
    with pytest.raises(ModelError, match="one text column"):
        m.predict(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    with pytest.raises(DataError, match="missing value.*rows 2"):
        m.predict(pd.DataFrame({"text": ["x", None]}))


# --------------------------------------------------------------------------- history


def test_history_next_to_the_checkpoint(models, tmp_path):
    path = models["binary"][0]
    found = keras_history(path)
    assert found == path.parent / "history.json"
    h = read_history(found)
    assert h.format == "keras" and h.n_epochs == 3 and h.val_loss is not None
    own = path.parent / "best_model.history.json"
    shutil.copy(found, own)
    try:
        assert keras_history(path) == own
    finally:
        own.unlink()
    assert keras_history(models["multiclass"][0]) is None
    assert keras_history(path, found) == found
    with pytest.raises(DataError, match="no such history file"):
        keras_history(path, tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{loss: [1, 2]")
    with pytest.raises(DataError, match="not valid JSON"):
        keras_history(path, broken)
