"""Suite files: which checks run with which thresholds; every error names the file and line."""

from __future__ import annotations

import pytest

from modelqa.analysis.checks.registry import REGISTRY, ensure_loaded, register
from modelqa.analysis.checks.suite import default_suite, load_suite
from modelqa.errors import UsageError


@pytest.fixture
def fake_checks():
    ensure_loaded()

    @register("zz.alpha", defaults={"threshold": 0.1, "min_rows": 30}, default=False)
    def alpha(ctx, cfg):
        return []

    @register("zz.beta", defaults={"threshold": 0.2}, default=False)
    def beta(ctx, cfg):
        return []

    yield
    REGISTRY.pop("zz.alpha", None)
    REGISTRY.pop("zz.beta", None)


def _write(tmp_path, text):
    path = tmp_path / "qa.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_suite_is_every_default_check():
    registry = ensure_loaded()
    suite = default_suite()
    assert set(suite.configs) == {n for n, s in registry.items() if s.default}
    assert all(suite.configs[n].params == dict(registry[n].defaults) for n in suite.configs)


def test_family_check_type_and_column_overrides(tmp_path, fake_checks):
    suite = load_suite(_write(tmp_path, """
only: true
alpha: 0.01
defaults: {min_rows: 50}
checks:
  zz: {threshold: 0.3}
  zz.beta:
    by_type: {numeric: {threshold: 0.4}}
    columns: {age: {threshold: 0.5}}
"""))
    assert set(suite.configs) == {"zz.alpha", "zz.beta"} and suite.alpha == 0.01
    a, b = suite.configs["zz.alpha"], suite.configs["zz.beta"]
    assert a.get("threshold") == 0.3 and a.get("min_rows") == 50
    assert b.get("threshold") == 0.3
    assert b.get("threshold", kind="numeric") == 0.4 and b.get("threshold", kind="categorical") == 0.3
    assert b.get("threshold", column="age", kind="numeric") == 0.5


def test_enabled_false_removes_a_default_check(tmp_path):
    registry = ensure_loaded()
    name = next(n for n, s in registry.items() if s.default)
    suite = load_suite(_write(tmp_path, f"checks:\n  {name}: {{enabled: false}}\n"))
    assert name not in suite.configs and len(suite.configs) == len(default_suite().configs) - 1


def test_a_mapping_works_like_a_file(fake_checks):
    suite = load_suite({"only": True, "checks": {"zz.alpha": {"threshold": 0.05}}})
    assert list(suite.configs) == ["zz.alpha"] and suite.configs["zz.alpha"].get("threshold") == 0.05


@pytest.mark.parametrize(("text", "line", "words"), [
    ("chekcs: {}\n", 1, ["unknown key 'chekcs'", "did you mean 'checks'"]),
    ("only: true\nchecks:\n  zz.alpah: {}\n", 3, ["unknown check 'zz.alpah'", "did you mean 'zz.alpha'"]),
    ("checks:\n  zz.alpha:\n    treshold: 0.2\n", 3, ["unknown key 'treshold'", "did you mean 'threshold'"]),
    ("checks:\n  zz.alpha:\n    by_type: {numbers: {threshold: 1}}\n", 3, ["unknown column type 'numbers'"]),
    ("alpha: 2\n", 1, ["alpha must be a number between 0 and 1"]),
    ("only: yes please\n", 1, ["only must be true or false"]),
    ("checks: [a, b]\n", 1, ["checks must be a mapping"]),
    ("checks:\n  zz.alpha: {threshold: 0.1\n", 3, ["not valid YAML"]),
    ("checks: !!python/object:os.system {}\n", 1, ["tag", "not allowed"]),
    ("only: true\nonly: false\n", 2, ["given twice"]),
])
def test_errors_name_file_and_line(tmp_path, fake_checks, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as err:
        load_suite(path)
    message = str(err.value)
    assert message.startswith(f"{path}, line {line}")
    for w in words:
        assert w in message


def test_missing_suite_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="`suite` .*no such file"):
        load_suite(tmp_path / "nope.yaml")


def test_thresholds_are_not_global(tmp_path, fake_checks):
    path = _write(tmp_path, "defaults:\n  threshold: 0.1\n")
    with pytest.raises(UsageError, match=r"line 2: defaults: 'threshold' is in each check's own unit"):
        load_suite(path)
