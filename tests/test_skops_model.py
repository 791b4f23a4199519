"""scikit-learn models saved with skops (and refused pickles): real estimators fitted here, every
output checked against the estimator's own predict_proba / predict / decision_function."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import keyword_frame
from scipy.special import expit
from scipy.special import softmax as sp_softmax
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC

from modelqa.adapters import skops_model
from modelqa.adapters.skops_model import describe_skops, load_skops_model, sklearn_kind
from modelqa.errors import DataError, ModelError, UsageError

sio = pytest.importorskip("skops.io")

NUM, CAT = ["tenure", "monthly"], ["contract", "payment"]


def churn_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"tenure": rng.integers(1, 72, n), "monthly": rng.normal(70, 20, n).round(2),
                       "contract": rng.choice(["month", "year", "two-year"], n),
                       "payment": rng.choice(["card", "bank", "check"], n)})
    z = -0.05 * df.tenure + 0.03 * (df.monthly - 70) + 1.5 * (df.contract == "month") + rng.normal(0, 0.7, n)
    df["churn"] = np.where(z > -0.8, "yes", "no")
    return df


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    df = churn_frame(400, 0)
    pipe = Pipeline([("pre", ColumnTransformer([("num", StandardScaler(), NUM),
                                                ("cat", OneHotEncoder(handle_unknown="ignore"), CAT)])),
                     ("clf", LogisticRegression(max_iter=500))]).fit(df[NUM + CAT], df.churn)
    path = tmp_path_factory.mktemp("skops") / "churn.skops"
    sio.dump(pipe, path)
    return path, pipe, churn_frame(150, 1)


def add_one(x):
    return x + 1.0


class Clip(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.clip(X, -3, 3)


def test_describe_reads_the_schema(churn):
    import sklearn

    path, _, _ = churn
    d = describe_skops(path)
    assert (d.kind, d.task, d.labels, d.unsafe, d.loadable) == ("skops", "binary", ["no", "yes"], None, True)
    assert d.feature_columns == NUM + CAT
    assert d.details["estimator"] == "sklearn.pipeline.Pipeline"
    assert d.details["steps"] == ["pre: sklearn.compose._column_transformer.ColumnTransformer",
                                  "clf: sklearn.linear_model._logistic.LogisticRegression"]
    assert d.details["sklearn_version"] == sklearn.__version__
    assert d.details["untrusted_types"] == []
    assert d.size_bytes == path.stat().st_size


def test_pipeline_probs_are_predict_proba(churn):
    path, pipe, test = churn
    model = load_skops_model(path)
    assert (model.kind, model.task, model.input_kind, model.labels) == ("skops", "classification", "features",
                                                                        ["no", "yes"])
    assert model.feature_columns == NUM + CAT and model.n_features == 4
    assert model.info["method"] == "predict_proba"
    assert model.info["final_estimator"] == "LogisticRegression"
    shuffled = test[["churn", "payment", "monthly", "contract", "tenure"]]  # extra column, other order
    out = model.predict(shuffled)
    np.testing.assert_allclose(out.probs, pipe.predict_proba(test[NUM + CAT]), rtol=0, atol=1e-12)
    assert accuracy_score(test.churn, np.array(model.labels)[out.predicted_ids()]) == pytest.approx(
        pipe.score(test[NUM + CAT], test.churn))


def test_labels_rename_and_must_fit(churn):
    path, _, _ = churn
    assert load_skops_model(path, labels=["stay", "leave"]).labels == ["stay", "leave"]
    with pytest.raises(UsageError, match="3 classes"):
        load_skops_model(path, labels=["a", "b", "c"])
    with pytest.raises(UsageError, match="`scores`"):
        load_skops_model(path, scores="margins")


def test_predict_errors_name_the_column(churn):
    path, _, test = churn
    model = load_skops_model(path)
    with pytest.raises(DataError, match="contract") as exc:
        model.predict(test.drop(columns=["contract"]))
    assert str(path) in exc.value.message
    bad = test.copy()
    bad["tenure"] = bad["tenure"].astype(object)
    bad.loc[bad.index[4], "tenure"] = "abc"
    with pytest.raises(DataError, match="column 'tenure' row 5 holds 'abc'"):
        model.predict(bad)


def test_multiclass_without_predict_proba(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4))
    y = np.array(["a", "b", "c"])[np.argmax(x[:, :3] + rng.normal(0, 0.5, (300, 3)), axis=1)]
    svc = LinearSVC().fit(x, y)
    sio.dump(svc, tmp_path / "svc.skops")
    model = load_skops_model(tmp_path / "svc.skops")
    assert model.info["method"] == "predict" and model.feature_columns is None and model.n_features == 4
    frame = pd.DataFrame(x, columns=list("pqrs"))
    out = model.predict(frame)
    assert out.probs is None
    np.testing.assert_array_equal(np.array(model.labels)[out.y_pred], svc.predict(x))
    logits = load_skops_model(tmp_path / "svc.skops", scores="logits")
    assert logits.info["method"] == "decision_function" and "not calibrated" in logits.info["scores"]
    probs = logits.predict(frame).probs
    np.testing.assert_allclose(probs, sp_softmax(svc.decision_function(x), axis=1), atol=1e-12)
    np.testing.assert_array_equal(np.array(logits.labels)[probs.argmax(1)], svc.predict(x))
    with pytest.raises(DataError, match="takes 4 features"):
        model.predict(frame[["p", "q"]])


def test_binary_margins_through_sigmoid(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 3))
    y = np.where(x[:, 0] + rng.normal(0, 0.5, 200) > 0, 1, 0)
    svc = LinearSVC().fit(x, y)
    sio.dump(svc, tmp_path / "bin.skops")
    model = load_skops_model(tmp_path / "bin.skops", scores="logits")
    assert model.labels == ["0", "1"]
    p = model.predict(pd.DataFrame(x)).probs
    np.testing.assert_allclose(p[:, 1], expit(svc.decision_function(x)), atol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    sio.dump(GaussianNB().fit(x, y), tmp_path / "nb.skops")
    with pytest.raises(UsageError, match="decision_function"):
        load_skops_model(tmp_path / "nb.skops", scores="logits")


def test_regressor_values(tmp_path):
    df = churn_frame(300, 5)
    ridge = Ridge().fit(df[NUM], df.monthly * 2 + df.tenure)
    sio.dump(ridge, tmp_path / "ridge.skops")
    d = describe_skops(tmp_path / "ridge.skops")
    assert (d.task, d.labels, d.feature_columns) == ("regression", None, NUM)
    model = load_skops_model(tmp_path / "ridge.skops")
    assert (model.task, model.labels, model.info["method"]) == ("regression", None, "predict")
    test = churn_frame(80, 6)
    out = model.predict(test)
    assert out.values.dtype == np.float64
    np.testing.assert_allclose(out.values, ridge.predict(test[NUM]), atol=1e-9)
    truth = test.monthly * 2 + test.tenure
    assert r2_score(truth, out.values) == pytest.approx(ridge.score(test[NUM], truth))


def test_text_pipeline_takes_one_column(tmp_path):
    train, test = keyword_frame(30, 0), keyword_frame(10, 1)
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)).fit(train.sentence, train.emotion)
    sio.dump(pipe, tmp_path / "text.skops")
    d = describe_skops(tmp_path / "text.skops")
    assert d.inputs.startswith("one text column") and d.feature_columns is None and d.task == "multiclass"
    model = load_skops_model(tmp_path / "text.skops")
    assert model.input_kind == "text" and model.labels == ["neg", "neu", "pos"]
    out = model.predict(test[["sentence"]])
    np.testing.assert_allclose(out.probs, pipe.predict_proba(test.sentence.tolist()), atol=1e-12)
    bad = test[["sentence"]].copy()
    bad.iloc[2, 0] = None
    with pytest.raises(DataError, match="row 3"):
        model.predict(bad)
    with pytest.raises(DataError, match="one text column"):
        model.predict(test)


@pytest.mark.parametrize("step", ["function", "class"])
def test_untrusted_type_refused_then_trusted(tmp_path, step):
    df = churn_frame(200, 7)
    first = FunctionTransformer(add_one) if step == "function" else Clip()
    name = f"{add_one.__module__}.add_one" if step == "function" else f"{Clip.__module__}.Clip"
    pipe = make_pipeline(first, LogisticRegression()).fit(df[NUM], df.churn)
    path = tmp_path / f"{step}.skops"
    sio.dump(pipe, path)
    d = describe_skops(path)
    assert d.details["untrusted_types"] == [name] and name in d.unsafe and "`trust`" in d.unsafe
    with pytest.raises(ModelError) as exc:
        load_skops_model(path)
    assert str(path) in exc.value.message and name in exc.value.message
    assert f"`trust='{name}'`" in exc.value.hint
    model = load_skops_model(path, trust=[name])
    assert model.info["trusted_by_request"] == [name]
    np.testing.assert_allclose(model.predict(df[NUM]).probs, pipe.predict_proba(df[NUM]), atol=1e-12)


def test_tree_nodes_need_trust(tmp_path):
    df = churn_frame(200, 8)
    rf = RandomForestClassifier(n_estimators=5, random_state=0).fit(df[NUM], df.churn)
    sio.dump(rf, tmp_path / "rf.skops")
    with pytest.raises(ModelError, match="sklearn.tree._tree.Tree.*crash") as exc:
        load_skops_model(tmp_path / "rf.skops")
    assert "`trust='sklearn.tree._tree.Tree'`" in exc.value.hint
    model = load_skops_model(tmp_path / "rf.skops", trust="sklearn.tree._tree.Tree")
    np.testing.assert_allclose(model.predict(df).probs, rf.predict_proba(df[NUM]), atol=1e-12)


def test_trusted_beyond_skops_defaults(tmp_path):
    """Types skops 0.16 does not trust by itself but modelqa knows: numpy.dtype (SimpleImputer),
    make_column_selector and the types it names, the calibration helpers, scipy sparse matrices."""
    import scipy.sparse

    trusted = skops_model.TRUSTED
    for t in (LogisticRegression, scipy.sparse.csr_matrix, np.dtype, make_column_selector):
        assert f"{t.__module__}.{t.__name__}" in trusted
    assert not set(skops_model.RAW_INDEX_TYPES) & trusted
    df = churn_frame(300, 9)
    pipe = make_pipeline(
        ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()),
                            make_column_selector(dtype_include=np.number)),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include=object))]),
        CalibratedClassifierCV(LinearSVC(), cv=3)).fit(df[NUM + CAT], df.churn)
    path = tmp_path / "calibrated.skops"
    sio.dump(pipe, path)
    assert len(sio.get_untrusted_types(file=path)) >= 4
    assert describe_skops(path).unsafe is None
    model = load_skops_model(path)
    np.testing.assert_allclose(model.predict(df).probs, pipe.predict_proba(df[NUM + CAT]), atol=1e-12)


@pytest.mark.parametrize("suffix", [".pkl", ".joblib"])
def test_pickle_refused_unless_allowed(churn, tmp_path, suffix):
    import joblib

    _, pipe, test = churn
    path = tmp_path / f"model{suffix}"
    if suffix == ".pkl":
        path.write_bytes(pickle.dumps(pipe))
    else:
        joblib.dump(pipe, path)
    assert sklearn_kind(path) == "pickle"
    d = describe_skops(path)
    assert (d.kind, d.unsafe) == ("pickle", "pickle runs code when loaded; `allow_pickle`")
    with pytest.raises(ModelError, match="pickle") as exc:
        load_skops_model(path)
    assert str(path) in exc.value.message
    assert "skops.io.dump" in exc.value.hint and "`allow_pickle`" in exc.value.hint
    model = load_skops_model(path, allow_pickle=True)
    assert model.kind == "pickle" and model.info["method"] == "predict_proba"
    np.testing.assert_allclose(model.predict(test).probs, pipe.predict_proba(test[NUM + CAT]), atol=1e-12)


def test_sklearn_kind(churn, tmp_path):
    path, pipe, _ = churn
    assert sklearn_kind(path) == "skops"
    renamed = tmp_path / "model.zip"
    renamed.write_bytes(path.read_bytes())
    assert sklearn_kind(renamed) == "skops"
    header = tmp_path / "model.bin"
    header.write_bytes(pickle.dumps(pipe, protocol=4))
    assert sklearn_kind(header) == "pickle"
    other = tmp_path / "data.csv"
    other.write_text("a,b\n1,2\n")
    assert sklearn_kind(other) is None
    with pytest.raises(ModelError, match="neither"):
        load_skops_model(other)
    with pytest.raises(ModelError, match="does not exist"):
        load_skops_model(tmp_path / "absent.skops")
    broken = tmp_path / "broken.skops"
    broken.write_text("not a zip")
    with pytest.raises(ModelError, match="not a skops file"):
        describe_skops(broken)


def test_missing_skops_is_a_usage_error(churn, monkeypatch):
    path, _, _ = churn
    monkeypatch.setitem(sys.modules, "skops", None)
    monkeypatch.setitem(sys.modules, "skops.io", None)
    with pytest.raises(UsageError) as exc:
        load_skops_model(path)
    assert 'pip install "modelqa[skops]"' in exc.value.hint
    assert describe_skops(path).loadable is False
