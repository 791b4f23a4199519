"""The leaves of a shallow regression tree on per-row loss, as readable slices.

The tree (scikit-learn, ``max_depth`` small, leaves of at least max(``min_share``, ``min_rows``)
rows) is fitted on a random half of the rows (seeded); its leaves are returned as conditions
("plan = pro and x > 0.598") with their rows among the other, held-out half, on which they are
judged, so that a leaf is not significant merely because the tree chose it. Numeric columns keep
their units (missing values follow the tree's learned side, written "(or missing)"); categorical
columns are one-hot over their ``max_categories`` most frequent values ("(missing)" is a value).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

from modelqa.data.schema import as_text
from modelqa.data.target import parse_numbers


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _tree_matrix(frame: pd.DataFrame, cols: list[tuple[str, str]], extra: dict[str, np.ndarray],
                 max_categories: int) -> tuple[np.ndarray, list[tuple]]:
    blocks, feats = [], []
    for col, kind in cols:
        if kind in ("numeric", "numeric_text"):
            blocks.append(parse_numbers(frame[col])[0][:, None])
            feats.append(("num", col))
            continue
        cells = ["(missing)" if (t := as_text(v)) is None or not t.strip() else t.strip() for v in frame[col].tolist()]
        arr = np.array(cells, dtype=object)
        for value, _ in Counter(cells).most_common(max_categories):
            blocks.append((arr == value).astype(float)[:, None])
            feats.append(("cat", col, value))
    for name, values in extra.items():
        blocks.append(values.astype(float)[:, None])
        feats.append(("num", name))
    return (np.hstack(blocks) if blocks else np.zeros((len(frame), 0))), feats


def _leaf_names(tree, feats: list[tuple], has_missing: set[int]) -> dict[int, str]:
    t = tree.tree_
    names: dict[int, str] = {}

    def walk(node: int, conds: list[tuple]) -> None:
        if t.children_left[node] == -1:
            names[node] = _describe(conds, feats, has_missing)
            return
        f, thr = int(t.feature[node]), float(t.threshold[node])
        miss_left = bool(t.missing_go_to_left[node]) if hasattr(t, "missing_go_to_left") else True
        walk(int(t.children_left[node]), conds + [(f, "le", thr, miss_left)])
        walk(int(t.children_right[node]), conds + [(f, "gt", thr, not miss_left)])

    walk(0, [])
    return names


def _describe(conds: list[tuple], feats: list[tuple], has_missing: set[int]) -> str:
    parts: dict[str, list[str]] = {}
    numeric: dict[int, dict] = {}
    for f, op, thr, missing in conds:
        feat = feats[f]
        if feat[0] == "cat":
            parts.setdefault(feat[1], []).append(("=" if op == "gt" else "≠") + "\0" + feat[2])
            continue
        b = numeric.setdefault(f, {"lo": -math.inf, "hi": math.inf, "missing": True})
        if op == "le":
            b["hi"] = min(b["hi"], thr)
        else:
            b["lo"] = max(b["lo"], thr)
        b["missing"] = b["missing"] and missing
    for f, b in numeric.items():
        col = feats[f][1]
        text = (f"{_fmt(b['lo'])} < {col} ≤ {_fmt(b['hi'])}" if math.isfinite(b["lo"]) and math.isfinite(b["hi"])
                else f"{col} ≤ {_fmt(b['hi'])}" if math.isfinite(b["hi"]) else f"{col} > {_fmt(b['lo'])}")
        parts[col] = [text + (" (or missing)" if b["missing"] and f in has_missing else "")]
    out = []
    for col, items in parts.items():
        if items and "\0" not in items[0]:
            out.append(items[0])
            continue
        equal = [i.split("\0", 1)[1] for i in items if i.startswith("=")]
        other = sorted(i.split("\0", 1)[1] for i in items if i.startswith("≠"))
        out.append(f"{col} = {equal[0]}" if equal else f"{col} ≠ {other[0]}" if len(other) == 1
                   else f"{col} not in {{{', '.join(other)}}}")
    return " and ".join(out) if out else "all rows"


def tree_leaves(frame: pd.DataFrame, cols: list[tuple[str, str]], extra: dict[str, np.ndarray], loss: np.ndarray, *,
                depth: int, min_share: float, min_rows: int, max_categories: int,
                seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(condition, rows of the leaf among the held-out half, the held-out half) per leaf (module doc)."""
    from sklearn.tree import DecisionTreeRegressor

    x, feats = _tree_matrix(frame, cols, extra, max_categories)
    if x.shape[1] == 0:
        return []
    rng = np.random.default_rng(seed)
    held = np.zeros(len(loss), dtype=bool)
    held[rng.permutation(len(loss))[: len(loss) // 2]] = True
    fit = ~held
    min_leaf = max(math.ceil(min_share * fit.sum()), min_rows)
    if fit.sum() < 2 * min_leaf:
        return []
    tree = DecisionTreeRegressor(max_depth=depth, min_samples_leaf=min_leaf,
                                 random_state=seed).fit(x[fit], loss[fit])
    if tree.tree_.node_count == 1:
        return []
    names = _leaf_names(tree, feats, {j for j in range(x.shape[1]) if np.isnan(x[:, j]).any()})
    leaves = tree.apply(x)
    return [(name, (leaves == leaf) & held, held) for leaf, name in sorted(names.items())]
