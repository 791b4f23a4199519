"""Prediction chunks sized by work: a chunk closes after about CHUNK_SECONDS of compute or
DEFAULT_CHUNK_ROWS rows; the boundaries go into the journal's manifest and a resumed run reuses
them whatever its own speed."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from test_resume_prediction import _Crash

from modelqa.engine import predict as engine
from modelqa.engine.journal import MANIFEST, ChunkJournal


class _Clock:
    """A fake ``time`` for the engine: each forward call takes ``seconds_per_row`` a row, exactly."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def _slow(model, clock: _Clock, seconds_per_row: float):
    forward = engine.torch_forward(model)

    def slow(batch):
        clock.now += seconds_per_row * len(batch.rows)
        return forward(batch)

    return slow


@pytest.fixture(scope="module")
def clf(tiny_model):
    from modelqa.adapters.hf import load_hf_classifier

    return load_hf_classifier(tiny_model, device="cpu")


def _texts(n: int) -> list[str]:
    rng = np.random.default_rng(1)
    words = ["good", "bad", "plot", "actor", "fine", "boring"]
    return [" ".join(rng.choice(words, size=int(rng.integers(2, 12)))) for _ in range(n)]


def test_chunk_plan_sizes_by_measured_speed():
    plan = engine.ChunkPlan(10_000, chunk_rows=None, seconds=10.0)
    assert plan.get(0) == (0, engine.PROBE_ROWS) and plan.get(1) == (64, 128)  # speed not known yet
    plan.timed(64, 0.64)  # 100 rows/s: 10 s is 1,000 rows
    assert plan.get(2) == (128, 1128)
    plan.timed(1000, 0.1)  # much faster now: capped at 4,096 rows
    assert plan.get(3)[1] - plan.get(3)[0] == engine.DEFAULT_CHUNK_ROWS
    fixed = engine.ChunkPlan(100, chunk_rows=40)
    assert fixed.bounds == [(0, 40), (40, 80), (80, 100)] and fixed.get(3) is None
    resumed = engine.ChunkPlan(100, chunk_rows=None, recorded=[(0, 7), (7, 30)])
    assert resumed.get(1) == (7, 30) and resumed.get(2) == (30, 30 + engine.PROBE_ROWS)
    assert engine.ChunkPlan(100, chunk_rows=None, recorded=[(5, 9)]).bounds == []  # not a prefix


def test_chunks_close_by_time_and_a_resume_reuses_the_boundaries(clf, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_SECONDS", 0.15)
    monkeypatch.setattr(engine, "PROBE_ROWS", 16)
    texts = _texts(400)
    kw = {"max_length": 32, "batch_size": 16, "prefetch": True}
    ref = engine.predict_texts(clf.model, clf.tokenizer, texts, chunk_rows=400, **kw)
    journal = ChunkJournal.open(tmp_path / "j", {"run": 1})
    with pytest.raises(KeyboardInterrupt):  # 2 ms a row: about 75 rows per 0.15 s chunk
        clock = _Clock()
        monkeypatch.setattr(engine, "time", clock)
        engine.predict_texts(clf.model, clf.tokenizer, texts, store=journal, progress=_Crash(250),
                             forward=_slow(clf.model, clock, 0.002), **kw)
    monkeypatch.setattr(engine, "time", time)
    entries = json.loads((tmp_path / "j" / MANIFEST).read_text())["chunks"]
    bounds = [(entries[str(i)]["start"], entries[str(i)]["stop"]) for i in range(len(entries))]
    assert bounds[0] == (0, 16) and bounds[1] == (16, 32)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    # 500 rows/s measured on the probes: 0.15 s of compute is 75 rows (not 4,096)
    assert [e - s for s, e in bounds[2:]] == [75] * (len(bounds) - 2) and len(bounds) >= 3
    # resume at full speed: the finished chunks are taken as they were cut, the rest is predicted
    again = ChunkJournal.open(tmp_path / "j", {"run": 1})
    assert again.bounds() == bounds
    out = engine.predict_texts(clf.model, clf.tokenizer, texts, store=again, **kw)
    assert out.resumed_rows == bounds[-1][1]
    after = json.loads((tmp_path / "j" / MANIFEST).read_text())["chunks"]
    assert [(after[str(i)]["start"], after[str(i)]["stop"]) for i in range(len(bounds))] == bounds
    np.testing.assert_allclose(out.probs, ref.probs, atol=1e-5)
    assert out.n_tokens == ref.n_tokens
