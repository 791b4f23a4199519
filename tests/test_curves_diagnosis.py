"""Each finding of the learning-curve diagnosis on a hand-made curve that shows it, and
not on a healthy run."""

from __future__ import annotations

import pytest

from modelqa.analysis.curves import CurveRules, diagnose, diagnose_records
from modelqa.analysis.history import from_keras

HEALTHY = {"loss": [1.10, 0.72, 0.55, 0.47, 0.43, 0.41, 0.40, 0.395],
           "val_loss": [0.95, 0.70, 0.58, 0.53, 0.51, 0.50, 0.499, 0.50],
           "accuracy": [0.55, 0.72, 0.80, 0.83, 0.85, 0.86, 0.865, 0.87],
           "val_accuracy": [0.60, 0.73, 0.79, 0.81, 0.82, 0.825, 0.83, 0.83]}
WARNINGS = {"exploding", "oscillating", "overfitting", "large_gap", "still_improving"}


def run(obj, **rules):
    return diagnose(from_keras(obj), rules=CurveRules(**rules) if rules else None)


def finding(diagnosis, code):
    found = [f for f in diagnosis.findings if f.code == code]
    assert found, f"{code} not in {diagnosis.codes()}"
    return found[0]


def test_healthy_run_says_so_and_nothing_else():
    d = run(HEALTHY)
    assert d.codes() == ["best_epoch", "healthy"]
    assert d.healthy
    assert d.best_epoch == 7 and d.monitor == "val_loss"
    assert "Best epoch: 7 of 8" in d.findings[0].message
    assert "Healthy run" in d.findings[1].message


def test_overfitting_names_the_epoch_where_validation_loss_starts_rising():
    d = run({"loss": [1.0, 0.6, 0.4, 0.25, 0.15, 0.08], "val_loss": [1.0, 0.7, 0.6, 0.63, 0.72, 0.9]})
    f = finding(d, "overfitting")
    assert f.epoch == 4 and d.best_epoch == 3
    assert "Over-fitting from epoch 4" in f.message and "Stop at epoch 3" in f.message
    assert "early stopping" in f.message and "regularise" in f.message


def test_overfitting_needs_a_clear_or_sustained_rise():
    # one epoch 10% up: not clear enough; two epochs 3% up: within the tolerance (a plateau)
    assert "overfitting" not in run({"loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.0, 0.7, 0.6, 0.66]}).codes()
    assert "overfitting" not in run({"loss": [1.0, 0.6, 0.4, 0.3, 0.25],
                                     "val_loss": [1.0, 0.7, 0.6, 0.61, 0.618]}).codes()
    # one epoch 30% up is clear
    d = run({"loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.0, 0.7, 0.6, 0.78]})
    assert finding(d, "overfitting").epoch == 4


def test_rising_validation_with_rising_training_loss_is_not_overfitting():
    d = run({"loss": [1.0, 0.6, 0.5, 0.55, 0.6], "val_loss": [1.0, 0.7, 0.6, 0.66, 0.72]})
    assert "overfitting" not in d.codes()


def test_large_gap_in_loss_and_in_metric():
    d = run({"loss": [1.0, 0.5, 0.3, 0.2, 0.15, 0.14], "val_loss": [1.0, 0.6, 0.45, 0.40, 0.38, 0.375]})
    f = finding(d, "large_gap")
    assert f.epoch == 6 and "2.7× the training loss" in f.message
    assert "overfitting" not in d.codes()
    d = run({"loss": [1.0, 0.6, 0.45, 0.40], "val_loss": [1.0, 0.65, 0.55, 0.5],
             "accuracy": [0.6, 0.8, 0.9, 0.97], "val_accuracy": [0.6, 0.75, 0.8, 0.82]})
    f = finding(d, "large_gap")
    assert "training accuracy 0.9700 vs validation 0.8200" in f.message


def test_gap_thresholds_are_rules():
    obj = {"loss": [1.0, 0.6, 0.45, 0.40, 0.39], "val_loss": [1.0, 0.75, 0.66, 0.63, 0.62]}
    assert "large_gap" not in run(obj).codes()  # 0.62 / 0.39 = 1.59x: under the default 100%
    assert "large_gap" in run(obj, gap_loss_ratio=0.5).codes()


def test_oscillating_loss_blames_the_learning_rate():
    d = run({"loss": [1.0, 0.8, 1.1, 0.7, 1.0, 0.75, 1.05], "val_loss": [1.0, 0.9, 1.1, 0.85, 1.05, 0.9, 1.1]})
    f = finding(d, "oscillating")
    assert f.epoch == 3 and "up at epochs 3, 5, 7" in f.message and "learning rate" in f.message


def test_small_wiggles_are_not_oscillation():
    d = run({"loss": [1.0, 0.8, 0.82, 0.7, 0.71, 0.65, 0.66, 0.62],
             "val_loss": [1.0, 0.85, 0.84, 0.78, 0.77, 0.76, 0.755, 0.75]})
    assert "oscillating" not in d.codes()


def test_nan_loss_is_an_explosion():
    d = run({"loss": [1.0, 0.5, 0.3, float("nan")], "val_loss": [1.0, 0.6, 0.4, float("nan")]})
    f = finding(d, "exploding")
    assert f.epoch == 4 and "became NaN at epoch 4" in f.message and "learning rate" in f.message


def test_jump_to_many_times_the_minimum_is_an_explosion():
    d = run({"loss": [1.0, 0.4, 0.2, 1.5, 2.5], "val_loss": [1.0, 0.5, 0.3, 1.6, 2.6]})
    f = finding(d, "exploding")
    assert f.epoch == 4 and "7.5× its lowest" in f.message
    # a converged loss that moves in the third decimal is not an explosion
    d = run({"loss": [1.0, 0.3, 0.05, 0.01, 0.011, 0.04], "val_loss": [1.0, 0.4, 0.2, 0.18, 0.17, 0.17]})
    assert "exploding" not in d.codes()


def test_still_falling_at_the_last_epoch_says_train_longer():
    d = run({"loss": [1.0, 0.8, 0.65, 0.55], "val_loss": [1.0, 0.85, 0.72, 0.62]})
    f = finding(d, "still_improving")
    assert f.epoch == 4 and "train longer" in f.message and "0.7200 at epoch 3 → 0.6200 at epoch 4, a new best" in f.message


def test_a_plateau_is_not_still_improving():
    d = run({"loss": [1.0, 0.8, 0.65, 0.55], "val_loss": [1.0, 0.8, 0.70, 0.695]})
    assert "still_improving" not in d.codes()  # the last epoch gained 0.7%, under the 1% tolerance
    d = run({"loss": [1.0, 0.8, 0.65, 0.55], "val_loss": [1.0, 0.8, 0.60, 0.61]})
    assert "still_improving" not in d.codes()  # it turned up


def test_best_epoch_from_a_metric_without_validation_loss():
    d = run({"accuracy": [0.5, 0.7, 0.8, 0.85, 0.86], "val_accuracy": [0.5, 0.66, 0.74, 0.73, 0.72]})
    assert d.best_epoch == 3 and d.monitor == "val_accuracy"
    assert "highest validation accuracy" in d.findings[0].message


def test_no_validation_and_single_epoch():
    d = run({"loss": [1.0, 0.7, 0.6, 0.58, 0.575]})
    assert d.codes()[0] == "no_validation" and d.best_epoch is None
    d = run({"loss": [1.0], "val_loss": [0.9]})
    assert d.codes() == ["best_epoch", "too_few_epochs"]


def test_to_dict_and_records():
    rows = [{"epoch": e, "train_loss": t, "val_loss": v, "val_accuracy": a}
            for e, t, v, a in zip(range(1, 6), [1.0, 0.6, 0.4, 0.25, 0.15], [1.0, 0.7, 0.6, 0.66, 0.75],
                                  [0.5, 0.7, 0.75, 0.74, 0.72], strict=True)]
    d = diagnose_records(rows)
    out = d.to_dict()
    assert out["best_epoch"] == 3 and out["healthy"] is False
    assert {"code": "overfitting", "severity": "warning", "epoch": 4} == {
        k: v for k, v in out["findings"][1].items() if k != "message"}
    assert out["rules"]["gap_loss_ratio"] == 1.0
    assert all(not m.startswith("Best epoch") for m in d.messages(exclude=("best_epoch",)))


@pytest.mark.parametrize("code", sorted(WARNINGS))
def test_no_warning_on_the_healthy_run(code):
    assert code not in run(HEALTHY).codes()


def test_a_jump_then_nan_names_the_jump_epoch():
    d = run({"loss": [0.9, 0.6, 0.45, 3.2, 41.0, float("nan")], "val_loss": [0.8, 0.62, 0.55, 2.9, 38.5, float("nan")]})
    f = finding(d, "exploding")
    assert f.epoch == 4
    assert "jumped to 3.2 at epoch 4" in f.message and "became NaN at epoch 6: training diverged" in f.message
    assert d.codes() == ["best_epoch", "exploding"]  # no over-fitting verdict on a diverged run
