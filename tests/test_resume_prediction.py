"""Resumable evaluate / predict: durable chunks, SIGKILL then the same command, identical files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelqa.api.evaluate import evaluate
from modelqa.api.predict import predict
from modelqa.engine.journal import MANIFEST, ChunkJournal, journal_dir_for, model_fingerprint
from modelqa.engine.predict import ChunkResult
from modelqa.errors import RunError

WORDS = ["good", "bad", "fine", "great", "awful", "movie", "plot", "actor", "boring", "superb", "ok", "meh"]
LABELS = ["neg", "neu", "pos"]


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 40)))) for _ in range(n)]
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "text": texts,
                         "label": [LABELS[i] for i in rng.integers(0, 3, size=n)]})


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("resume") / "data.csv"
    _frame(600).to_csv(path, index=False)
    return path


class _Crash:
    """Progress that raises after ``after`` rows have been predicted (a crash mid-run)."""

    def __init__(self, after: int | None) -> None:
        self.after, self.seen, self.lines = after, 0, []

    def start(self, total, description):
        pass

    def advance(self, n=1):
        self.seen += n
        if self.after is not None and self.seen >= self.after:
            raise KeyboardInterrupt

    def finish(self):
        pass

    def log(self, message):
        self.lines.append(message)


# ------------------------------------------------------------------ the journal itself


def test_journal_round_trip_and_fingerprint_refusal(tmp_path):
    fp = {"model_sha256": "a" * 64, "data_sha256": "b" * 64, "max_length": 32}
    j = ChunkJournal.open(tmp_path / "j", fp)
    logits = np.arange(12, dtype=np.float32).reshape(4, 3)
    j.save(2, ChunkResult(logits=logits, n_tokens=17, n_truncated=1))
    again = ChunkJournal.open(tmp_path / "j", fp)
    got = again.load(2)
    assert got is not None and got.n_tokens == 17 and got.n_truncated == 1
    np.testing.assert_array_equal(got.logits, logits)
    assert again.load(0) is None and again.rows_done() == 4

    with pytest.raises(RunError) as exc:
        ChunkJournal.open(tmp_path / "j", {**fp, "data_sha256": "c" * 64, "max_length": 64})
    msg = str(exc.value)
    assert "the data file changed (sha256 bbbbbbbbbbbb… now cccccccccccc…)" in msg
    assert "max length was 32, now 64" in msg and "`restart=True`" in msg
    fresh = ChunkJournal.open(tmp_path / "j", {**fp, "max_length": 64}, restart=True)
    assert fresh.n_done == 0 and fresh.load(2) is None


def test_a_damaged_chunk_is_predicted_again(tmp_path):
    j = ChunkJournal.open(tmp_path / "j", {"x": 1})
    j.save(0, ChunkResult(logits=np.ones((2, 2), np.float32), n_tokens=3, n_truncated=0))
    path = tmp_path / "j" / "chunk-00000.npy"
    path.write_bytes(path.read_bytes()[:-4] + b"\0\0\0\1")
    assert ChunkJournal.open(tmp_path / "j", {"x": 1}).load(0) is None


def test_model_fingerprint_follows_the_weights_not_hidden_folders(tiny_model, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(tiny_model, copy)
    before = model_fingerprint(copy)
    (copy / ".modelqa-onnx").mkdir()
    (copy / ".modelqa-onnx" / "model.onnx").write_bytes(b"cache")
    assert model_fingerprint(copy) == before
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert model_fingerprint(copy) != before


# ------------------------------------------------------------------ through the API


def test_predict_resumes_after_a_crash_with_identical_output(tiny_model, data_file, tmp_path):
    ref = tmp_path / "ref.csv"
    predict(model=tiny_model, data=data_file, id_col="id", out=ref, chunk_rows=64, device="cpu")
    out = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        predict(model=tiny_model, data=data_file, id_col="id", out=out, chunk_rows=64, device="cpu",
                progress=_Crash(after=300))
    journal = journal_dir_for(out, run_folder=False)
    manifest = json.loads((journal / MANIFEST).read_text())
    assert 3 <= len(manifest["chunks"]) < 10 and not out.exists()
    progress = _Crash(after=None)
    frame = predict(model=tiny_model, data=data_file, id_col="id", out=out, chunk_rows=64, device="cpu",
                    progress=progress)
    assert any(f"{64 * len(manifest['chunks'])} of 600 rows already predicted" in line for line in progress.lines)
    assert out.read_bytes() == ref.read_bytes()
    assert len(frame) == 600 and not journal.exists()


def test_evaluate_resumes_and_refuses_changed_data(tiny_model, data_file, tmp_path):
    kw = {"model": tiny_model, "text_col": "text", "label_col": "label", "id_col": "id", "chunk_rows": 100,
          "device": "cpu", "n_resamples": 50}
    ref = evaluate(data=data_file, out=tmp_path / "ref", **kw)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        evaluate(data=data_file, out=out, progress=_Crash(after=250), **kw)
    assert (out / ".partial" / MANIFEST).exists()

    changed = tmp_path / "changed.csv"
    _frame(600, seed=1).to_csv(changed, index=False)
    shutil.copy(changed, data_file.parent / "other.csv")
    with pytest.raises(RunError, match=r"the data file changed"):
        evaluate(data=data_file.parent / "other.csv", out=out, **kw)

    ev = evaluate(data=data_file, out=out, **kw)
    assert ev.run_info["resumed_rows"] == 200
    for name in ("predictions.csv", "metrics.json", "errors.csv", "confusions.csv"):
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes(), name
    assert ev.metrics["accuracy"] == ref.metrics["accuracy"]
    assert not (out / ".partial").exists()


def test_restart_discards_the_unfinished_run(tiny_model, data_file, tmp_path):
    out = tmp_path / "p.csv"
    with pytest.raises(KeyboardInterrupt):
        predict(model=tiny_model, data=data_file, out=out, chunk_rows=64, device="cpu", progress=_Crash(200))
    progress = _Crash(after=None)
    predict(model=tiny_model, data=data_file, out=out, chunk_rows=64, device="cpu", progress=progress,
            restart=True)
    assert not any("already predicted" in line for line in progress.lines)
    assert out.exists() and not journal_dir_for(out, run_folder=False).exists()


# ------------------------------------------------------------------ a real SIGKILL


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelqa", *args, "--device", "cpu", "--chunk-rows", "50", "--quiet"]


def _kill_after_chunks(cmd: list[str], manifest: Path, chunks: int, extra_sleep: float) -> None:
    env = {**os.environ, "MODELQA_TEST_CHUNK_DELAY": "0.25"}  # 12 chunks: about 3 s of predicting
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.exists() and len(json.loads(manifest.read_text())["chunks"]) >= chunks:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(extra_sleep)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize("extra_sleep", [0.12])
def test_predict_killed_with_sigkill_resumes_byte_for_byte(tiny_model, data_file, tmp_path, extra_sleep):
    ref = tmp_path / "ref.csv"
    args = ("predict", "--model", str(tiny_model), "--data", str(data_file), "--id-col", "id")
    done = subprocess.run(_cli(*args, "--out", str(ref)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out.csv"
    manifest = journal_dir_for(out, run_folder=False) / MANIFEST
    _kill_after_chunks(_cli(*args, "--out", str(out)), manifest, chunks=3, extra_sleep=extra_sleep)
    assert not out.exists()
    n_done = len(json.loads(manifest.read_text())["chunks"])
    assert 3 <= n_done < 12
    done = subprocess.run(_cli(*args, "--out", str(out)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == ref.read_bytes()
    assert not manifest.parent.exists()


@pytest.mark.slow
def test_evaluate_killed_with_sigkill_resumes_and_a_changed_model_is_refused(tiny_model, data_file, tmp_path):
    args = ("evaluate", "--model", str(tiny_model), "--data", str(data_file), "--id-col", "id")
    ref = tmp_path / "ref"
    done = subprocess.run(_cli(*args, "--out", str(ref)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "run"
    _kill_after_chunks(_cli(*args, "--out", str(out)), out / ".partial" / MANIFEST, chunks=2, extra_sleep=0.05)
    assert not (out / "metrics.json").exists()

    model2 = tmp_path / "model2"
    shutil.copytree(tiny_model, model2)
    cfg = json.loads((model2 / "config.json").read_text())
    cfg["layer_norm_eps"] = 1e-6
    (model2 / "config.json").write_text(json.dumps(cfg))
    args2 = ("evaluate", "--model", str(model2), "--data", str(data_file), "--id-col", "id")
    refused = subprocess.run(_cli(*args2, "--out", str(out)), capture_output=True, text=True, timeout=300)
    assert refused.returncode == 5
    assert "the model folder changed" in refused.stderr and "Traceback" not in refused.stderr

    done = subprocess.run(_cli(*args, "--out", str(out)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("predictions.csv", "metrics.json", "errors.csv", "confusions.csv", "distribution.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    run = json.loads((out / "run.json").read_text())
    assert run["resumed_rows"] >= 100
    assert not (out / ".partial").exists()
