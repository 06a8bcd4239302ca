"""The ``hmb`` command line of contract §4: output formats, determinism, usage errors, and the
installed console script run as a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hmb.cli.main import main
from tests.builders import (
    CliResult,
    clean_tables,
    enrollment_row,
    finance_row,
    participation_row,
    write_folder,
)

PROFILES = ("hunan-2024", "nantong-2021", "sanming-2024", "shenyang-2021", "wenzhou-2021")


def run(capsys: pytest.CaptureFixture[str], *args: object) -> CliResult:
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse reports usage errors this way
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    captured = capsys.readouterr()
    result = CliResult(code, captured.out, captured.err)
    assert "Traceback" not in result.text
    return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("cli"), **clean_tables())


@pytest.mark.parametrize("profile", PROFILES)
def test_metrics_without_format_prints_a_readable_table(
    capsys: pytest.CaptureFixture[str], folder: Path, profile: str
) -> None:
    result = run(capsys, "metrics", folder, "--profile", profile, "--as-of", "2024-06-30")
    assert result.code == 0
    assert result.out.strip()
    assert not result.out.lstrip().startswith("{")  # a table for people, not the JSON
    assert "2024" in result.out
    assert "350402" in result.out


def test_metrics_twice_gives_identical_output(
    capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    for extra in ([], ["--format", "json"]):
        args = ["metrics", folder, "--profile", "hunan-2024", "--as-of", "2024-06-30", *extra]
        first = run(capsys, *args)
        second = run(capsys, *args)
        assert first.code == second.code == 0
        assert first.out == second.out


def test_metrics_json_is_one_object_with_the_contract_keys(
    capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    result = run(capsys, "metrics", folder, "--profile", "sanming-2024", "--as-of", "2024-06-30",
                 "--format", "json")
    assert result.code == 0
    payload = json.loads(result.out)
    assert list(payload) == ["profile", "as_of", "participation", "finance"]
    assert (payload["profile"], payload["as_of"]) == ("sanming-2024", "2024-06-30")
    # clean_tables(): A1, A2 and A3 active of 80 + 20 + 50 insured; written 3 x 150 + (150 - 150)
    assert participation_row(payload, 2024, None)["enrolled"] == 3
    assert finance_row(payload, 2024)["written_premium"] == 450.0


def test_validate_prints_a_text_report_and_exits_0_despite_row_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tables = clean_tables()
    tables["enrollment"].append(enrollment_row(member_id="V1", channel="alipay"))
    folder = write_folder(tmp_path, **tables)
    result = run(capsys, "validate", folder)
    assert result.code == 0
    assert "invalid_value" in result.out
    assert "enrollment" in result.out


@pytest.mark.parametrize("command", ["metrics", "validate"])
def test_unknown_profile_is_refused_with_the_available_ones(
    capsys: pytest.CaptureFixture[str], folder: Path, command: str
) -> None:
    result = run(capsys, command, folder, "--profile", "atlantis-2099", "--format", "json")
    assert result.code == 2
    assert "atlantis-2099" in result.err
    for name in PROFILES:
        assert name in result.err


@pytest.mark.parametrize("as_of", ["2024-02-30", "30/06/2024", "yesterday"])
def test_bad_as_of_date_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], folder: Path, as_of: str
) -> None:
    result = run(capsys, "metrics", folder, "--profile", "sanming-2024", "--as-of", as_of,
                 "--format", "json")
    assert result.code == 2
    assert as_of in result.err
    assert result.out == ""


def test_metrics_needs_a_profile(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    result = run(capsys, "metrics", folder, "--format", "json")
    assert result.code == 2
    assert "--profile" in result.err


# --- the installed console script -------------------------------------------------------------


def hmb_script() -> str:
    beside_python = Path(sys.executable).parent / "hmb"
    found = str(beside_python) if beside_python.exists() else shutil.which("hmb")
    assert found, "the console script hmb is not installed (uv sync)"
    return found


def test_console_script_prints_the_same_metrics_as_the_function(
    capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    args = ["metrics", str(folder), "--profile", "wenzhou-2021", "--as-of", "2024-06-30",
            "--format", "json"]
    process = subprocess.run([hmb_script(), *args], capture_output=True, text=True,
                             timeout=120, check=False)
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout) == json.loads(run(capsys, *args).out)


def test_console_script_exits_2_without_a_traceback_on_a_fatal_problem(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **clean_tables(), omit_tables=["claims"])
    process = subprocess.run([hmb_script(), "validate", str(folder)], capture_output=True,
                             text=True, timeout=120, check=False)
    assert process.returncode == 2
    assert "claims" in process.stderr
    assert "Traceback" not in process.stdout + process.stderr


def test_metrics_loads_only_what_it_needs(folder: Path) -> None:
    """A warm ``hmb metrics`` is mostly Python's start-up: it must not load Polars and pyarrow
    (the pages' frames), the rule engine, the alert store or the accounts' password hashing."""
    script = (
        "import sys\n"
        "from hmb.cli.main import main\n"
        f"main(['metrics', {str(folder)!r}, '--profile', 'hunan-2024', '--format', 'json'])\n"
        "print(sorted(m for m in ('polars', 'pyarrow', 'hmb.judge.rules', 'hmb.state.alert_store',"
        " 'hmb.access.auth', 'argon2') if m in sys.modules), file=sys.stderr)\n"
    )
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=120, check=False)
    assert process.returncode == 0, process.stderr
    assert process.stderr.strip() == "[]"


def test_an_empty_folder_setting_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """HMB_CACHE_DIR= (set, but empty) must not put stores and maps in the current folder."""
    from hmb.core.paths import PROJECT_ROOT  # noqa: PLC0415
    from hmb.core.settings import default_alert_store  # noqa: PLC0415
    from hmb.ingest.dataset import default_cache_dir  # noqa: PLC0415

    monkeypatch.setenv("HMB_CACHE_DIR", "")
    monkeypatch.setenv("HMB_STATE_DIR", "")
    assert default_cache_dir() == PROJECT_ROOT / "data" / "cache"
    assert default_alert_store() == PROJECT_ROOT / "data" / "state" / "alerts.sqlite"


# --- rulebooks: a name with --profile, a file of one's own with --rulebook ----------------------

RULEBOOKS = Path(__file__).resolve().parent.parent / "data" / "rulebooks"


def _own_rulebook(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """sanming-2024's rulebook under a name of its own, with ``replacements`` made."""
    text = (RULEBOOKS / "sanming-2024.toml").read_text(encoding="utf-8")
    text = text.replace('name = "sanming-2024"', 'name = "sanming-local"')
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "sanming-local.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["metrics", "check", "validate"])
@pytest.mark.parametrize(
    "name", [str(RULEBOOKS / "sanming-2024"), str(RULEBOOKS / "sanming-2024.toml"),
             "../rulebooks/sanming-2024", "data/rulebooks/sanming-2024.toml"],
    ids=["absolute", "absolute-toml", "dot-dot", "relative"],
)
def test_profile_takes_a_name_never_a_path(
    capsys: pytest.CaptureFixture[str], folder: Path, command: str, name: str
) -> None:
    result = run(capsys, command, folder, "--profile", name)
    assert result.code == 2
    assert "--rulebook" in result.err
    assert result.out == ""


def test_a_rulebook_anywhere_is_not_reached_through_profile(
    capsys: pytest.CaptureFixture[str], folder: Path, tmp_path: Path
) -> None:
    """The attack of the issue: a file named ``/abs/evil.toml`` whose name is ``/abs/evil``
    loaded through --profile /abs/evil, with its rules off."""
    text = (RULEBOOKS / "sanming-2024.toml").read_text(encoding="utf-8")
    evil = tmp_path / "evil"
    (tmp_path / "evil.toml").write_text(text.replace('name = "sanming-2024"', f'name = "{evil}"'))
    result = run(capsys, "check", folder, "--profile", evil, "--as-of", "2024-06-30")
    assert result.code == 2
    assert "--rulebook" in result.err


@pytest.mark.parametrize("command", ["metrics", "check"])
@pytest.mark.parametrize(
    ("old", "new", "rule", "field"),
    [
        ("critical = 0.20", "critical = nan", "county_participation", "critical"),
        ("critical = 0.20", "critical = -inf", "county_participation", "critical"),
        ("critical = 0.20", "critical = true", "county_participation", "critical"),
        ("critical = 0.20", 'critical = "0.20"', "county_participation", "critical"),
        ('metric = "participation_rate"', 'metric = "participation"', "county_participation",
         "metric"),
        ("value = 0.03", 'value = "3%"', "surplus_margin", "value"),
        ("warning = 0.30", "warning = 0.10", "county_participation", "warning"),
    ],
    ids=["nan", "-inf", "true", "text", "unknown-metric", "percent-parameter", "order"],
)
def test_a_broken_rulebook_exits_2_naming_the_rule(  # noqa: PLR0917 (pytest's parameters)
    capsys: pytest.CaptureFixture[str], folder: Path, tmp_path: Path, command: str,
    old: str, new: str, rule: str, field: str,
) -> None:
    path = _own_rulebook(tmp_path, (old, new))
    result = run(capsys, command, folder, "--rulebook", path, "--as-of", "2024-06-30")
    assert result.code == 2
    assert path.name in result.err and rule in result.err and field in result.err, result.err
    assert result.out == ""


def test_a_rulebook_of_ones_own_checks_like_the_shipped_one(
    capsys: pytest.CaptureFixture[str], folder: Path, tmp_path: Path
) -> None:
    own = run(capsys, "check", folder, "--rulebook", _own_rulebook(tmp_path), "--as-of",
              "2024-06-30", "--format", "json")
    shipped = run(capsys, "check", folder, "--profile", "sanming-2024", "--as-of",
                  "2024-06-30", "--format", "json")
    assert own.code == shipped.code == 0
    assert own.json()["profile"] == "sanming-local"
    assert [a["rule_id"] for a in own.json()["alerts"]] == [
        a["rule_id"] for a in shipped.json()["alerts"]]
    assert own.json()["rulebook_version"] != shipped.json()["rulebook_version"]
    metrics = run(capsys, "metrics", folder, "--rulebook", _own_rulebook(tmp_path), "--as-of",
                  "2024-06-30", "--format", "json")
    assert metrics.code == 0 and metrics.json()["profile"] == "sanming-local"
    validated = run(capsys, "validate", folder, "--rulebook", _own_rulebook(tmp_path))
    assert validated.code == 0


def test_profile_and_rulebook_are_one_or_the_other(
    capsys: pytest.CaptureFixture[str], folder: Path, tmp_path: Path
) -> None:
    result = run(capsys, "check", folder, "--profile", "sanming-2024", "--rulebook",
                 _own_rulebook(tmp_path))
    assert result.code == 2
    assert "--rulebook" in result.err and "--profile" in result.err


def test_a_rulebook_of_ones_own_cannot_take_a_shipped_name(
    capsys: pytest.CaptureFixture[str], folder: Path, tmp_path: Path
) -> None:
    shadow = tmp_path / "sanming-2024.toml"
    shadow.write_text((RULEBOOKS / "sanming-2024.toml").read_text(encoding="utf-8")
                      .replace("critical = 0.20", "critical = 0.0"))
    result = run(capsys, "check", folder, "--rulebook", shadow, "--as-of", "2024-06-30")
    assert result.code == 2
    assert "sanming-2024" in result.err
