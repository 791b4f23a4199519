"""``modelqa perturb`` and ``modelqa.api.perturb.perturb``: a real round trip through files."""

from __future__ import annotations

import pandas as pd

from modelqa.api.perturb import perturb
from modelqa.cli.main import main
from modelqa.report.tables import read_csv_back


def _data(tmp_path):
    path = tmp_path / "test.csv"
    pd.DataFrame({"id": [1, 2, 3, 4], "text": ["배송이 정말 빨라요", "=1+1 환불 해 주세요", None, "ok"],
                  "label": ["a", "b", "a", "b"]}).to_csv(path, index=False)
    return path


def test_api_writes_perturbed_original_and_flag(tmp_path):
    res = perturb(data=_data(tmp_path), perturbation="ko-spacing", rate=1.0, out=tmp_path / "noisy.csv")
    back = read_csv_back(tmp_path / "noisy.csv")
    assert list(back.columns) == ["id", "text", "text_original", "perturbed", "label"]
    assert back["text"].tolist()[:2] == ["배송이정말빨라요", "=1+1 환불해주세요"]   # formula text restored on read
    assert back["text_original"].tolist()[:2] == ["배송이 정말 빨라요", "=1+1 환불 해 주세요"]
    assert back["perturbed"].tolist() == [True, True, False, False]
    assert pd.isna(back["text"][2]) and back["text"][3] == "ok"
    assert (res.rows, res.changed, res.applicable, res.edits) == (3, 2, 2, 4)
    raw = (tmp_path / "noisy.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"'=1+1" in raw          # BOM for Excel, formula neutralised


def test_cli_same_seed_same_file_and_errors(tmp_path, capsys):
    data = _data(tmp_path)
    args = ["perturb", "--data", str(data), "--perturbation", "ko-typo", "--seed", "4", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "a.parquet")]) == 0
    assert main(args + ["--out", str(tmp_path / "b.parquet")]) == 0
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert a["perturbed"].tolist() == [True, True, False, False]
    assert main(["perturb", "--data", str(data), "--perturbation", "ko-typo", "--text-col", "txt",
                 "--out", str(tmp_path / "c.csv")]) == 2
    assert "no column 'txt' for --text-col; did you mean 'text'?" in capsys.readouterr().err
    assert main(["perturb", "--data", str(data), "--perturbation", "ko-typo", "--rate", "0.5", "--count", "2",
                 "--out", str(tmp_path / "c.csv")]) == 2
    assert main(["perturb", "--data", str(data), "--perturbation", "ko-typo", "--out", str(tmp_path / "c.txt")]) == 2
    assert not (tmp_path / "c.csv").exists() and not (tmp_path / "c.txt").exists()
    assert main(["perturb", "--list"]) == 0
    assert "ko-speech-level" in capsys.readouterr().out
