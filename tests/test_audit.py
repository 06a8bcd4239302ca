"""The audit trail (hmb.state.audit): append-only, and every event kept with who, when and where."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hmb.state.audit import AuditTrail, Origin, export_csv
from tests.builders import run_cli

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def trail(tmp_path: Path) -> AuditTrail:
    moments = iter(T0 + timedelta(minutes=i) for i in range(1000))
    return AuditTrail(tmp_path / "audit.sqlite", clock=lambda: next(moments))


def test_events_are_recorded_with_who_when_what_and_where(trail: AuditTrail) -> None:
    trail.record("sign_in", "zhang", "county_supervisor", {"method": "password"},
                 Origin("10.0.0.7", "Firefox"))
    trail.record("page_view", "zhang", "county_supervisor",
                 {"page": "participation", "county": "350426", "year": 2024})
    trail.record("download", "zhang", "county_supervisor",
                 {"file": "participation.csv", "rows": 1})
    events = trail.read()
    assert [e.action for e in events] == ["sign_in", "page_view", "download"]
    first = events[0]
    assert (first.username, first.role, first.client_ip, first.user_agent) == \
        ("zhang", "county_supervisor", "10.0.0.7", "Firefox")
    assert first.at == T0
    assert events[1].details == {"page": "participation", "county": "350426", "year": 2024}
    assert events[2].client_ip == "unknown"  # where Streamlit cannot tell


@pytest.mark.parametrize("statement", [
    "update audit_events set username = 'someone else'",
    "update audit_events set details = '{}' where seq = 1",
    "delete from audit_events",
    "delete from audit_events where seq = 1",
])
def test_the_trail_is_append_only(trail: AuditTrail, statement: str) -> None:
    trail.record("sign_in", "zhang", "admin")
    with sqlite3.connect(trail.path) as con, pytest.raises(sqlite3.IntegrityError,
                                                           match="append-only"):
        con.execute(statement)
    assert [e.username for e in trail.read()] == ["zhang"]


def test_reading_filters_by_time_user_and_action(trail: AuditTrail) -> None:
    for who, action in [("zhang", "sign_in"), ("li", "sign_in"), ("zhang", "download"),
                        ("zhang", "sign_out")]:
        trail.record(action, who, "admin")  # type: ignore[arg-type]
    assert [e.action for e in trail.read(username="zhang")] == ["sign_in", "download",
                                                                "sign_out"]
    assert [e.username for e in trail.read(actions=("sign_in",))] == ["zhang", "li"]
    assert [e.action for e in trail.read(since=T0 + timedelta(minutes=2))] == ["download",
                                                                               "sign_out"]
    assert [e.action for e in trail.read(limit=1)] == ["sign_out"]
    assert trail.read(actions=()) == []


def test_an_unknown_action_is_refused(trail: AuditTrail) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        trail.record("delete_everything", "zhang", "admin")  # type: ignore[arg-type]


def test_export_writes_every_event_as_csv(trail: AuditTrail, tmp_path: Path) -> None:
    trail.record("sign_in", "张三", "admin", {"method": "password"})
    trail.record("export", "张三", "admin", {"file": "x.csv", "rows": 3})
    out = tmp_path / "audit.csv"
    assert export_csv(trail.read(), out) == 2
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "seq,at,username,role,action,details,client_ip,user_agent"
    assert "张三" in lines[1] and "sign_in" in lines[1]
    assert len(lines) == 3


def test_user_management_from_the_command_line_is_audited(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("HMB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("USER", "operator")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert run_cli("users", "add", "zhang", "--role", "county_supervisor", "--county", "350426",
                   "--password-stdin").code == 0
    assert run_cli("users", "unlock", "zhang").code == 0
    assert run_cli("users", "disable", "zhang").code == 0
    listed = run_cli("users", "list")
    assert "zhang" in listed.out and "disabled" in listed.out
    bad = run_cli("users", "add", "li", "--role", "county_supervisor", "--oidc")
    assert bad.code == 2 and "--county" in bad.err and "Traceback" not in bad.err
    missing = run_cli("users", "reset-password", "nobody", "--password-stdin")
    assert missing.code == 2 and "nobody" in missing.err
    events = AuditTrail(tmp_path / "audit.sqlite").read()
    assert [(e.action, e.username, e.details.get("user")) for e in events] == [
        ("user_added", "operator", "zhang"),
        ("user_unlocked", "operator", "zhang"),
        ("user_disabled", "operator", "zhang"),
    ]
    out = tmp_path / "out.csv"
    exported = run_cli("audit", "export", str(out))
    assert exported.code == 0 and out.read_text(encoding="utf-8-sig").count("\n") == 4
    listing = run_cli("audit", "list", "--format", "json", "--action", "user_added")
    assert listing.code == 0 and '"user_added"' in listing.out and "export" not in \
        listing.out


# --- the hash chain ---------------------------------------------------------------------------

LEGACY_TRAIL = """
create table audit_events (
    seq integer primary key autoincrement, at text not null, username text not null,
    role text not null, action text not null, details text not null default '{}',
    client_ip text not null default 'unknown', user_agent text not null default 'unknown')
"""


def three_events(trail: AuditTrail) -> None:
    trail.record("sign_in", "zhang", "admin", {"method": "password"}, Origin("10.0.0.7", "Edge"))
    trail.record("download", "zhang", "admin", {"file": "claims.csv", "rows": 12})
    trail.record("sign_out", "zhang", "admin")


def tamper(path: Path, *statements: str) -> None:
    """What someone with write access to the file can do: drop the triggers, then edit."""
    con = sqlite3.connect(path)
    try:
        triggers = [name for (name,) in con.execute(
            "select name from sqlite_master where type = 'trigger'")]
        for name in triggers:
            con.execute(f"drop trigger {name}")
        for statement in statements:
            con.execute(statement)
        con.commit()
    finally:
        con.close()


@pytest.mark.parametrize("statement", [
    "insert or replace into audit_events (seq, at, username, role, action)"
    " values (2, '2026-11-23T08:01:00.000000+00:00', 'someone else', 'admin', 'sign_in')",
    "replace into audit_events (seq, at, username, role, action)"
    " values (1, '2026-11-23T08:00:00.000000+00:00', 'zhang', 'admin', 'page_view')",
    "insert or replace into audit_events select * from audit_events where seq = 1",
    # A row that does not follow the last one, or skips the chain, is refused too.
    "insert into audit_events (seq, at, username, role, action)"
    " values (9, '2026-11-23T09:00:00.000000+00:00', 'x', 'admin', 'sign_in')",
    "insert into audit_events (at, username, role, action)"
    " values ('2026-11-23T09:00:00.000000+00:00', 'x', 'admin', 'sign_in')",
])
def test_replace_cannot_rewrite_an_entry(trail: AuditTrail, statement: str) -> None:
    three_events(trail)
    before = trail.read()
    with sqlite3.connect(trail.path) as con, pytest.raises(sqlite3.IntegrityError,
                                                           match="append-only"):
        con.execute(statement)
    assert trail.read() == before


def test_each_entry_is_chained_to_the_one_before(trail: AuditTrail) -> None:
    three_events(trail)
    report = trail.verify()
    assert (report.table, report.entries, report.problem) == ("audit_events", 3, None)
    con = sqlite3.connect(trail.path)
    try:
        rows = con.execute("select prev_hash, hash from audit_events order by seq").fetchall()
    finally:
        con.close()
    assert rows[0][0] == "0" * 64
    assert [prev for prev, _ in rows[1:]] == [h for _, h in rows[:-1]]
    assert report.head == rows[-1][1]


@pytest.mark.parametrize(("statement", "seq"), [
    ("update audit_events set username = 'li' where seq = 2", 2),
    ("update audit_events set details = '{\"file\": \"x.csv\", \"rows\": 1}' where seq = 2", 2),
    ("update audit_events set at = '2026-11-22T08:00:00.000000+00:00' where seq = 1", 1),
    ("delete from audit_events where seq = 2", 3),
    ("update audit_events set seq = 7 where seq = 3", 7),
])
def test_an_edit_behind_the_triggers_back_is_found(
    trail: AuditTrail, statement: str, seq: int
) -> None:
    three_events(trail)
    tamper(trail.path, statement)
    problem = trail.verify().problem
    assert problem is not None
    assert (problem.table, problem.entry) == ("audit_events", str(seq))


def test_audit_verify_names_the_first_altered_entry(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HMB_STATE_DIR", str(tmp_path))
    trail = AuditTrail(tmp_path / "audit.sqlite",
                       clock=lambda: T0)
    three_events(trail)
    intact = run_cli("audit", "verify")
    assert intact.code == 0, intact.text
    assert "audit_events" in intact.out and "intact" in intact.out and "3" in intact.out

    tamper(trail.path, "update audit_events set username = 'li' where seq = 2",
           "update audit_events set username = 'li' where seq = 3")
    broken = run_cli("audit", "verify")
    assert broken.code == 1
    assert "audit_events" in broken.err and "#2" in broken.err
    assert "2026-11-23 08:00:00" in broken.err  # the entry's time
    assert "#3" not in broken.err  # the first altered entry only


def test_an_unchained_trail_is_chained_once_on_opening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.sqlite"
    con = sqlite3.connect(path)
    try:
        con.execute(LEGACY_TRAIL)
        for n in range(3):
            con.execute("insert into audit_events (at, username, role, action) values (?, ?, ?, ?)",
                        (f"2026-11-2{n}T08:00:00.000000+00:00", "zhang", "admin", "sign_in"))
        con.commit()
    finally:
        con.close()

    trail = AuditTrail(path)
    said = capsys.readouterr().err
    assert "3 existing entries of audit_events" in said
    AuditTrail(path)
    assert capsys.readouterr().err == ""  # once
    trail.record("sign_out", "zhang", "admin")
    report = trail.verify()
    assert (report.entries, report.problem) == (4, None)
    assert [e.action for e in trail.read()] == ["sign_in"] * 3 + ["sign_out"]
    with sqlite3.connect(path) as raw, pytest.raises(sqlite3.IntegrityError,
                                                     match="append-only"):
        raw.execute("insert or replace into audit_events (seq, at, username, role, action)"
                    " values (1, 'x', 'y', 'admin', 'sign_in')")
