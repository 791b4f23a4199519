"""Out-of-fold probabilities of a cheap model that modelqa fits itself.

Used where no model's out-of-sample probabilities exist (label issues on ``--reference``, the
training data): every row is scored by a model that did not see it. Stratified ``cv`` folds,
shuffled with ``seed``; each fold's features are learned on its training rows only.

- text: TF-IDF of character n-grams within word boundaries (``char_wb``, 1-4 characters, those
  in at least ``MIN_DF`` training rows of the fold, sublinear tf), which works for Korean and
  other scripts without a word list, then a multinomial logistic regression. The texts are cut
  into n-grams once; each fold keeps the n-grams of its training rows and learns the IDF weights
  there, which is exactly TfidfVectorizer fitted per fold;
- tables: ``modelqa.data.tabular.Preprocessor`` (medians, scaling, one-hot) then the same
  logistic regression.

A class absent from a fold's training rows gets probability 0 in that fold.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelqa.data.tabular import Preprocessor
from modelqa.errors import DataError

NGRAM_RANGE = (1, 4)
MIN_DF = 2
C = 4.0
MAX_ITER = 1000


@dataclass(frozen=True)
class OutOfFold:
    probs: np.ndarray          # (n, n_classes)
    folds: int
    model: str                 # a readable description of the cheap model
    features: tuple[str, ...]  # the columns it read


def _fold_count(y: np.ndarray, cv: int) -> int:
    counts = np.bincount(y)
    counts = counts[counts > 0]
    if len(counts) < 2:
        raise DataError("out-of-fold probabilities need at least 2 classes among the labels")
    folds = min(int(cv), int(counts.max()))
    if folds < 2:
        raise DataError(f"out-of-fold probabilities need `cv` of at least 2, not {cv}")
    return folds


def _fit_predict(model_fit, x_train, y_train, x_test, n_classes: int) -> np.ndarray:
    classes = np.unique(y_train)
    out = np.zeros((x_test.shape[0], n_classes))
    if len(classes) == 1:
        out[:, classes[0]] = 1.0
        return out
    from threadpoolctl import threadpool_limits

    model = model_fit()
    # one BLAS thread: the solver's small products gain nothing from more, and on a busy
    # machine oversubscribed threads made a 1,000-row fit 10x slower
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        model.fit(x_train, y_train)
        probs = model.predict_proba(x_test)
    out[:, model.classes_] = probs
    return out


def out_of_fold_probs(y: np.ndarray, *, n_classes: int, texts: Sequence[str] | None = None,
                      frame: pd.DataFrame | None = None, feature_cols: Sequence[str] = (),
                      cv: int = 5, seed: int = 0, path: str = "reference") -> OutOfFold:
    """Probabilities (rows x ``n_classes``) for rows with class ids ``y`` (all >= 0), from
    ``texts`` when given, else from ``frame[feature_cols]``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=np.int64)
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{path}: class ids must lie in 0..{n_classes - 1}")
    folds = _fold_count(y, cv)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probs = np.zeros((len(y), n_classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "the least populated class has only 1 member"
        splits = list(splitter.split(np.zeros(len(y)), y))
    def model():
        return LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed)

    if texts is not None:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

        docs = [t if isinstance(t, str) else "" for t in texts]
        counts = CountVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE).fit_transform(docs).tocsr()
        for train, test in splits:
            seen = np.asarray((counts[train] > 0).sum(axis=0)).ravel()
            cols = np.flatnonzero(seen >= MIN_DF)
            tfidf = TfidfTransformer(sublinear_tf=True)
            x_train = tfidf.fit_transform(counts[train][:, cols])
            probs[test] = _fit_predict(model, x_train, y[train], tfidf.transform(counts[test][:, cols]), n_classes)
        desc = (f"logistic regression (C={C:g}) on TF-IDF of character {NGRAM_RANGE[0]}-{NGRAM_RANGE[1]}-grams, "
                f"{folds}-fold out-of-fold")
        return OutOfFold(probs=probs, folds=folds, model=desc, features=("text",))
    if frame is None or not feature_cols:
        raise DataError(f"{path}: no text column and no feature columns to fit the cross-validated model on")
    table = frame[list(feature_cols)].reset_index(drop=True)
    used: tuple[str, ...] = ()
    for train, test in splits:
        pre = Preprocessor().fit(table.iloc[train], path=path)
        used = tuple(pre.feature_columns)
        x_train, _ = pre.transform(table.iloc[train], path=path)
        x_test, _ = pre.transform(table.iloc[test], path=path)
        probs[test] = _fit_predict(model, x_train, y[train], x_test, n_classes)
    desc = f"logistic regression on the preprocessed table (median, scaling, one-hot), {folds}-fold out-of-fold"
    return OutOfFold(probs=probs, folds=folds, model=desc, features=used)
