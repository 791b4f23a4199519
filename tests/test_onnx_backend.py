"""The ONNX Runtime backend must give the torch model's logits, export once per weights, and
never trust a half-written or foreign cache entry."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install \"modelqa[onnx]\")")

from modelqa.adapters.hf import load_hf_classifier  # noqa: E402
from modelqa.engine import onnx_backend  # noqa: E402
from modelqa.engine.batching import Batch  # noqa: E402
from modelqa.engine.onnx_backend import (  # noqa: E402
    CACHE_FOLDER,
    META_FILE,
    MODEL_FILE,
    check_backend,
    onnx_forward,
    weights_hash,
)
from modelqa.engine.predict import predict_texts, torch_forward  # noqa: E402
from modelqa.errors import ModelError, UsageError  # noqa: E402

TEXTS = [
    "short",
    "a somewhat longer sentence about markets and prices rising again",
    "",
    "스포츠 경기 결과가 발표되었다",
    "word " * 200,  # longer than max_length: truncated
    "Mid-length text, with punctuation; and numbers 12345.",
] * 4


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Never write to the real ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def model_dir(tiny_model, tmp_path):
    """A private copy of the tiny classifier (the export writes into the model folder)."""
    return shutil.copytree(tiny_model, tmp_path / "model")


@pytest.fixture
def loaded(model_dir):
    return load_hf_classifier(model_dir, device="cpu")


def _count_exports(monkeypatch) -> list:
    calls = []
    real = onnx_backend.export_onnx

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(onnx_backend, "export_onnx", counting)
    return calls


def test_check_backend():
    assert check_backend("torch") == "torch"
    assert check_backend("ONNX") == "onnx"
    assert check_backend(None) == "torch"
    with pytest.raises(UsageError, match="`backend` must be one of torch, onnx"):
        check_backend("tensorrt")


def test_onnx_matches_torch_through_predict_texts(loaded, model_dir):
    fwd = onnx_forward(loaded.model, model_dir, threads=1)
    assert fwd.exported and fwd.onnx_path == model_dir / CACHE_FOLDER / weights_hash(model_dir)[:16] / MODEL_FILE
    ref = predict_texts(loaded.model, loaded.tokenizer, TEXTS, max_length=32, batch_size=5)
    got = predict_texts(loaded.model, loaded.tokenizer, TEXTS, max_length=32, batch_size=5, forward=fwd)
    assert got.logits.dtype == np.float32 and got.logits.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(got.logits, ref.logits, atol=1e-4)
    np.testing.assert_array_equal(got.probs.argmax(1), ref.probs.argmax(1))
    assert got.n_truncated == ref.n_truncated == 4
    meta = json.loads((fwd.onnx_path.parent / META_FILE).read_text())
    assert meta["sha256"] == weights_hash(model_dir) and meta["opset"] == onnx_backend.ONNX_OPSET
    assert meta["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert {"torch", "onnx", "onnxruntime"} <= set(meta)


def test_second_call_reuses_the_cached_export(loaded, model_dir, monkeypatch):
    first = onnx_forward(loaded.model, model_dir)
    mtime = first.onnx_path.stat().st_mtime_ns
    calls = _count_exports(monkeypatch)
    second = onnx_forward(loaded.model, model_dir)
    assert calls == [] and not second.exported and second.export_seconds == 0.0
    assert second.onnx_path == first.onnx_path and second.onnx_path.stat().st_mtime_ns == mtime
    assert len(list((model_dir / CACHE_FOLDER).iterdir())) == 1  # no staging folder left behind


def test_changed_weights_get_a_new_export(loaded, model_dir, monkeypatch):
    import torch

    first = onnx_forward(loaded.model, model_dir)
    with torch.no_grad():
        loaded.model.classifier.bias += 1.0
    loaded.model.save_pretrained(model_dir, safe_serialization=True)
    calls = _count_exports(monkeypatch)
    second = onnx_forward(loaded.model, model_dir)
    assert len(calls) == 1 and second.exported and second.onnx_path != first.onnx_path
    batch = _batch(loaded.tokenizer, ["changed weights", "two"])
    np.testing.assert_allclose(second(batch), _torch_logits(loaded.model, batch), atol=1e-4)


def test_read_only_model_folder_falls_back_to_the_user_cache(loaded, model_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root ignores permissions: refuse writes here instead
        real = tempfile.mkdtemp

        def refuse_in_model_dir(*args, dir=None, **kwargs):
            if dir is not None and str(dir).startswith(str(model_dir)):
                raise PermissionError(13, "Permission denied", str(dir))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkdtemp", refuse_in_model_dir)
    mode = stat.S_IMODE(os.stat(model_dir).st_mode)
    os.chmod(model_dir, 0o555)
    try:
        fwd = onnx_forward(loaded.model, model_dir)
        again = onnx_forward(loaded.model, model_dir)
    finally:
        os.chmod(model_dir, mode)
    expected = tmp_path / "home" / ".cache" / "modelqa" / "onnx" / weights_hash(model_dir)[:16] / MODEL_FILE
    assert fwd.exported and fwd.onnx_path == expected
    assert not again.exported and again.onnx_path == expected
    assert not (model_dir / CACHE_FOLDER).exists() or not any((model_dir / CACHE_FOLDER).iterdir())


def test_explicit_cache_dir(loaded, model_dir, tmp_path):
    fwd = onnx_forward(loaded.model, model_dir, cache_dir=tmp_path / "c")
    assert fwd.onnx_path.parent.parent == tmp_path / "c"
    assert not (model_dir / CACHE_FOLDER).exists()


def _batch(tokenizer, texts, pair=None):
    from modelqa.engine.batching import length_sorted_batches

    enc = tokenizer(texts, pair) if pair else tokenizer(texts)
    enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    return next(length_sorted_batches(enc, batch_size=len(texts), pad_id=tokenizer.pad_token_id))


def _torch_logits(model, batch):
    import torch

    with torch.inference_mode():
        return torch_forward(model)(batch)


def test_token_type_ids_are_fed_and_default_to_zeros(loaded, model_dir):
    fwd = onnx_forward(loaded.model, model_dir)
    assert "token_type_ids" in fwd.input_names
    batch = _batch(loaded.tokenizer, ["first part", "another first part here"], ["second", "and a second part"])
    assert batch.extra["token_type_ids"].max() == 1  # segment ids really vary
    np.testing.assert_allclose(fwd(batch), _torch_logits(loaded.model, batch), atol=1e-4)
    bare = Batch(rows=batch.rows, input_ids=batch.input_ids, attention_mask=batch.attention_mask, extra={})
    np.testing.assert_allclose(fwd(bare), _torch_logits(loaded.model, bare), atol=1e-4)


def test_graph_without_token_type_ids_ignores_them(tiny_model, tmp_path):
    import torch
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    config = DistilBertConfig(vocab_size=tokenizer.vocab_size, dim=32, n_layers=1, n_heads=2, hidden_dim=64,
                              max_position_embeddings=64, num_labels=2)
    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(config).eval()
    folder = tmp_path / "distil"
    model.save_pretrained(folder, safe_serialization=True)
    fwd = onnx_forward(model, folder)
    assert fwd.input_names == ["input_ids", "attention_mask"]
    batch = _batch(tokenizer, ["a sentence", "another, longer sentence"])
    assert "token_type_ids" in batch.extra  # the BERT tokenizer makes them; the graph does not take them
    bare = Batch(rows=batch.rows, input_ids=batch.input_ids, attention_mask=batch.attention_mask, extra={})
    np.testing.assert_allclose(fwd(batch), _torch_logits(model, bare), atol=1e-4)


def test_killed_or_failed_export_leaves_nothing_trusted(loaded, model_dir, monkeypatch):
    def half_then_fail(model, out_file, **kwargs):
        with open(out_file, "wb") as fh:
            fh.write(b"\x08\x07 half an onnx file")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(onnx_backend, "export_onnx", half_then_fail)
    with pytest.raises(ModelError, match=f"cannot export the model in {model_dir} to ONNX: RuntimeError: "
                                         "exporter crashed"):
        onnx_forward(loaded.model, model_dir)
    key = weights_hash(model_dir)[:16]
    assert not (model_dir / CACHE_FOLDER / key).exists()
    # what a SIGKILL mid-export leaves: a staging folder with a partial file; never read
    stale = model_dir / CACHE_FOLDER / f".{key}.killed.tmp"
    stale.mkdir()
    (stale / MODEL_FILE).write_bytes(b"partial")
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(model_dir.parent / "xdg"))
    fwd = onnx_forward(loaded.model, model_dir)
    assert fwd.exported and fwd.onnx_path == model_dir / CACHE_FOLDER / key / MODEL_FILE


def test_damaged_cache_entry_is_exported_again(loaded, model_dir, monkeypatch):
    first = onnx_forward(loaded.model, model_dir)
    first.onnx_path.write_bytes(b"not an onnx model")
    calls = _count_exports(monkeypatch)
    fwd = onnx_forward(loaded.model, model_dir)
    assert len(calls) == 1 and fwd.exported
    batch = _batch(loaded.tokenizer, ["repaired"])
    np.testing.assert_allclose(fwd(batch), _torch_logits(loaded.model, batch), atol=1e-4)


def test_foreign_entry_under_the_same_key_is_not_trusted(loaded, model_dir, monkeypatch):
    key = weights_hash(model_dir)[:16]
    entry = model_dir / CACHE_FOLDER / key
    entry.mkdir(parents=True)
    (entry / MODEL_FILE).write_bytes(b"x")
    (entry / META_FILE).write_text(json.dumps({"sha256": "0" * 64}))
    calls = _count_exports(monkeypatch)
    fwd = onnx_forward(loaded.model, model_dir)
    assert len(calls) == 1 and fwd.exported and fwd.onnx_path == entry / MODEL_FILE


def test_missing_onnxruntime_says_how_to_install(loaded, model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(UsageError, match="onnxruntime") as info:
        onnx_forward(loaded.model, model_dir)
    assert 'pip install "modelqa[onnx]"' in str(info.value)


def test_quantized_model_is_refused(loaded, model_dir):
    from modelqa.engine.quantize import quantize_model

    with pytest.raises(UsageError, match="`quantize='int8'`"):
        onnx_forward(quantize_model(loaded.model, "int8"), model_dir)


def test_predict_cli_with_backend_onnx_matches_torch(tiny_model, tmp_path, capsys):
    """``modelqa predict --backend onnx`` end to end: same labels, probabilities within 1e-4,
    the export cached inside a copy of the model folder; bad combinations refused (exit 2)."""
    import pandas as pd

    from modelqa.cli.main import main

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    texts = ["a good film", "bad plot, awful acting", "ok", "the best thing this year " * 5, "meh"] * 6
    data = tmp_path / "d.csv"
    pd.DataFrame({"text": texts}).to_csv(data, index=False)
    base = ["predict", "--model", str(model), "--data", str(data), "--quiet"]
    assert main([*base, "--out", str(tmp_path / "torch.parquet")]) == 0
    assert main([*base, "--out", str(tmp_path / "onnx.parquet"), "--backend", "onnx"]) == 0
    a, b = pd.read_parquet(tmp_path / "torch.parquet"), pd.read_parquet(tmp_path / "onnx.parquet")
    cols = [c for c in a.columns if c.startswith("prob_")]
    assert (a["predicted_label"] == b["predicted_label"]).all()
    assert np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max() < 1e-4
    assert list((model / ".modelqa-onnx").glob("*/model.onnx"))
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "x.csv"), "--backend", "onnx", "--quantize", "int8"]) == 2
    assert "does not go with" in capsys.readouterr().err


def test_export_is_fused_by_the_transformer_optimizer(loaded, model_dir):
    """The cached graph is ONNX Runtime's fused one (one Attention op per layer), recorded in the json,
    and it still gives torch's logits; the torch model keeps its own attention implementation."""
    import onnx

    before = loaded.model.config._attn_implementation
    fwd = onnx_forward(loaded.model, model_dir, threads=1)
    assert loaded.model.config._attn_implementation == before
    meta = json.loads((fwd.onnx_path.parent / META_FILE).read_text())
    layers = loaded.model.config.num_hidden_layers
    assert meta["optimized"] is True and meta["format"] == onnx_backend.EXPORT_FORMAT == 2
    assert meta["fused_ops"]["Attention"] == layers and meta["fused_ops"]["SkipLayerNormalization"] == 2 * layers
    ops = {n.op_type for n in onnx.load(str(fwd.onnx_path)).graph.node}
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= ops and "Softmax" not in ops
    assert meta["max_abs_logit_diff"] < 1e-4
    ref = predict_texts(loaded.model, loaded.tokenizer, TEXTS, max_length=32, batch_size=4)
    got = predict_texts(loaded.model, loaded.tokenizer, TEXTS, max_length=32, batch_size=4, forward=fwd)
    np.testing.assert_allclose(got.logits, ref.logits, atol=1e-4)
    np.testing.assert_array_equal(got.probs.argmax(1), ref.probs.argmax(1))


def test_older_export_format_is_not_reused(model_dir, monkeypatch):
    current = weights_hash(model_dir)
    monkeypatch.setattr(onnx_backend, "EXPORT_FORMAT", 1)
    assert weights_hash(model_dir) != current


def test_fused_graph_that_differs_from_torch_is_not_kept(loaded, model_dir, tmp_path, monkeypatch):
    """A fused graph giving other logits (here: the export of the same architecture with other weights)
    fails the check against torch; the plain export is kept and the json says why."""
    import torch

    from modelqa.engine import onnx_fusion

    other = load_hf_classifier(model_dir, device="cpu").model
    with torch.no_grad():
        other.classifier.bias += 0.5
    wrong = tmp_path / "wrong.onnx"
    onnx_backend.export_onnx(other, wrong, input_names=onnx_backend.model_input_names(other))
    monkeypatch.setattr(onnx_fusion, "optimize_export", lambda plain, out, config: shutil.copy(wrong, out) and {})
    fwd = onnx_forward(loaded.model, model_dir)
    meta = json.loads((fwd.onnx_path.parent / META_FILE).read_text())
    assert meta["optimized"] is False and "away from torch" in meta["optimizer_note"]
    assert not list(fwd.onnx_path.parent.glob("*.fused.onnx"))
    batch = _batch(loaded.tokenizer, ["plain export kept", "two"])
    np.testing.assert_allclose(fwd(batch), _torch_logits(loaded.model, batch), atol=1e-4)


def test_architecture_the_optimizer_does_not_fuse_keeps_the_plain_export(tmp_path):
    """A classifier without attention or layer norm (embedding bag + linear): nothing to fuse, so the
    plain export is used, with a logged note, and it matches torch."""
    import torch
    from conftest import RecordingProgress
    from safetensors.torch import save_model

    class Config:
        num_labels, vocab_size, pad_token_id, type_vocab_size = 3, 500, 0, 1

    class BagClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = Config()
            self.emb = torch.nn.Embedding(500, 16)
            self.out = torch.nn.Linear(16, 3)

        def forward(self, input_ids, attention_mask):
            m = attention_mask.unsqueeze(-1).float()
            return (self.out((self.emb(input_ids) * m).sum(1) / m.sum(1).clamp(min=1.0)),)

    torch.manual_seed(0)
    model = BagClassifier().eval()
    folder = tmp_path / "bag"
    folder.mkdir()
    save_model(model, str(folder / "model.safetensors"))
    progress = RecordingProgress()
    fwd = onnx_forward(model, folder, progress=progress)
    meta = json.loads((fwd.onnx_path.parent / META_FILE).read_text())
    assert meta["optimized"] is False and meta["fused_ops"] == {} and "fused no attention" in meta["optimizer_note"]
    assert any("optimizer did not apply" in line for line in progress.lines)
    ids = np.array([[5, 6, 7, 8], [9, 10, 0, 0]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    batch = Batch(rows=np.arange(2), input_ids=ids, attention_mask=mask, extra={})
    with torch.no_grad():
        ref = model(torch.from_numpy(ids), torch.from_numpy(mask))[0].numpy()
    np.testing.assert_allclose(fwd(batch), ref, atol=1e-5)
