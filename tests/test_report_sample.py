"""Realistic report inputs (what metrics / analysis produce), built with scikit-learn.

Imported by the other test_report_* files; the tests here check the sample itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

HANGUL_WORDS = ["정치", "경제", "사회", "생활문화", "세계", "기술", "스포츠", "연예", "날씨", "교육"]
XSS_TEXT = "<script>alert(1)</script> 그리고 <img src=x onerror=alert(1)>"
XSS_LABEL = "javascript:alert(1)"


def class_names(k: int, *, hostile: bool = False) -> list[str]:
    names = [HANGUL_WORDS[i] if i < len(HANGUL_WORDS) else f"주제_{i:02d}" for i in range(k)]
    if hostile:
        names[-1] = XSS_LABEL
        if k > 2:
            names[1] = '<b onmouseover="alert(1)">굵게</b>'
    return names


def make_sample(k: int = 5, n: int = 400, *, seed: int = 0, hostile: bool = False, with_probs: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    labels = class_names(k, hostile=hostile)
    weights = rng.dirichlet(np.full(k, 3.0))
    true_idx = rng.choice(k, size=n, p=weights)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true_idx] += 2.2
    logits[:, 0] += 0.6  # the model leans towards class 0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred_idx = probs.argmax(axis=1)
    true = np.array(labels, dtype=object)[true_idx]
    pred = np.array(labels, dtype=object)[pred_idx]
    texts = [f"{labels[t]} 관련 기사 본문 {i}번: 오늘 발표된 내용에 따르면 …" for i, t in enumerate(true_idx)]
    if hostile:
        texts[0] = XSS_TEXT
        texts[1] = "=HYPERLINK(\"http://evil.example\",\"클릭\")"
    predictions = pd.DataFrame(
        {
            "doc_id": [f"doc-{i:05d}" for i in range(n)],
            "text": texts,
            "true_label": true,
            "predicted_label": pred,
            "confidence": probs.max(axis=1) if with_probs else np.nan,
            "correct": true_idx == pred_idx,
        }
    )
    if with_probs:
        for j, label in enumerate(labels):
            predictions[f"prob_{label}"] = probs[:, j]
    if hostile:
        # make sure the hostile rows are misclassified with high confidence
        for row in (0, 1):
            predictions.loc[row, "predicted_label"] = labels[-1] if predictions.loc[row, "true_label"] != labels[-1] else labels[0]
            predictions.loc[row, "correct"] = False
            predictions.loc[row, "confidence"] = 0.999 if with_probs else np.nan
    errors = predictions[~predictions["correct"]].sort_values("confidence", ascending=False, kind="stable")

    cm = skm.confusion_matrix(predictions["true_label"], predictions["predicted_label"], labels=labels)
    pairs = [
        {"true_label": labels[i], "predicted_label": labels[j], "count": int(cm[i, j]),
         "share_of_true": float(cm[i, j] / cm[i].sum()) if cm[i].sum() else 0.0}
        for i in range(k) for j in range(k) if i != j and cm[i, j] > 0
    ]
    confusions = pd.DataFrame(pairs).sort_values("count", ascending=False, kind="stable").reset_index(drop=True)

    true_count = cm.sum(axis=1)
    pred_count = cm.sum(axis=0)
    ratio = np.divide(pred_count, true_count, out=np.full(k, np.inf), where=true_count > 0)
    flag = np.where(ratio >= 1.25, "over-predicted", np.where(ratio <= 0.8, "under-predicted", ""))
    distribution = pd.DataFrame(
        {"label": labels, "true_count": true_count, "predicted_count": pred_count,
         "difference": pred_count - true_count, "ratio": ratio, "flag": flag}
    )

    y_true, y_pred = predictions["true_label"], predictions["predicted_label"]
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = {}
    for j, label in enumerate(labels):
        entry = {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]), "support": int(s[j]),
                 "predicted_count": int(pred_count[j])}
        if with_probs:
            is_j = (true_idx == j).astype(int)
            entry["roc_auc"] = float(skm.roc_auc_score(is_j, probs[:, j])) if 0 < is_j.sum() < n else None
            entry["average_precision"] = float(skm.average_precision_score(is_j, probs[:, j])) if is_j.sum() else None
        per_class[label] = entry
    accuracy = float(skm.accuracy_score(y_true, y_pred))
    metrics = {
        "accuracy": accuracy,
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "precision_macro": float(p.mean()),
        "recall_macro": float(r.mean()),
        "f1_macro": float(f.mean()),
        "f1_weighted": float(skm.f1_score(y_true, y_pred, average="weighted")),
        "f1_micro": accuracy,
        "mcc": float(skm.matthews_corrcoef(y_true, y_pred)),
        "cohen_kappa": float(skm.cohen_kappa_score(y_true, y_pred)),
    }
    if with_probs:
        metrics.update({"log_loss": float(skm.log_loss(true_idx, probs, labels=list(range(k)))),
                        "brier_score": 0.31, "ece": 0.042, "roc_auc_ovr_macro": None})
    majority = int(np.argmax(true_count))
    result = {
        "schema_version": 1,
        "task": "binary" if k == 2 else "multiclass",
        "n_samples": n,
        "labels": labels,
        "metrics": metrics,
        "per_class": per_class,
        "confusion_matrix": {"labels": labels, "counts": cm.tolist()},
        "baselines": {"chance_accuracy": float(((true_count / n) ** 2).sum()),
                      "majority_accuracy": float(true_count[majority] / n), "majority_label": labels[majority]},
        "confidence_intervals": {"level": 0.95, "method": "bootstrap", "n_resamples": 1000,
                                 "accuracy": [accuracy - 0.03, accuracy + 0.03],
                                 "f1_macro": [metrics["f1_macro"] - 0.04, metrics["f1_macro"] + 0.035]},
    }
    run_info = {
        "command": "modelqa evaluate --model runs/klue-ynat --data data/뉴스_테스트.csv --out out/",
        "model": "runs/klue-ynat" if not hostile else XSS_TEXT,
        "data": "data/뉴스_테스트.csv",
        "data_sha256": "9f2c" * 16,
        "created": "2024-05-01T12:34:56+00:00",
        "versions": {"modelqa": "0.1.0", "torch": "2.3.0", "transformers": "4.44.0"},
        "timing": {"predict_seconds": 83.4, "metrics_seconds": 0.8},
        "truncated": 3,
    }
    return {"result": result, "predictions": predictions, "errors": errors, "confusions": confusions,
            "distribution": distribution, "run_info": run_info}


def test_sample_is_consistent():
    sample = make_sample(k=6, n=300)
    result = sample["result"]
    assert sum(map(sum, result["confusion_matrix"]["counts"])) == 300
    assert len(sample["errors"]) == int((~sample["predictions"]["correct"]).sum())
    assert set(sample["distribution"]["flag"]) <= {"over-predicted", "under-predicted", ""}
