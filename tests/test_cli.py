"""The ``hmb`` command line of contract §4: output formats, determinism, usage errors, and the
installed console script run as a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hmb.access.auth import UserStore
from hmb.cli.main import main
from hmb.state.alert_store import AlertStore
from hmb.state.audit import AuditEvent, AuditTrail
from tests.builders import (
    CliResult,
    basic_insured_row,
    claim_row,
    clean_tables,
    enrollment_row,
    finance_row,
    members,
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


# Two counties of each jurisdiction, standing in for clean_tables()'s 350402 and 350403: a rulebook
# meets only the data of its jurisdiction (tests/test_jurisdiction.py).
COUNTIES = {
    "hunan-2024": ("430102", "430103"),
    "nantong-2021": ("320612", "320613"),
    "sanming-2024": ("350402", "350403"),
    "shenyang-2021": ("210102", "210103"),
    "wenzhou-2021": ("330302", "330303"),
}


def _moved(tables: dict[str, list[Any]], counties: tuple[str, str]) -> dict[str, list[Any]]:
    places = dict(zip(("350402", "350403"), counties, strict=True))
    return {
        name: [{**row, **({"county_code": places[row["county_code"]]}
                          if row.get("county_code") in places else {})} for row in rows]
        for name, rows in tables.items()
    }


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """clean_tables() in two counties of each jurisdiction."""
    root = tmp_path_factory.mktemp("cli-jurisdictions")
    return {profile: write_folder(root, name=profile, **_moved(clean_tables(), counties))
            for profile, counties in COUNTIES.items()}


@pytest.mark.parametrize("profile", PROFILES)
def test_metrics_without_format_prints_a_readable_table(
    capsys: pytest.CaptureFixture[str], folders: dict[str, Path], profile: str
) -> None:
    folder = folders[profile]
    result = run(capsys, "metrics", folder, "--profile", profile, "--as-of", "2024-06-30")
    assert result.code == 0
    assert result.out.strip()
    assert not result.out.lstrip().startswith("{")  # a table for people, not the JSON
    assert "2024" in result.out
    assert COUNTIES[profile][0] in result.out


def test_metrics_twice_gives_identical_output(
    capsys: pytest.CaptureFixture[str], folders: dict[str, Path]
) -> None:
    folder = folders["hunan-2024"]
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
    capsys: pytest.CaptureFixture[str], folders: dict[str, Path]
) -> None:
    args = ["metrics", str(folders["wenzhou-2021"]), "--profile", "wenzhou-2021",
            "--as-of", "2024-06-30", "--format", "json"]
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


def test_metrics_loads_only_what_it_needs(folders: dict[str, Path]) -> None:
    """A warm ``hmb metrics`` is mostly Python's start-up: it must not load Polars and pyarrow
    (the pages' frames), the rule engine, the alert store or the accounts' password hashing."""
    folder = folders["hunan-2024"]
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


# --- recording alerts and acting on them ------------------------------------------------------


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state folder of the test's own, the operating-system user ops.chen, the demo data."""
    folder = tmp_path / "state"
    monkeypatch.setenv("HMB_STATE_DIR", str(folder))
    monkeypatch.setenv("USER", "ops.chen")
    monkeypatch.delenv("HMB_DATA_DIR", raising=False)
    monkeypatch.delenv("HMB_PROFILE", raising=False)
    return folder


def participation_folder(root: Path, enrolled: int) -> Path:
    """350402 alone, 500 insured and ``enrolled`` of them in 三明's scheme."""
    tables = clean_tables()
    tables["basic_insured"] = [basic_insured_row("350402", 500)]
    tables["enrollment"] = members(enrolled)
    tables["claims"] = [claim_row(member_id=tables["enrollment"][0]["member_id"])]
    return write_folder(root, **tables, name=f"enrolled-{enrolled}")


@pytest.fixture(scope="module")
def hovering(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """101 / 500 = 20.2 %: above 三明's 20 % floor and below its 30 % aim (a warning), inside
    the band up to the 20.5 % recovery threshold that keeps a *critical* alert critical."""
    return participation_folder(tmp_path_factory.mktemp("hovering"), 101)


def record(capsys: pytest.CaptureFixture[str], folder: Path, as_of: str = "2024-06-30"
           ) -> CliResult:
    return run(capsys, "check", folder, "--profile", "sanming-2024", "--as-of", as_of,
               "--format", "json", "--record")


def county_alert(result: CliResult) -> dict[str, Any]:
    (alert,) = [a for a in result.json()["alerts"] if a["rule_id"] == "county_participation"]
    return dict(alert)


def account(state: Path, name: str, role: str, counties: Sequence[str] = (), *,
            demo: bool = False) -> None:
    """An account that signs in through the identity provider (no password to hash)."""
    UserStore(state / "users.sqlite").add(name, role, counties, None, demo=demo)


def snapshot(state: Path) -> tuple[object, ...]:
    store = AlertStore(state / "alerts.sqlite")
    records = store.list()
    return tuple(records), tuple(tuple(store.history(r.id)) for r in records)


def test_recording_the_same_data_twice_changes_nothing(
    capsys: pytest.CaptureFixture[str], state: Path, hovering: Path
) -> None:
    """A warning is never promoted by the recovery threshold of a critical alert, and its
    acknowledgement holds."""
    first = county_alert(record(capsys, hovering))
    assert (first["severity"], first["threshold"], first["state"]) == ("warning", 0.3, "firing")
    account(state, "li.city", "city_supervisor")
    assert run(capsys, "alerts", "ack", first["id"], "--by", "li.city",
               "--comment", "已约谈县医保局").code == 0
    before = snapshot(state)

    again = record(capsys, hovering)

    assert again.code == 0
    second = county_alert(again)
    assert (second["severity"], second["threshold"], second["state"]) == (
        "warning", 0.3, "acknowledged")
    assert snapshot(state) == before


def test_a_critical_alert_still_needs_the_recovery_threshold_to_calm_down(
    capsys: pytest.CaptureFixture[str], state: Path, hovering: Path, tmp_path: Path
) -> None:
    low = participation_folder(tmp_path, 95)  # 19 %: critical
    assert county_alert(record(capsys, low))["severity"] == "critical"
    held = county_alert(record(capsys, hovering))  # 20.2 %, not yet past 20.5 %
    assert (held["severity"], held["threshold"]) == ("critical", 0.205)


def test_a_backdated_record_is_refused_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], state: Path, hovering: Path
) -> None:
    alert = county_alert(record(capsys, hovering, "2024-06-30"))
    account(state, "li.city", "city_supervisor")
    assert run(capsys, "alerts", "ack", alert["id"], "--by", "li.city",
               "--comment", "已约谈").code == 0
    before = snapshot(state)

    backdated = record(capsys, hovering, "2024-03-31")

    assert backdated.code == 2
    assert "2024-06-30" in backdated.err and "2024-03-31" in backdated.err
    assert snapshot(state) == before
    # Without --record the earlier picture can still be looked at.
    assert run(capsys, "check", hovering, "--profile", "sanming-2024", "--as-of",
               "2024-03-31", "--format", "json").code == 0
    later = record(capsys, hovering, "2024-07-31")
    assert later.code == 0 and county_alert(later)["state"] == "acknowledged"


def audit_events(state: Path, *actions: str) -> list[AuditEvent]:
    return AuditTrail(state / "audit.sqlite").read(actions=actions)


def test_acting_on_an_alert_from_the_command_line_is_audited(
    capsys: pytest.CaptureFixture[str], state: Path, hovering: Path
) -> None:
    alert = county_alert(record(capsys, hovering))
    account(state, "li.city", "city_supervisor")
    assert run(capsys, "alerts", "ack", alert["id"], "--by", "li.city",
               "--comment", "已约谈").code == 0
    assert run(capsys, "alerts", "waive", alert["id"], "--by", "li.city", "--reason",
               "专班同意延期", "--until", "2099-12-31").code == 0

    ack, waiver = audit_events(state, "alert_ack", "alert_waive")
    for event in (ack, waiver):
        assert (event.username, event.role, event.client_ip) == (
            "li.city", "city_supervisor", "localhost")
        assert event.details["os_user"] == "ops.chen"
        assert (event.details["alert"], event.details["rule"]) == (alert["id"],
                                                                   "county_participation")
    assert ack.details["comment"] == "已约谈"
    assert (waiver.details["reason"], waiver.details["until"]) == ("专班同意延期", "2099-12-31")


@pytest.mark.parametrize(("by", "says"), [
    ("nobody", "nobody"),
    ("wang.leader", "wang.leader"),  # leadership reads alerts, never acts on them
    ("zhao.disabled", "zhao.disabled"),
    ("demo-city", "demo"),  # a demo account, while the app serves real data
])
def test_acting_for_an_account_that_may_not_act_is_refused(
    capsys: pytest.CaptureFixture[str], state: Path, hovering: Path,
    monkeypatch: pytest.MonkeyPatch, *, by: str, says: str
) -> None:
    alert = county_alert(record(capsys, hovering))
    account(state, "wang.leader", "leadership")
    account(state, "zhao.disabled", "city_supervisor")
    UserStore(state / "users.sqlite").disable("zhao.disabled")
    account(state, "demo-city", "city_supervisor", demo=True)
    monkeypatch.setenv("HMB_DATA_DIR", str(hovering))
    monkeypatch.setenv("HMB_PROFILE", "sanming-2024")
    before = snapshot(state)

    for action in (["ack", alert["id"], "--comment", "已知"],
                   ["waive", alert["id"], "--reason", "延期", "--until", "2099-12-31"]):
        result = run(capsys, "alerts", *action[:2], "--by", by, *action[2:])
        assert result.code == 2
        assert says in result.err

    assert snapshot(state) == before
    refused = audit_events(state, "alert_refused")
    assert len(refused) == 2
    assert {e.details["os_user"] for e in refused} == {"ops.chen"}
    assert {e.details["by"] for e in refused} == {by}
    assert audit_events(state, "alert_ack", "alert_waive") == []


def test_a_demo_account_acts_on_the_demo_data(
    capsys: pytest.CaptureFixture[str], state: Path, hovering: Path
) -> None:
    alert = county_alert(record(capsys, hovering))
    account(state, "demo-city", "city_supervisor", demo=True)
    assert run(capsys, "alerts", "ack", alert["id"], "--by", "demo-city",
               "--comment", "演示").code == 0
