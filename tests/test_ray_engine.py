"""--engine ray must give the local engine's predictions, in input order, and modelqa errors.

One local Ray (2 CPUs, no dashboard) serves the module; every prediction run starts its own
actor pool, and each actor imports torch and loads the model (a few seconds on 2 cores), so
the module keeps to three runs."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import RecordingProgress

from modelqa.engine.predict import predict_texts
from modelqa.errors import ModelError, UsageError

MAX_LENGTH = 32
BLOCK_ROWS = 64
#: Largest |ray - local| seen on a probability: 0.0 (each block runs the local engine's own
#: chunk, so the arithmetic is the same); the test allows 1e-5.
ATOL = 1e-5


@pytest.fixture(scope="module")
def ray_session():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"ray[data] is not installed: {exc}")
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"ray.init could not start a local Ray: {exc.__class__.__name__}: {exc}")
        started = True
    yield ray
    if started:
        ray.shutdown()


def _texts(n: int = 300) -> list[str]:
    """Lengths from 0 to ~100 words, shuffled, so that blocks sort and pad differently; every
    seventh text is longer than MAX_LENGTH tokens."""
    rng = np.random.default_rng(7)
    words = "good bad awful great table chair market prices rise fall again today the of".split()
    out = []
    for i in range(n):
        size = int(rng.integers(60, 100)) if i % 7 == 0 else int(rng.integers(0, 20))
        out.append(" ".join(rng.choice(words, size=size)))
    return out


@pytest.fixture(scope="module")
def loaded(tiny_model):
    from modelqa.adapters.hf import load_hf_classifier

    return load_hf_classifier(tiny_model, device="cpu")


class _MemoryStore:
    """A ChunkStore in memory: chunk RESUMED is already done (taken from the local run)."""

    def __init__(self, done: dict):
        self.chunks, self.saved = dict(done), []

    def load(self, index):
        return self.chunks.get(index)

    def save(self, index, result):
        self.chunks[index] = result
        self.saved.append(index)


RESUMED = 2  # rows 128..191 come from the store, not from Ray


@pytest.fixture(scope="module")
def both(ray_session, tiny_model, loaded):
    """One Ray run (with a store holding one finished chunk) and the local engine on the same texts."""
    from modelqa.engine.predict import ChunkResult
    from modelqa.engine.ray_engine import predict_texts_ray

    texts = _texts()
    local_store = _MemoryStore({})
    local = predict_texts(loaded.model, loaded.tokenizer, texts, max_length=MAX_LENGTH, batch_size=16,
                          chunk_rows=BLOCK_ROWS, store=local_store)
    store = _MemoryStore({RESUMED: local_store.chunks[RESUMED]})
    progress = RecordingProgress()
    remote = predict_texts_ray(tiny_model, texts, max_length=MAX_LENGTH, batch_size=16, block_rows=BLOCK_ROWS,
                               num_actors=2, progress=progress, store=store)
    assert isinstance(store.chunks[0], ChunkResult)
    return texts, local, remote, progress, local_store, store


def test_check_engine():
    from modelqa.engine.ray_engine import ENGINE_CHOICES, check_engine

    assert ENGINE_CHOICES == ("local", "ray")
    assert check_engine(None) == "local"
    assert check_engine(" Ray ") == "ray"
    with pytest.raises(UsageError, match="`engine` must be one of local, ray, not 'spark'"):
        check_engine("spark")


def test_ray_missing_is_a_usage_error(monkeypatch, tmp_path):
    import sys

    from modelqa.engine.ray_engine import predict_texts_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(UsageError, match=r'pip install "modelqa\[ray\]"'):
        predict_texts_ray(tmp_path, ["a text"], max_length=MAX_LENGTH)


def test_unreachable_cluster_names_ray_address(ray_session, monkeypatch):
    from modelqa.engine.ray_engine import connect_ray
    from modelqa.errors import RunError

    def refuse(**kwargs):
        raise ConnectionError(f"could not reach {kwargs['address']}")

    monkeypatch.setattr(ray_session, "is_initialized", lambda: False)
    monkeypatch.setattr(ray_session, "init", refuse)
    monkeypatch.setenv("RAY_ADDRESS", "ray://nohead:10001")
    with pytest.raises(RunError, match="RAY_ADDRESS=ray://nohead:10001"):
        connect_ray()


def test_equals_local_engine(both):
    texts, local, remote, progress, _, _ = both
    assert remote.probs.shape == remote.logits.shape == (len(texts), 3)
    assert remote.probs.dtype == remote.logits.dtype == np.float32
    np.testing.assert_array_equal(remote.probs.argmax(1), local.probs.argmax(1))
    np.testing.assert_allclose(remote.probs, local.probs, atol=ATOL, rtol=0)
    np.testing.assert_allclose(remote.logits, local.logits, atol=ATOL, rtol=0)
    assert remote.n_tokens == local.n_tokens
    assert remote.n_truncated == local.n_truncated == sum(1 for i in range(len(texts)) if i % 7 == 0)
    assert remote.max_length == MAX_LENGTH and remote.seconds > 0
    assert progress.total == len(texts) and progress.done == len(texts) and progress.finished


def test_chunk_store_resumes_and_saves(both):
    """Chunks are the local engine's: the finished one is not sent to Ray, each other is saved
    once with the local engine's logits and counts."""
    texts, _, remote, _, local_store, store = both
    n_chunks = -(-len(texts) // BLOCK_ROWS)
    assert remote.resumed_rows == BLOCK_ROWS
    assert sorted(store.saved) == [i for i in range(n_chunks) if i != RESUMED]
    for i in store.saved:
        mine, ref = store.chunks[i], local_store.chunks[i]
        np.testing.assert_allclose(mine.logits, ref.logits, atol=ATOL, rtol=0)
        assert (mine.n_tokens, mine.n_truncated) == (ref.n_tokens, ref.n_truncated)


def test_input_order_restored(both, loaded):
    """Rows of very different lengths, each against the model run on that text alone."""
    texts, _, remote, _, _, _ = both
    lengths = np.array([len(t.split()) if i // BLOCK_ROWS != RESUMED else 50 for i, t in enumerate(texts)])
    picked = [int(i) for i in np.argsort(lengths)[:5]] + [int(i) for i in np.argsort(lengths)[-5:]]
    assert lengths[picked[0]] == 0 and lengths[picked[-1]] > 60
    for i in picked:
        alone = predict_texts(loaded.model, loaded.tokenizer, [texts[i]], max_length=MAX_LENGTH)
        np.testing.assert_allclose(remote.probs[i], alone.probs[0], atol=ATOL, rtol=0, err_msg=f"row {i}")


def test_missing_model_folder_is_a_model_error(ray_session, tmp_path):
    from modelqa.engine.ray_engine import predict_texts_ray

    with pytest.raises(ModelError, match="does not exist"):
        predict_texts_ray(tmp_path / "nope", ["a text"], max_length=MAX_LENGTH)


def test_actor_error_comes_back_as_the_modelqa_error(ray_session, tmp_path):
    """The folder passes the driver's checks, so the error is raised inside the actors."""
    from modelqa.engine.ray_engine import predict_texts_ray

    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "config.json").write_text("{not json", encoding="utf-8")
    (bad / "model.safetensors").write_bytes(b"0")
    with pytest.raises(ModelError, match="cannot read .*config.json") as info:
        predict_texts_ray(bad, ["one", "two", "three"], max_length=MAX_LENGTH, block_rows=2, num_actors=1)
    assert type(info.value) is ModelError  # not a RayTaskError(ModelError) with Ray's traceback


def test_bad_options(ray_session, tiny_model):
    from modelqa.engine.ray_engine import predict_texts_ray

    with pytest.raises(UsageError, match="block_rows"):
        predict_texts_ray(tiny_model, ["a"], max_length=MAX_LENGTH, block_rows=0)
    with pytest.raises(UsageError, match="CPU only"):
        predict_texts_ray(tiny_model, ["a"], max_length=MAX_LENGTH, quantize="int8", gpus_per_actor=1)
    if not ray_session.cluster_resources().get("GPU"):
        with pytest.raises(UsageError, match="GPU"):
            predict_texts_ray(tiny_model, ["a"], max_length=MAX_LENGTH, gpus_per_actor=1)


def test_no_texts(ray_session, tiny_model):
    from modelqa.engine.ray_engine import predict_texts_ray

    out = predict_texts_ray(tiny_model, [], max_length=MAX_LENGTH)
    assert out.probs.shape == (0, 3) and out.n_tokens == 0 and out.n_truncated == 0


def test_int8_quantized_actors_match_local_int8(ray_session, tiny_model):
    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.engine.quantize import quantize_model
    from modelqa.engine.ray_engine import predict_texts_ray

    texts = _texts(40)
    clf = load_hf_classifier(tiny_model, device="cpu")
    local = predict_texts(quantize_model(clf.model, "int8"), clf.tokenizer, texts, max_length=MAX_LENGTH,
                          chunk_rows=20)
    remote = predict_texts_ray(tiny_model, texts, max_length=MAX_LENGTH, quantize="int8", block_rows=20, num_actors=1)
    np.testing.assert_array_equal(remote.probs.argmax(1), local.probs.argmax(1))
    np.testing.assert_allclose(remote.probs, local.probs, atol=ATOL, rtol=0)


def test_evaluate_with_engine_ray_writes_the_local_run_folder(ray_session, tiny_model, tmp_path):
    """Through the API: the run folder of --engine ray equals the local one, byte for byte."""
    import pandas as pd

    from modelqa.api.evaluate import evaluate

    rng = np.random.default_rng(3)
    words = ["good", "bad", "plot", "actor", "boring", "superb", "ok"]
    frame = pd.DataFrame({"text": [" ".join(rng.choice(words, size=int(rng.integers(1, 30)))) for _ in range(150)],
                          "label": [["neg", "neu", "pos"][i] for i in rng.integers(0, 3, size=150)]})
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    kw = {"model": tiny_model, "data": data, "chunk_rows": 50, "device": "cpu", "n_resamples": 50}
    local = evaluate(out=tmp_path / "local", **kw)
    remote = evaluate(out=tmp_path / "ray", engine="ray", ray_actors=2, **kw)
    assert remote.run_info["engine"] == "ray"
    for name in ("predictions.csv", "metrics.json", "errors.csv"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert remote.metrics["accuracy"] == local.metrics["accuracy"]
