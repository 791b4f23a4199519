"""Tabular preprocessing, column kinds, task inference and the profile document."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelqa.data.profile import profile_table
from modelqa.data.tabular import Preprocessor, TargetEncoder, infer_kind, infer_task
from modelqa.errors import DataError


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    total = [f"{v:.2f}" for v in rng.uniform(10, 500, n)]
    total[3] = " "
    total[7] = " "
    df = pd.DataFrame({
        "customerID": [f"{i:04d}-ABCDE" for i in range(n)],
        "tenure": [str(int(v)) for v in rng.integers(0, 72, n)],
        "TotalCharges": total,
        "Partner": rng.choice(["Yes", "No"], n).tolist(),
        "Contract": rng.choice(["Month-to-month", "One year", "Two year"], n).tolist(),
        "Notes": [None] * n,
        "Churn": rng.choice(["Yes", "No"], n, p=[0.3, 0.7]).tolist(),
    })
    df.loc[5, "tenure"] = None
    df.loc[6, "Contract"] = None
    df.attrs["source"] = {"path": "hand.csv", "format": "csv", "encoding": "utf-8", "sheet": None}
    return df


def test_column_kinds():
    df = _frame()
    kinds = {c: infer_kind(df[c]).kind for c in df.columns}
    assert kinds == {"customerID": "id", "tenure": "numeric", "TotalCharges": "numeric_text", "Partner": "boolean",
                     "Contract": "categorical", "Notes": "empty", "Churn": "boolean"}
    info = infer_kind(df["TotalCharges"])
    assert info.n_bad_numbers == 2 and [r for r, _ in info.bad_numbers] == [4, 8]
    assert infer_kind(pd.Series(range(50), name="row")).kind == "id"  # consecutive integers
    assert infer_kind(pd.Series(np.linspace(0, 1, 50), name="score")).kind == "numeric"
    texts = pd.Series([f"this is a long free text comment number {i}" for i in range(50)], name="comment")
    assert infer_kind(texts).kind == "text"
    assert infer_kind(pd.Series([True, False] * 5, name="flag")).kind == "boolean"
    assert infer_kind(pd.Series(["a"] * 5, name="k")).kind == "constant"


@pytest.mark.parametrize(("values", "task"), [
    (["Yes", "No", "Yes"], "binary"),
    (["0", "1", "1", "0"], "binary"),
    (["cat", "dog", "bird", "cat"], "multiclass"),
    ([str(i % 5) for i in range(100)], "multiclass"),  # few integers: classes
    ([str(i) for i in range(100)], "regression"),  # many distinct integers
    ([f"{i / 7:.3f}" for i in range(30)], "regression"),
    ([str(i % 25) for i in range(10_000)], "multiclass"),  # 25 integers, 0.25% unique
    ([f"{(i % 25) + 0.5}" for i in range(10_000)], "regression"),  # non-integers
    (["x", "x"], "constant"),
])
def test_infer_task(values, task):
    assert infer_task(values)[0] == task


def test_round_trip_through_json_gives_identical_matrix():
    df = _frame()
    pre = Preprocessor().fit(df, "Churn")
    x1, rep1 = pre.transform(df)
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    x2, rep2 = again.transform(df)
    assert x1.dtype == np.float32 and np.array_equal(x1, x2)
    assert rep1.to_dict() == rep2.to_dict()
    assert again.feature_names == pre.feature_names
    assert [d["name"] for d in pre.dropped] == ["customerID", "Notes"]
    assert rep1.imputed == {"tenure": 1, "TotalCharges": 2, "Contract": 1}
    assert rep1.not_numbers == {"TotalCharges": 2}
    y = pre.encode_target(df)
    assert pre.target.labels == ["No", "Yes"]
    assert np.array_equal(y, (df["Churn"] == "Yes").to_numpy().astype(np.int64))
    # scaling learned on the fitted rows: numeric columns have mean 0
    j = pre.feature_names.index("tenure")
    assert abs(float(x1[:, j].mean())) < 1e-5


def test_unseen_categories_are_counted_not_fatal():
    df = _frame()
    pre = Preprocessor().fit(df, "Churn")
    new = df.head(4).copy()
    new["Contract"] = ["Three year", "Three year", "One year", "Weekly"]
    x, rep = pre.transform(new)
    assert rep.unseen_categories == {"Contract": 3}
    block = [i for i, n in enumerate(pre.feature_names) if n.startswith("Contract=")]
    assert x[:2][:, block].sum() == 0 and x[2, block].sum() == 1


def test_missing_columns_at_transform_name_every_one():
    df = _frame()
    pre = Preprocessor().fit(df, "Churn")
    with pytest.raises(DataError) as err:
        pre.transform(df.drop(columns=["tenure", "Contract", "customerID"]), path="new.csv")
    msg = str(err.value)
    assert "new.csv" in msg and "'tenure'" in msg and "'Contract'" in msg and "customerID" not in msg.split(";")[0]


def test_forced_id_columns_and_regression_target():
    df = _frame()
    df["spend"] = [str(10.5 + i * 1.37) for i in range(len(df))]
    pre = Preprocessor(id_cols=["tenure"]).fit(df, "spend")
    assert pre.target.task == "regression"
    assert {"tenure", "customerID"} <= {d["name"] for d in pre.dropped}
    z = pre.encode_target(df)
    assert np.allclose(pre.target.decode(z), df["spend"].astype(float))
    bad = df.copy()
    bad.loc[[2, 9], "spend"] = ["n/a", "twelve"]
    with pytest.raises(DataError, match=r"row 3: 'n/a', row 10: 'twelve'"):
        TargetEncoder.fit(bad["spend"], column="spend", task="regression")


def test_single_value_target():
    df = _frame()
    df["Churn"] = "No"
    with pytest.raises(DataError, match="single value"):
        Preprocessor().fit(df, "Churn")


def test_profile_document():
    df = _frame()
    doc = profile_table(df, target="Churn")
    json.dumps(doc, allow_nan=False)
    assert doc["rows"] == 40 and doc["columns"] == 7
    cols = {c["name"]: c for c in doc["column_profiles"]}
    assert cols["TotalCharges"]["kind"] == "numeric_text" and cols["TotalCharges"]["missing"] == 2
    assert cols["tenure"]["summary"]["count"] == 39
    assert cols["Contract"]["values"][0]["count"] >= cols["Contract"]["values"][-1]["count"]
    assert doc["id_columns"] == [{"name": "customerID", "reason": "unique per row, id-like name"}]
    assert doc["numeric_as_text"][0]["name"] == "TotalCharges"
    assert [e["row"] for e in doc["numeric_as_text"][0]["examples"]] == [4, 8]
    dist = doc["target_distribution"]
    assert dist["task"] == "binary" and [c["label"] for c in dist["classes"]] == ["No", "Yes"]
    assert abs(sum(c["share"] for c in dist["classes"]) - 1) < 1e-12
    with pytest.raises(DataError, match="Churnn"):
        profile_table(df, target="Churnn")
