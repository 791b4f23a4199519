"""Per-epoch checkpoints and --resume: atomic layout, RNG round trips, refusing a checkpoint
of other data or options, and resume equivalence (also after kill -9 of a real process)."""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import keyword_frame

from modelqa.errors import RunError
from modelqa.train.checkpoint import POINTER, EpochCheckpointer

_frame = keyword_frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("resumedata")
    _frame(20, 0).to_csv(d / "train.csv", index=False)
    _frame(8, 1).to_csv(d / "val.csv", index=False)
    _frame(8, 2).to_csv(d / "test.csv", index=False)
    return d


ARGS = dict(text_col="sentence", label_col="emotion", epochs=3, lr=5e-3, batch_size=8, seed=7, device="cpu",
            patience=0)


def _train(files, out, tiny_model, **kw):
    from modelqa.api.train import train_text

    args = dict(data=files / "train.csv", val_data=files / "val.csv", test_data=files / "test.csv", out=out,
                base_model=tiny_model, evaluate_test=False, **ARGS)
    args.update(kw)
    return train_text(**args)


def _strip(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _same_weights(a: Path, b: Path) -> None:
    import torch

    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


@pytest.fixture(scope="module")
def reference(files, tiny_model, tmp_path_factory):
    """An uninterrupted 3-epoch run."""
    out = tmp_path_factory.mktemp("ref") / "model"
    return _train(files, out, tiny_model), out


# ---------------------------------------------------------------- the checkpointer alone

def _toy():
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))
    return model, opt, sched


def _step(model, opt, sched):
    import torch

    x = torch.randn(5, 4)
    loss = model(x).pow(2).mean()
    loss.backward()
    opt.step()
    sched.step()
    opt.zero_grad()


def test_round_trip_restores_weights_optimizer_scheduler_and_rngs(tmp_path):
    import torch

    model, opt, sched = _toy()
    rng = np.random.default_rng(3)
    for _ in range(3):
        _step(model, opt, sched)
    ck = EpochCheckpointer(tmp_path / "ck", fingerprint={"lr": 0.01})
    ck.save(1, model=model, optimizer=opt, scheduler=sched, rng=rng, state={"history": [{"epoch": 1}]},
            best_weights=model.state_dict())
    snap = (torch.get_rng_state(), copy.deepcopy(rng), random.getstate(), np.random.get_state())
    _step(model, opt, sched)
    after = {k: v.clone() for k, v in model.state_dict().items()}
    torch.set_rng_state(snap[0])
    random.setstate(snap[2])
    np.random.set_state(snap[3])
    expected = (torch.rand(3), snap[1].random(3), random.random(), np.random.rand())

    model2, opt2, sched2 = _toy()
    torch.manual_seed(123)
    random.seed(5)
    np.random.seed(5)
    rng2 = np.random.default_rng(99)
    ck2 = EpochCheckpointer(tmp_path / "ck", fingerprint={"lr": 0.01})
    assert ck2.latest() == {"epoch": 1, "state": {"history": [{"epoch": 1}]}, "fingerprint": {"lr": 0.01}}
    state = ck2.restore(model=model2, optimizer=opt2, scheduler=sched2, rng=rng2)
    assert state == {"history": [{"epoch": 1}]}
    assert sched2.last_epoch == sched.last_epoch - 1
    got = (torch.rand(3), rng2.random(3), random.random(), np.random.rand())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    assert got[2] == expected[2] and got[3] == expected[3]
    # the next step from the restored state is bit-identical to the uninterrupted one
    ck2.restore(model=model2, optimizer=opt2, scheduler=sched2, rng=rng2)
    _step(model2, opt2, sched2)
    for k, v in model2.state_dict().items():
        assert torch.equal(v, after[k]), k
    assert set(ck2.restore_best()) == set(model.state_dict())


def test_files_are_safetensors_json_and_weights_only(tmp_path):
    import torch

    model, opt, sched = _toy()
    ck = EpochCheckpointer(tmp_path / "ck")
    ck.save(2, model=model, optimizer=opt, scheduler=sched, rng=np.random.default_rng(0), state={})
    sub = tmp_path / "ck" / "epoch-0002"
    assert {p.name for p in sub.iterdir()} == {"model.safetensors", "trainer.pt", "state.json"}
    torch.load(sub / "trainer.pt", weights_only=True)  # no pickled objects beyond tensors and plain data
    assert json.loads((tmp_path / "ck" / POINTER).read_text())["folder"] == "epoch-0002"


def test_tied_weights_can_be_saved(tmp_path):
    import torch

    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 10, bias=False))
    model[1].weight = model[0].weight  # shared memory, like tied embeddings
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ck = EpochCheckpointer(tmp_path / "ck")
    ck.save(1, model=model, optimizer=opt, rng=np.random.default_rng(0), state={}, best_weights=model.state_dict())
    ck.restore(model=model, optimizer=opt, rng=np.random.default_rng(0))


def test_a_kill_at_any_point_leaves_the_previous_checkpoint(tmp_path):
    model, opt, sched = _toy()
    rng = np.random.default_rng(0)
    folder = tmp_path / "ck"
    ck = EpochCheckpointer(folder)
    best = model.state_dict()
    ck.save(1, model=model, optimizer=opt, scheduler=sched, rng=rng, state={"e": 1}, best_weights=best)
    # killed while writing epoch 2 (a staging folder) and after its rename, before the pointer flip
    (folder / ".epoch-0002.abc").mkdir()
    (folder / ".epoch-0002.abc" / "model.safetensors").write_bytes(b"half")
    (folder / "epoch-0002").mkdir()
    (folder / "epoch-0002" / "state.json").write_text("{not json")
    assert ck.latest()["epoch"] == 1 and ck.latest()["state"] == {"e": 1}
    assert ck.restore(model=model, optimizer=opt, scheduler=sched, rng=rng) == {"e": 1}
    # the next save replaces the debris and removes the older epoch; an unchanged best is linked
    ck.save(2, model=model, optimizer=opt, scheduler=sched, rng=rng, state={"e": 2}, best_weights=best)
    ck.save(3, model=model, optimizer=opt, scheduler=sched, rng=rng, state={"e": 3}, best_weights=best)
    assert sorted(p.name for p in folder.iterdir()) == [POINTER, "epoch-0003"]
    assert (folder / "epoch-0003" / "best.safetensors").is_file()
    assert ck.latest()["state"] == {"e": 3}
    ck.clear()
    assert not folder.exists() and ck.latest() is None


def test_a_different_fingerprint_is_refused_naming_the_difference(tmp_path):
    model, opt, _ = _toy()
    rng = np.random.default_rng(0)
    EpochCheckpointer(tmp_path / "ck", fingerprint={"lr": 0.01, "data": "abc", "seed": 1}).save(
        1, model=model, optimizer=opt, rng=rng, state={})
    other = EpochCheckpointer(tmp_path / "ck", fingerprint={"lr": 0.02, "data": "abc", "seed": 1})
    with pytest.raises(RunError) as err:
        other.restore(model=model, optimizer=opt, rng=rng)
    assert "lr: 0.01 (checkpoint) vs 0.02 (now)" in str(err.value) and "seed" not in str(err.value)
    EpochCheckpointer(tmp_path / "ck", fingerprint={"lr": 0.01, "data": "abc", "seed": 1}).verify()


def test_a_broken_pointer_is_a_run_error(tmp_path):
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / POINTER).write_text(json.dumps({"epoch": 4, "folder": "epoch-0004"}))
    with pytest.raises(RunError, match="missing or incomplete"):
        EpochCheckpointer(tmp_path / "ck").latest()


# ---------------------------------------------------------------- train text

class _Interrupt:
    """Progress that raises KeyboardInterrupt when epoch ``at`` starts."""

    def __init__(self, at: int):
        self.at = at
        self.lines: list[str] = []

    def start(self, total, description):
        if description.startswith(f"Epoch {self.at}/"):
            raise KeyboardInterrupt

    def advance(self, n=1):
        pass

    def finish(self):
        pass

    def log(self, message):
        self.lines.append(message)


def test_completed_run_removes_its_checkpoint(reference):
    result, out = reference
    assert not (out / ".checkpoint").exists()
    assert [h["epoch"] for h in result.history] == [1, 2, 3]


def test_resume_after_an_interruption_equals_an_uninterrupted_run(files, tiny_model, tmp_path, reference):
    ref, ref_out = reference
    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        _train(files, out, tiny_model, progress=_Interrupt(3))
    ck = EpochCheckpointer(out / ".checkpoint")
    assert ck.latest()["epoch"] == 2 and not (out / "model.safetensors").exists()
    progress = _Interrupt(0)
    res = _train(files, out, tiny_model, resume=True, progress=progress)
    assert any("resuming from the checkpoint of epoch 2" in line for line in progress.lines)
    assert _strip(res.history) == _strip(ref.history)
    assert res.best_epoch == ref.best_epoch
    _same_weights(out, ref_out)
    assert not (out / ".checkpoint").exists()
    meta = json.loads((out / "modelqa.json").read_text())
    assert meta["training_args"]["resume"] is True


def test_resume_keeps_the_best_weights_of_an_earlier_epoch(files, tiny_model, tmp_path):
    """lr 1e-12: epoch 1 stays the best; after resuming at epoch 3 the saved model is epoch 1's."""
    kw = dict(lr=1e-12, min_delta=1e-3, epochs=3)
    ref = _train(files, tmp_path / "ref", tiny_model, **kw)
    assert ref.best_epoch == 1
    with pytest.raises(KeyboardInterrupt):
        _train(files, tmp_path / "cut", tiny_model, progress=_Interrupt(3), **kw)
    res = _train(files, tmp_path / "cut", tiny_model, resume=True, **kw)
    assert _strip(res.history) == _strip(ref.history) and res.best_epoch == 1
    _same_weights(tmp_path / "cut", tmp_path / "ref")


def test_resume_after_early_stopping_trains_no_more(files, tiny_model, tmp_path, monkeypatch):
    import modelqa.train.text as text_mod

    kw = dict(lr=1e-12, epochs=5, patience=1, min_delta=1e-3)
    ref = _train(files, tmp_path / "ref", tiny_model, **kw)
    assert ref.stopped_early and len(ref.history) == 2

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "es"
    monkeypatch.setattr(text_mod, "save_text_classifier", killed)  # killed after training, before saving
    with pytest.raises(KeyboardInterrupt):
        _train(files, out, tiny_model, **kw)
    monkeypatch.undo()
    assert EpochCheckpointer(out / ".checkpoint").latest()["state"]["stopped_early"] is True
    res = _train(files, out, tiny_model, resume=True, progress=_Interrupt(3), **kw)  # epoch 3 would raise
    assert res.stopped_early and _strip(res.history) == _strip(ref.history) and res.best_epoch == 1
    assert any("early stopping" in n for n in res.notes)
    _same_weights(out, tmp_path / "ref")


def test_resume_with_other_arguments_is_refused(files, tiny_model, tmp_path):
    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        _train(files, out, tiny_model, progress=_Interrupt(2))
    with pytest.raises(RunError) as err:
        _train(files, out, tiny_model, resume=True, lr=1e-3)
    assert "lr: 0.005 (checkpoint) vs 0.001 (now)" in str(err.value)
    other = files.parent / "other.csv"
    _frame(20, 5).to_csv(other, index=False)
    with pytest.raises(RunError, match="train_rows"):
        _train(files, out, tiny_model, resume=True, data=other)
    assert (out / ".checkpoint").exists()  # refusing keeps the checkpoint


def test_without_resume_an_old_checkpoint_is_discarded(files, tiny_model, tmp_path, reference):
    ref, _ = reference
    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        _train(files, out, tiny_model, progress=_Interrupt(2), lr=1e-3)
    progress = _Interrupt(0)
    res = _train(files, out, tiny_model, progress=progress)
    assert any("discarding the checkpoint of epoch 1" in line for line in progress.lines)
    assert _strip(res.history) == _strip(ref.history)


def test_resume_without_a_checkpoint_starts_at_epoch_one(files, tiny_model, tmp_path, reference):
    ref, _ = reference
    progress = _Interrupt(0)
    res = _train(files, tmp_path / "fresh", tiny_model, resume=True, progress=progress)
    assert any("training from epoch 1" in line for line in progress.lines)
    assert _strip(res.history) == _strip(ref.history)


def test_kill_9_mid_epoch_then_resume_gives_the_same_history(files, tiny_model, tmp_path, reference):
    """A real ``modelqa train text`` process killed with SIGKILL during epoch 2, then --resume."""
    ref, ref_out = reference
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "modelqa", "train", "text", "--data", str(files / "train.csv"),
           "--val-data", str(files / "val.csv"), "--test-data", str(files / "test.csv"),
           "--text-col", "sentence", "--label-col", "emotion", "--base-model", str(tiny_model),
           "--epochs", "3", "--lr", "5e-3", "--batch-size", "8", "--seed", "7", "--device", "cpu",
           "--patience", "0", "--out", str(out), "--quiet"]
    env = {**os.environ, "MODELQA_TEST_STEP_DELAY": "0.3"}  # 8 steps: ~2.4 s per epoch
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pointer = out / ".checkpoint" / POINTER
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if pointer.exists() and json.loads(pointer.read_text())["epoch"] == 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        assert pointer.exists(), "no checkpoint of epoch 1 in time"
        time.sleep(0.8)  # well inside epoch 2
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert EpochCheckpointer(out / ".checkpoint").latest()["epoch"] == 1  # died during epoch 2
    assert not (out / "history.json").exists()

    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    history = json.loads((out / "history.json").read_text())
    assert _strip(history) == _strip(ref.history)
    _same_weights(out, ref_out)
    assert not (out / ".checkpoint").exists()
    assert (out / "evaluation" / "metrics.json").exists()
