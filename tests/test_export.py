"""``modelqa export``: a Hub-ready folder whose card parses with huggingface_hub.ModelCard and
whose metrics equal the run's metrics.json; real label names; no pickle; weights that load
and predict like the original."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import build_tiny_classifier, keyword_frame

from modelqa.api.export import PICKLE_SUFFIXES, detect_languages, export_model
from modelqa.errors import DataError, ModelError, UsageError

LABELS = ["neg", "neu", "pos"]


@pytest.fixture(scope="module")
def trained(keyword_trained):
    return keyword_trained


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("hub") / "my-model"
    return export_model(trained, out=out, repo_id="someone/my-model"), trained


def test_folder_holds_weights_tokenizer_config_and_card_but_no_pickle(exported):
    result, model = exported
    names = {p.name for p in result.out.iterdir()}
    assert {"model.safetensors", "config.json", "README.md", "tokenizer.json", "tokenizer_config.json",
            "modelqa.json", "history.json"} <= names
    assert not [n for n in names if n.endswith(PICKLE_SUFFIXES)] and not any(p.is_dir() for p in result.out.iterdir())
    assert "evaluation" in result.skipped
    config = json.loads((result.out / "config.json").read_text())
    assert config["id2label"] == {"0": "neg", "1": "neu", "2": "pos"}
    assert config["label2id"] == {"neg": 0, "neu": 1, "pos": 2}
    assert (result.out / "model.safetensors").read_bytes() == (model / "model.safetensors").read_bytes()
    shared = json.loads((result.out / "modelqa.json").read_text())
    assert "command" not in shared and shared["data_files"] == {"data": "sentences.csv"}
    assert result.upload_command == f"hf upload someone/my-model {result.out} ."


def test_card_parses_and_its_metrics_equal_metrics_json(exported, tmp_path_factory):
    from huggingface_hub import ModelCard

    result, model = exported
    metrics = json.loads((model / "evaluation" / "metrics.json").read_text())
    card = ModelCard.load(result.card)
    data = card.data
    assert data.license == "other" and data.pipeline_tag == "text-classification"
    assert data.library_name == "transformers" and data.language == ["en"]
    assert data.base_model is None  # a local base folder is not a Hub id
    by_name = {r.metric_name: r for r in data.eval_results}
    expected = {"Accuracy": "accuracy", "Macro F1": "f1_macro", "Macro precision": "precision_macro",
                "Macro recall": "recall_macro", "Weighted F1": "f1_weighted"}
    assert set(by_name) == set(expected)
    for name, key in expected.items():
        assert by_name[name].metric_value == metrics["metrics"][key]  # exactly, not approximately
        assert by_name[name].dataset_name == "sentences.csv (test split)"
        assert by_name[name].task_type == "text-classification"
    assert by_name["Macro F1"].metric_args == {"average": "macro"}
    text = card.text
    for section in ("## Classes", "## Training data and settings", "## Evaluation", "### Per class",
                    "### Baselines", "## Learning curves", "## Limitations"):
        assert section in text
    for name, row in metrics["per_class"].items():
        assert f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |" in text
    low = [n for n, row in metrics["per_class"].items() if row["f1"] is not None and row["f1"] < 0.6]
    if low:
        assert "Classes with F1 below 0.6" in text and all(f"{n} (" in text for n in low)
    n = metrics["n_samples"]
    run = json.loads((model / "evaluation" / "run.json").read_text())
    cut = run["truncated"]
    assert f"{cut} of {n} evaluated texts ({cut / n:.1%}) were longer than {run['max_length']} tokens" in text
    assert "hf upload someone/my-model my-model ." in text
    assert str(tmp_path_factory.getbasetemp()) not in text  # no local path: not of the base, the data or the folder


def test_exported_weights_predict_like_the_original(exported):
    import torch

    from modelqa.adapters.hf import load_hf_classifier

    result, model = exported
    texts = keyword_frame(5, 9)["sentence"].tolist()
    a, b = (load_hf_classifier(p, device="cpu") for p in (model, result.out))
    assert b.labels == LABELS
    with torch.no_grad():
        la = a.model(**a.tokenizer(texts, padding=True, return_tensors="pt")).logits.numpy()
        lb = b.model(**b.tokenizer(texts, padding=True, return_tensors="pt")).logits.numpy()
    np.testing.assert_array_equal(la, lb)


def test_check_results_go_into_the_card(trained, tmp_path):
    from huggingface_hub import ModelCard

    checks = tmp_path / "check-run"
    checks.mkdir()
    results = [{"check": "label_issues", "target": "train.csv", "status": "pass", "metric": "share",
                "value": 0.01, "threshold": 0.05},
               {"check": "drift|text", "target": "test.csv", "status": "fail", "metric": "p", "value": 0.001,
                "threshold": 0.01}]
    (checks / "check.json").write_text(json.dumps({"results": results}))
    result = export_model(trained, out=tmp_path / "hub", check_dir=checks, license="mit", language=["ko", "en"])
    card = ModelCard.load(result.card)
    assert card.data.license == "mit" and card.data.language == ["ko", "en"]
    assert "## QA checks" in card.text
    assert "| label_issues | train.csv | pass | share | 0.010 | 0.050 |" in card.text
    assert "| drift\\|text | test.csv | fail | p | 0.001 | 0.010 |" in card.text  # the pipe is escaped
    assert "Failed QA checks: drift|text (test.csv)" in card.text
    (checks / "check.json").write_text(json.dumps({"results": {"not": "a list"}}))
    with pytest.raises(DataError, match="must be a list"):
        export_model(trained, out=tmp_path / "hub2", check_dir=checks)


def test_default_label_names_are_replaced_and_pickles_left_out(tiny_model_unnamed, tmp_path):
    from huggingface_hub import ModelCard

    model = tmp_path / "m"
    shutil.copytree(tiny_model_unnamed, model)
    (model / "modelqa.json").write_text(json.dumps({"id2label": {"0": "no", "1": "yes"}}))
    (model / "training_args.bin").write_bytes(b"\x80\x04pickle")
    result = export_model(model, out=tmp_path / "hub")
    assert json.loads((result.out / "config.json").read_text())["id2label"] == {"0": "no", "1": "yes"}
    assert not (result.out / "training_args.bin").exists() and "training_args.bin" in result.skipped
    card = ModelCard.load(result.card)
    assert not card.data.eval_results and "No evaluation run was given" in card.text
    assert any("no evaluation run" in n for n in result.notes)


def test_refusals(trained, tmp_path):
    out = tmp_path / "hub"
    out.mkdir()
    (out / "old.txt").write_text("x")
    with pytest.raises(UsageError, match="already has files"):
        export_model(trained, out=out)
    (out / "weights.pt").write_bytes(b"x")
    with pytest.raises(UsageError, match="pickle"):
        export_model(trained, out=out, force=True)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(trained / "config.json", pickled / "config.json")
    (pickled / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="pickle"):
        export_model(pickled, out=tmp_path / "hub3")
    other = build_tiny_classifier(tmp_path / "two", ["a", "b"])
    with pytest.raises(DataError, match="evaluates the classes"):
        export_model(other, out=tmp_path / "hub4", eval_dir=trained / "evaluation")


def test_languages_from_the_scripts():
    assert detect_languages(["안녕하세요 반갑습니다", "ㅋㅋ 좋아요"]) == ["ko"]
    assert detect_languages(["the quick brown fox"]) == ["en"]
    # 5 Hangul letters of 25 (20 %) and 20 Latin: both
    assert detect_languages(["가나다라마 abcdefghijklmnopqrst"]) == ["ko", "en"]
    # 1 Hangul letter of 20 (5 %, under the 10 % share): English only
    assert detect_languages(["가 abcdefghijklmnopqrs"]) == ["en"]
    assert detect_languages(["1234 !!"]) == []


def test_cli_export_prints_the_upload_command(trained, tmp_path, capsys):
    from modelqa.cli.main import main

    out = tmp_path / "hub" / "emo"
    assert main(["export", str(trained), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"hf upload YOUR_USERNAME/emo {out} ." in printed and "nothing was uploaded" in printed
    assert main(["export", str(trained), "--out", str(out)]) == 2  # not empty now
    assert "already has files" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 4
