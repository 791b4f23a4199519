"""Reading training histories: modelqa history.json, Keras History.history JSON, Hugging Face
trainer_state.json (steps-based logging), and the errors for what is none of them."""

from __future__ import annotations

import json
import math

import pytest

from modelqa.analysis.history import detect_format, from_records, read_history
from modelqa.errors import DataError


def write(path, obj, *, allow_nan=False):
    path.write_text(json.dumps(obj, allow_nan=allow_nan), encoding="utf-8")
    return path


MODELQA_ROWS = [
    {"epoch": 1, "train_loss": 1.05, "val_loss": 0.80, "val_accuracy": 0.70, "val_f1_macro": 0.66,
     "learning_rate": 9e-5, "seconds": 40.1, "best": True},
    {"epoch": 2, "train_loss": 0.62, "val_loss": 0.55, "val_accuracy": 0.81, "val_f1_macro": 0.79,
     "learning_rate": 5e-5, "seconds": 39.0, "best": True},
    {"epoch": 3, "train_loss": 0.41, "val_loss": 0.50, "val_accuracy": 0.84, "val_f1_macro": 0.83,
     "learning_rate": 1e-5, "seconds": 38.7, "best": True},
]


def trainer_state(*, eval_every_steps: int | None = None, steps_per_epoch: int = 40, epochs: int = 3,
                  logging_steps: int = 10) -> dict:
    """A trainer_state.json shaped like transformers 4.4x writes it."""
    log = []
    total = steps_per_epoch * epochs
    for step in range(1, total + 1):
        epoch = round(step / steps_per_epoch, 4)
        if step % logging_steps == 0:
            log.append({"epoch": epoch, "grad_norm": 3.1, "learning_rate": 5e-5 * (1 - step / total),
                        "loss": round(1.2 * 0.97 ** step, 4), "step": step})
        evaluate = (step % eval_every_steps == 0) if eval_every_steps else (step % steps_per_epoch == 0)
        if evaluate:
            log.append({"epoch": epoch, "eval_accuracy": round(0.6 + 0.1 * step / total, 4), "eval_f1": 0.5,
                        "eval_loss": round(1.0 - 0.3 * step / total, 4), "eval_runtime": 1.9,
                        "eval_samples_per_second": 120.0, "eval_steps_per_second": 15.0, "step": step})
    log.append({"epoch": float(epochs), "step": total, "total_flos": 1.2e13, "train_loss": 0.41,
                "train_runtime": 300.5, "train_samples_per_second": 12.0, "train_steps_per_second": 0.4})
    return {"best_metric": None, "best_model_checkpoint": None, "epoch": float(epochs), "eval_steps": 500,
            "global_step": total, "is_hyper_param_search": False, "is_local_process_zero": True,
            "is_world_process_zero": True, "log_history": log, "logging_steps": logging_steps,
            "max_steps": total, "num_train_epochs": epochs, "save_steps": 500, "total_flos": 1.2e13,
            "train_batch_size": 8, "trial_name": None, "trial_params": None}


def test_modelqa_history(tmp_path):
    h = read_history(write(tmp_path / "history.json", MODELQA_ROWS))
    assert h.format == "modelqa"
    assert h.epochs == (1, 2, 3)
    assert h.train_loss == (1.05, 0.62, 0.41)
    assert h.val_loss == (0.80, 0.55, 0.50)
    assert set(h.val_metrics) == {"accuracy", "f1_macro"} and not h.train_metrics
    assert h.main_metric == "accuracy"
    assert h.learning_rate == (9e-5, 5e-5, 1e-5)
    row = h.rows()[0]
    assert list(row) == ["epoch", "train_loss", "val_loss", "val_accuracy", "val_f1_macro", "learning_rate"]


def test_modelqa_zero_based_epochs_are_shifted():
    rows = [{"epoch": i, "loss": 1.0 - 0.1 * i, "val_loss": 1.0 - 0.05 * i} for i in range(3)]
    assert from_records(rows).epochs == (1, 2, 3)


def test_a_folder_with_history_json(tmp_path):
    write(tmp_path / "history.json", MODELQA_ROWS)
    assert read_history(tmp_path).source == str(tmp_path / "history.json")


def test_keras_history(tmp_path):
    obj = {"loss": [0.9, 0.5, 0.3], "accuracy": [0.6, 0.8, 0.9], "val_loss": [0.8, 0.6, 0.55],
           "val_accuracy": [0.62, 0.75, 0.8], "val_auc": [0.7, 0.8, 0.85], "learning_rate": [1e-3, 1e-3, 5e-4]}
    h = read_history(write(tmp_path / "keras.json", obj))
    assert h.format == "keras"
    assert h.epochs == (1, 2, 3)
    assert h.train_loss == (0.9, 0.5, 0.3) and h.val_loss == (0.8, 0.6, 0.55)
    assert h.train_metrics == {"accuracy": (0.6, 0.8, 0.9)}
    assert h.val_metrics == {"accuracy": (0.62, 0.75, 0.8), "auc": (0.7, 0.8, 0.85)}
    assert h.main_metric == "accuracy"
    assert h.learning_rate == (1e-3, 1e-3, 5e-4)


def test_keras_old_acc_names_and_nan(tmp_path):
    obj = {"loss": [0.9, float("nan")], "acc": [0.6, 0.7], "val_loss": [0.8, 0.7], "val_acc": [0.5, 0.6]}
    h = read_history(write(tmp_path / "k.json", obj, allow_nan=True))
    assert h.main_metric == "accuracy"
    assert h.train_metrics["accuracy"] == (0.6, 0.7)
    assert math.isnan(h.train_loss[1])
    assert h.to_dict()["epochs"][1]["train_loss"] == "NaN"


def test_keras_without_accuracy_uses_first_metric_with_val_twin(tmp_path):
    obj = {"loss": [3.0, 2.0], "mae": [1.5, 1.2], "val_loss": [3.1, 2.5], "val_mae": [1.6, 1.4]}
    h = read_history(write(tmp_path / "k.json", obj))
    assert h.main_metric == "mae"


def test_keras_wrapped_in_history_key(tmp_path):
    h = read_history(write(tmp_path / "k.json", {"history": {"loss": [1.0, 0.5]}, "params": {"epochs": 2}}))
    assert h.format == "keras" and h.train_loss == (1.0, 0.5) and h.val_loss is None


def test_hf_trainer_state_epoch_eval_steps_logging(tmp_path):
    state = trainer_state()
    h = read_history(write(tmp_path / "trainer_state.json", state))
    assert h.format == "huggingface"
    assert h.epochs == (1, 2, 3)
    logs = state["log_history"]
    for epoch in (1, 2, 3):  # mean of the losses logged at epochs in (epoch - 1, epoch]
        losses = [e["loss"] for e in logs if "loss" in e and epoch - 1 < e["epoch"] <= epoch]
        assert len(losses) == 4
        assert h.train_loss[epoch - 1] == pytest.approx(sum(losses) / 4)
    evals = [e for e in logs if "eval_loss" in e]
    assert h.val_loss == tuple(e["eval_loss"] for e in evals)
    assert set(h.val_metrics) == {"accuracy", "f1"}  # runtime and speed are not metrics
    assert h.val_metrics["accuracy"] == tuple(e["eval_accuracy"] for e in evals)
    assert h.main_metric == "accuracy"
    assert h.learning_rate[0] == pytest.approx(5e-5 * (1 - 40 / 120))  # the last rate logged in epoch 1


def test_hf_steps_based_evaluation_keeps_the_last_eval_of_each_epoch(tmp_path):
    # 25 steps per epoch, logging every 10 and evaluating every 20 steps: fractional epochs
    # 0.4, 0.8, 1.2, ... and the last epoch (steps 51-75) is evaluated at 60 only.
    state = trainer_state(eval_every_steps=20, steps_per_epoch=25, logging_steps=10)
    h = read_history(write(tmp_path / "trainer_state.json", state))
    assert h.epochs == (1, 2, 3)
    by_step = {e["step"]: e for e in state["log_history"] if "eval_loss" in e}
    assert h.val_loss == (by_step[20]["eval_loss"], by_step[40]["eval_loss"], by_step[60]["eval_loss"])
    losses_epoch_1 = [e["loss"] for e in state["log_history"] if "loss" in e and e["step"] <= 25]
    assert h.train_loss[0] == pytest.approx(sum(losses_epoch_1) / len(losses_epoch_1))


def test_hf_epoch_missing_evaluation_is_none(tmp_path):
    state = trainer_state()
    state["log_history"] = [e for e in state["log_history"] if not ("eval_loss" in e and e["step"] == 80)]
    h = read_history(write(tmp_path / "trainer_state.json", state))
    assert h.val_loss[1] is None and h.val_loss[0] is not None


def test_detect_format():
    assert detect_format(MODELQA_ROWS) == "modelqa"
    assert detect_format({"loss": [1]}) == "keras"
    assert detect_format({"log_history": []}) == "huggingface"
    assert detect_format({"a": 1}) is None
    assert detect_format([1, 2]) is None


@pytest.mark.parametrize(("obj", "expected"), [
    ({"name": "model", "layers": 3}, "not a training history"),
    ([1, 2, 3], "not a training history"),
    ([], "empty"),
    ({}, "empty"),
    ({"loss": [], "val_loss": []}, "empty"),
    ({"loss": [1.0, 0.5, 0.3], "val_loss": [1.0, 0.6]}, "different lengths (loss 3, val_loss 2)"),
    ({"loss": [1.0, "low"]}, "'loss' value 2 is 'low', expected a number"),
    ({"log_history": [{"train_runtime": 3.0, "epoch": 1.0}]}, "no training loss and no evaluation"),
    ([{"epoch": 1, "note": "x"}], "no loss and no metric"),
])
def test_bad_histories_raise_data_error_naming_the_file(tmp_path, obj, expected):
    path = write(tmp_path / "h.json", obj)
    with pytest.raises(DataError) as info:
        read_history(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_not_json_and_missing_file(tmp_path):
    bad = tmp_path / "h.json"
    bad.write_text("{loss: [1, 2]", encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON .*line 1"):
        read_history(bad)
    with pytest.raises(DataError, match="no such file"):
        read_history(tmp_path / "absent.json")
    with pytest.raises(DataError, match="a folder without history.json or trainer_state.json"):
        read_history((tmp_path / "empty").resolve() if (tmp_path / "empty").mkdir() is None else None)
