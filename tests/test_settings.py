"""Settings: every HMB_ variable read through one typed model, when it is needed."""

from __future__ import annotations

import ast
from pathlib import Path

import pydantic
import pytest

import hmb.core.settings
from hmb.core.paths import PROJECT_ROOT
from hmb.core.settings import Settings, default_alert_store, env_name, settings

ROOT = Path(__file__).resolve().parent.parent
NAMES = tuple(env_name(name) for name in Settings.model_fields)


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from no setting at all (conftest points the cache and state away), and
    leaves the record of values already reported as it found it."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hmb.core.settings, "_said", set())


def test_the_defaults_are_in_the_checkout() -> None:
    current = settings()
    assert current.data_dir is None and current.profile is None
    assert current.cache_dir == PROJECT_ROOT / "data" / "cache"
    assert current.state_dir == PROJECT_ROOT / "data" / "state"
    assert current.demo_dir == PROJECT_ROOT / "data" / "demo"
    assert current.seeds_dir == PROJECT_ROOT / "data" / "seeds"
    assert current.cache_keep_days == 30
    assert default_alert_store() == PROJECT_ROOT / "data" / "state" / "alerts.sqlite"


def test_each_variable_is_read_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read at each call, not at import: the tests and the benchmarks set them while running."""
    assert settings().cache_keep_days == 30
    for name in ("DATA_DIR", "CACHE_DIR", "STATE_DIR", "DEMO_DIR", "SEEDS_DIR"):
        monkeypatch.setenv(f"HMB_{name}", str(tmp_path / name.lower()))
    monkeypatch.setenv("HMB_PROFILE", "hunan-2024")
    monkeypatch.setenv("HMB_CACHE_KEEP_DAYS", " 1.5 ")
    current = settings()
    assert current.data_dir == tmp_path / "data_dir"
    assert current.cache_dir == tmp_path / "cache_dir"
    assert current.state_dir == tmp_path / "state_dir"
    assert current.demo_dir == tmp_path / "demo_dir"
    assert current.seeds_dir == tmp_path / "seeds_dir"
    assert current.profile == "hunan-2024"
    assert current.cache_keep_days == 1.5
    assert default_alert_store() == tmp_path / "state_dir" / "alerts.sqlite"


@pytest.mark.parametrize("value", ["", "  ", "\t"])
@pytest.mark.parametrize("name", NAMES)
def test_an_empty_or_blank_value_means_the_default(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Set but empty is unset: never the current folder, never an error."""
    monkeypatch.setenv(name, value)
    assert settings() == Settings()
    assert settings() == Settings.model_construct()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("value", ["abc", "-1", "inf", "nan", "3 days"])
def test_a_keep_days_value_that_is_not_a_number_of_days_is_said_once_and_the_default_used(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HMB_CACHE_KEEP_DAYS", value)
    monkeypatch.setenv("HMB_PROFILE", "sanming-2024")  # the other settings are still read
    first = settings()
    assert first.cache_keep_days == 30 and first.profile == "sanming-2024"
    said = capsys.readouterr().err
    assert f"HMB_CACHE_KEEP_DAYS={value!r}" in said and "30 days" in said
    assert "Traceback" not in said and said.count("\n") == 1
    assert settings() == first
    assert capsys.readouterr().err == ""  # said once per value, not on every call


def test_the_model_is_frozen_and_strict() -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings(cache_dri=Path("typo"))  # type: ignore[call-arg]
    current = settings()
    with pytest.raises(pydantic.ValidationError):
        current.cache_dir = Path("elsewhere")  # type: ignore[misc]


def test_the_app_reads_its_data_folder_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local folder is listed first, and demo accounts refused, only when it is set; the
    folder is shown only with its profile."""
    from dashboard.data import sources  # noqa: PLC0415 (imports Streamlit)
    from dashboard.session import demo_allowed  # noqa: PLC0415

    assert demo_allowed() and sources()[0].folder is None
    monkeypatch.setenv("HMB_DATA_DIR", str(tmp_path))
    assert not demo_allowed() and sources()[0].folder is None
    monkeypatch.setenv("HMB_PROFILE", "sanming-2024")
    assert sources()[0].folder == tmp_path and sources()[0].key == "local-sanming-2024"
    monkeypatch.setenv("HMB_DATA_DIR", "")
    assert demo_allowed() and sources()[0].folder is None


def environment_reads(source: str) -> list[str]:
    """The HMB_ names a module's source reads from the environment itself: in a call of
    ``os.environ.get``, ``os.getenv`` (and the like), a subscript of ``os.environ``, or an
    ``in os.environ``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _names_environment(node.func):
            keys = [*node.args, *(keyword.value for keyword in node.keywords)]
        elif isinstance(node, ast.Subscript) and _names_environment(node.value):
            keys = [node.slice]
        elif isinstance(node, ast.Compare) and any(map(_names_environment, node.comparators)):
            keys = [node.left]
        else:
            continue
        found += [
            constant.value for key in keys for constant in ast.walk(key)
            if isinstance(constant, ast.Constant) and isinstance(constant.value, str)
            and "HMB_" in constant.value
        ]
    return found


def _names_environment(node: ast.AST) -> bool:
    return any(
        (isinstance(part, ast.Attribute) and part.attr in ("environ", "getenv"))
        or (isinstance(part, ast.Name) and part.id in ("environ", "getenv"))
        for part in ast.walk(node)
    )


def test_the_environment_check_sees_every_way_of_reading_it() -> None:
    assert environment_reads('import os\nx = os.environ.get("HMB_CACHE_DIR")') == [
        "HMB_CACHE_DIR"]
    assert environment_reads('import os\nif os.getenv("HMB_X"):\n    pass') == ["HMB_X"]
    assert environment_reads('import os\nw = os.environ.get(f"HMB_{1}", "")') == ["HMB_"]
    assert environment_reads('from os import environ\ny = environ["HMB_Y"]') == ["HMB_Y"]
    assert environment_reads('import os\nz = "HMB_Z" in os.environ') == ["HMB_Z"]
    assert environment_reads('import os\nuser = os.environ.get("USER")') == []


def test_only_the_settings_module_reads_hmb_variables() -> None:
    """Every HMB_ variable is read through hmb.core.settings, so docs/settings.md lists them
    all and an empty or invalid value is treated the same everywhere."""
    reads = {
        str(path.relative_to(ROOT)): found
        for folder in ("hmb", "dashboard")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "hmb" / "core" / "settings.py"
        if (found := environment_reads(path.read_text(encoding="utf-8")))
    }
    assert reads == {}
