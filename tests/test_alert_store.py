"""The alert lifecycle store: transitions, waivers, idempotent syncs, append-only history, and
several writers (threads and processes) at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hmb.judge.alerts import Alert, Citation, Scope, Severity
from hmb.state.alert_store import (
    SCHEMA_VERSION,
    SYSTEM_ACTOR,
    AlertRecord,
    AlertStateError,
    AlertStore,
    EvaluationContext,
    StaleEvaluation,
)

ROOT = Path(__file__).resolve().parent.parent
PROFILE = "mingzhou-2025"
RULEBOOK = "mingzhou-2025.1"
FLOOR = 0.85  # 明政办规〔2023〕5号 第十二条: loss ratio not below 85%
CITATION = Citation(document="明政办规〔2023〕5号", clause="第十二条", quote="赔付率不低于85%")
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def breach(
    county: str = "350402",
    *,
    observed: float = 0.80,
    severity: Severity = "warning",
    rule_id: str = "loss_ratio_below_floor",
    profile: str = PROFILE,
    policy_year: int = 2025,
) -> Alert:
    """A loss-ratio alert for one county; the gap is in percentage points below the floor."""
    return Alert(
        profile=profile,
        rule_id=rule_id,
        severity=severity,
        scope=Scope(policy_year=policy_year, county_code=county),
        observed=observed,
        threshold=FLOOR,
        gap=round((observed - FLOOR) * 100, 6),
        gap_unit="pp",
        message_zh=f"赔付率 {observed:.1%} 低于 85%",
        message_en=f"Loss ratio {observed:.1%} below 85%",
        citation=CITATION,
    )


def evaluation(
    at: datetime | None = T0, *, fingerprint: str = "fp-1", profile: str = PROFILE
) -> EvaluationContext:
    as_of = (at or datetime.now(UTC)).date() - timedelta(days=1)
    return EvaluationContext(profile, RULEBOOK, fingerprint, as_of=as_of, evaluated_at=at)


def days_ahead(days: int) -> date:
    """A day relative to today in UTC, the calendar waivers are checked against."""
    return datetime.now(UTC).date() + timedelta(days=days)


def events(store: AlertStore, alert_id: str) -> list[tuple[str, str | None, str]]:
    return [(t.event, t.from_state, t.to_state) for t in store.history(alert_id)]


def row_counts(path: Path) -> tuple[int, int]:
    con = sqlite3.connect(path)
    try:
        alerts = con.execute("select count(*) from alerts").fetchone()[0]
        history = con.execute("select count(*) from alert_history").fetchone()[0]
    finally:
        con.close()
    return alerts, history


@pytest.fixture
def store(tmp_path: Path) -> AlertStore:
    return AlertStore(tmp_path / "alerts.sqlite")


def test_fire_acknowledge_resolve_refire(store: AlertStore) -> None:
    alert = breach()

    result = store.sync([alert], evaluation(T0))
    assert result.fired == [alert.id]
    record = store.get(alert.id)
    assert record is not None
    assert (record.state, record.observed, record.scope) == ("firing", 0.80, alert.scope)
    assert record.citation == CITATION
    assert record.first_seen == record.last_seen == record.last_changed == T0

    acknowledged = store.acknowledge(alert.id, "supervisor.li", "已通知承保公司核查")
    assert acknowledged.state == "acknowledged"
    assert acknowledged.acknowledged_by == "supervisor.li"
    assert acknowledged.acknowledged_comment == "已通知承保公司核查"

    # The next evaluation on fixed data no longer finds the breach.
    later = T0 + timedelta(days=1)
    assert store.sync([], evaluation(later, fingerprint="fp-2")).resolved == [alert.id]
    resolved = store.get(alert.id)
    assert resolved is not None
    assert (resolved.state, resolved.resolved_at) == ("resolved", later)
    assert store.sync([], evaluation(later, fingerprint="fp-2")).resolved == []

    again = T0 + timedelta(days=2)
    assert store.sync([alert], evaluation(again, fingerprint="fp-3")).refired == [alert.id]
    refired = store.get(alert.id)
    assert refired is not None
    assert refired.state == "firing"
    assert refired.resolved_at is None and refired.acknowledged_by is None
    assert refired.first_seen == T0 and refired.last_seen == again

    assert events(store, alert.id) == [
        ("fired", None, "firing"),
        ("acknowledged", "firing", "acknowledged"),
        ("resolved", "acknowledged", "resolved"),
        ("refired", "resolved", "firing"),
    ]
    fired, ack, resolution, refire = store.history(alert.id)
    assert [t.actor for t in store.history(alert.id)] == [
        SYSTEM_ACTOR, "supervisor.li", SYSTEM_ACTOR, SYSTEM_ACTOR,
    ]
    assert ack.comment == "已通知承保公司核查"
    # Every row carries what is needed to reproduce it.
    for row in (fired, ack, resolution, refire):
        assert (row.threshold, row.severity, row.rulebook_version) == (FLOOR, "warning", RULEBOOK)
    assert [row.data_fingerprint for row in (fired, ack, resolution, refire)] == [
        "fp-1", "fp-1", "fp-2", "fp-3",
    ]
    assert (fired.observed, fired.gap) == (0.80, -5.0)
    assert (resolution.observed, resolution.gap) == (None, None)  # not breached: no value
    assert resolution.as_of == date(2025, 3, 1)
    assert [row.at for row in (fired, resolution, refire)] == [T0, later, again]
    assert [row.seq for row in store.history(alert.id)] == sorted(
        row.seq for row in store.history(alert.id)
    )


def test_the_same_evaluation_twice_writes_nothing_new(store: AlertStore) -> None:
    alerts = [breach("350402"), breach("350403", observed=0.7, severity="critical")]
    first = store.sync(alerts, evaluation(T0))
    counts = row_counts(store.path)
    records = store.list()

    second = store.sync(alerts, evaluation(T0))

    assert sorted(first.fired) == sorted(a.id for a in alerts)
    assert second.unchanged == [a.id for a in alerts]
    assert second.fired == second.updated == second.refired == second.resolved == []
    assert row_counts(store.path) == counts == (2, 2)
    assert store.list() == records

    # New data with the same values: the alert notes where it was last seen, history is quiet.
    later = T0 + timedelta(days=1)
    assert store.sync(alerts, evaluation(later, fingerprint="fp-2")).unchanged == [
        a.id for a in alerts
    ]
    assert row_counts(store.path) == (2, 2)
    record = store.get(alerts[0].id)
    assert record is not None
    assert (record.last_seen, record.last_changed, record.data_fingerprint) == (later, T0, "fp-2")


def test_a_changed_value_writes_one_updated_row(store: AlertStore) -> None:
    store.sync([breach(observed=0.80)], evaluation(T0))
    store.acknowledge(breach().id, "supervisor.li", "跟踪中")

    later = T0 + timedelta(days=1)
    result = store.sync([breach(observed=0.78)], evaluation(later, fingerprint="fp-2"))
    assert store.sync([breach(observed=0.78)], evaluation(later, fingerprint="fp-2")).updated == []

    assert result.updated == [breach().id]
    record = store.get(breach().id)
    assert record is not None
    assert (record.state, record.observed, record.last_changed) == ("acknowledged", 0.78, later)
    assert record.acknowledged_by == "supervisor.li"
    *_, update = store.history(breach().id)
    assert (update.event, update.from_state, update.to_state) == (
        "updated", "acknowledged", "acknowledged",
    )
    assert (update.observed, update.gap, update.data_fingerprint) == (0.78, -7.0, "fp-2")
    assert len(store.history(breach().id)) == 3


def test_an_acknowledged_alert_that_gets_worse_fires_again(store: AlertStore) -> None:
    store.sync([breach(observed=0.80, severity="critical")], evaluation(T0))
    store.acknowledge(breach().id, "supervisor.li", "已约谈")

    # Better is only an update: the acknowledgement still holds.
    improved = store.sync([breach(observed=0.82, severity="warning")],
                          evaluation(T0, fingerprint="fp-2"))
    assert improved.updated == [breach().id]
    record = store.get(breach().id)
    assert record is not None and record.state == "acknowledged"

    worse = store.sync([breach(observed=0.70, severity="critical")],
                       evaluation(T0, fingerprint="fp-3"))
    assert worse.refired == [breach().id]
    record = store.get(breach().id)
    assert record is not None
    assert (record.state, record.severity, record.acknowledged_by) == ("firing", "critical", None)
    assert events(store, breach().id)[-1] == ("refired", "acknowledged", "firing")


def test_a_waiver_holds_until_its_day_then_expires(store: AlertStore) -> None:
    now = datetime.now(UTC)
    until = now.date() + timedelta(days=3)
    still_breached, gone_quiet = breach("350402"), breach("350403")
    waived_then_resolved = breach("350404")
    store.sync([still_breached, gone_quiet, waived_then_resolved], evaluation(now))
    for alert in (still_breached, gone_quiet):
        waived = store.waive(alert.id, "supervisor.wang", "数据口径调整中", until)
        assert (waived.state, waived.waived_until) == ("waived", until)
    store.acknowledge(waived_then_resolved.id, "supervisor.wang", "核查中")
    store.waive(waived_then_resolved.id, "supervisor.wang", "等待年度清算", until)

    # On the waiver's last day it still holds; a changed value is recorded, the state is kept.
    last_day = datetime.combine(until, datetime.min.time(), UTC) + timedelta(hours=23)
    result = store.sync(
        [still_breached, breach("350403", observed=0.79)], evaluation(last_day)
    )
    assert result.unchanged == [still_breached.id]
    assert result.updated == [gone_quiet.id]
    assert result.resolved == [waived_then_resolved.id]  # not breached: resolved, waiver or not
    assert {r.state for r in store.list(states=["waived"])} == {"waived"}
    assert len(store.list(states=["waived"])) == 2

    # The day after, the waiver is over.
    day_after = last_day + timedelta(hours=2)
    result = store.sync([still_breached], evaluation(day_after, fingerprint="fp-2"))
    assert result.waiver_expired == [still_breached.id, gone_quiet.id]
    assert result.resolved == result.unchanged == []

    refiring = store.get(still_breached.id)
    assert refiring is not None
    assert (refiring.state, refiring.waived_by, refiring.waived_until) == ("firing", None, None)
    assert events(store, still_breached.id) == [
        ("fired", None, "firing"),
        ("waived", "firing", "waived"),
        ("waiver_expired", "waived", "firing"),
    ]
    assert events(store, gone_quiet.id)[-2:] == [
        ("updated", "waived", "waived"),
        ("waiver_expired", "waived", "resolved"),
    ]
    waiver = store.history(still_breached.id)[1]
    assert waiver.actor == "supervisor.wang"
    assert waiver.comment == f"数据口径调整中 (until {until.isoformat()})"
    assert events(store, waived_then_resolved.id)[-1] == ("resolved", "waived", "resolved")


def test_history_is_append_only(store: AlertStore) -> None:
    store.sync([breach()], evaluation(T0))
    con = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("update alert_history set actor = 'someone else'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("delete from alert_history")
    finally:
        con.close()
    assert [t.actor for t in store.history(breach().id)] == [SYSTEM_ACTOR]


def test_the_store_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "alerts.sqlite"
    first = AlertStore(path)
    first.sync([breach()], evaluation(T0))
    first.acknowledge(breach().id, "supervisor.li", "已记录")

    reopened = AlertStore(path)

    assert reopened.get(breach().id) == first.get(breach().id)
    assert reopened.history(breach().id) == first.history(breach().id)
    assert reopened.sync([breach()], evaluation(T0)).unchanged == [breach().id]
    con = sqlite3.connect(path)
    try:
        assert con.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()


def test_timestamps_are_utc_with_microseconds(store: AlertStore) -> None:
    store.sync([breach()], evaluation(datetime(2025, 3, 1, 16, 30, tzinfo=UTC)))
    con = sqlite3.connect(store.path)
    try:
        (at,) = con.execute("select at from alert_history").fetchone()
    finally:
        con.close()
    assert at == "2025-03-01T16:30:00.000000+00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluation(datetime(2025, 3, 1, 16, 30))


def test_sync_touches_only_its_own_profile(store: AlertStore) -> None:
    store.sync([breach(profile="other-city")], evaluation(T0, profile="other-city"))
    store.sync([breach()], evaluation(T0))
    store.sync([], evaluation(T0, fingerprint="fp-2"))

    assert [r.state for r in store.list(profile="other-city")] == ["firing"]
    assert [r.state for r in store.list(profile=PROFILE)] == ["resolved"]
    with pytest.raises(ValueError, match="other-city"):
        store.sync([breach(profile="other-city")], evaluation(T0))
    with pytest.raises(ValueError, match="twice"):
        store.sync([breach(), breach(observed=0.7)], evaluation(T0))


def test_list_filters(store: AlertStore) -> None:
    alerts = [
        breach("350402", severity="warning"),
        breach("350403", severity="critical", observed=0.6),
        breach("350404", rule_id="surplus_too_high"),
        breach("350402", policy_year=2024),
    ]
    store.sync(alerts, evaluation(T0))
    store.acknowledge(alerts[0].id, "supervisor.li", "已知")

    def ids(records: list[AlertRecord]) -> set[str]:
        return {record.id for record in records}

    assert store.list()[0].severity == "critical"  # most severe first
    assert ids(store.list(states=["acknowledged"])) == {alerts[0].id}
    assert ids(store.list(states=["firing", "acknowledged"])) == {a.id for a in alerts}
    assert ids(store.list(states=[])) == set()
    assert ids(store.list(severity="critical")) == {alerts[1].id}
    assert ids(store.list(rule_id="surplus_too_high")) == {alerts[2].id}
    assert ids(store.list(policy_year=2024)) == {alerts[3].id}
    assert ids(store.list(county_codes=["350402"])) == {alerts[0].id, alerts[3].id}
    assert ids(store.list(county_codes=["350402"], policy_year=2025)) == {alerts[0].id}
    with pytest.raises(ValueError, match="unknown alert states"):
        store.list(states=["open"])
    with pytest.raises(TypeError, match="collection"):
        store.list(states="firing")


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda s, a: s.acknowledge("no-such-alert", "supervisor.li", "?"), "no such alert"),
        (lambda s, a: s.acknowledge(a.id, "supervisor.li", "  "), "comment is required"),
        (lambda s, a: s.acknowledge(a.id, "", "已知"), "actor is required"),
        (lambda s, a: s.waive(a.id, "supervisor.li", "",
                              days_ahead(9)), "reason is required"),
        (lambda s, a: s.waive(a.id, "supervisor.li", "年度清算",
                              date(2020, 1, 1)), "must end in the future"),
        (lambda s, a: s.waive(a.id, "supervisor.li", "年度清算",
                              datetime.now(UTC).date()), "must end in the future"),
        (lambda s, a: s.waive("no-such-alert", "supervisor.li", "年度清算",
                              days_ahead(9)), "no such alert"),
    ],
)
def test_refused_actions_change_nothing(
    store: AlertStore, action: Callable[[AlertStore, Alert], object], message: str
) -> None:
    store.sync([breach()], evaluation(T0))
    counts = row_counts(store.path)
    with pytest.raises(AlertStateError, match=message):
        action(store, breach())
    assert row_counts(store.path) == counts


def test_a_resolved_alert_cannot_be_acknowledged_or_waived(store: AlertStore) -> None:
    store.sync([breach()], evaluation(T0))
    store.sync([], evaluation(T0, fingerprint="fp-2"))
    with pytest.raises(AlertStateError, match="it is resolved"):
        store.acknowledge(breach().id, "supervisor.li", "已知")
    with pytest.raises(AlertStateError, match="it is resolved"):
        store.waive(breach().id, "supervisor.li", "年度清算", days_ahead(9))
    # Once waived, an alert is not acknowledged until it fires again.
    store.sync([breach()], evaluation(T0, fingerprint="fp-3"))
    store.waive(breach().id, "supervisor.li", "年度清算", days_ahead(9))
    with pytest.raises(AlertStateError, match="it is waived"):
        store.acknowledge(breach().id, "supervisor.li", "已知")
    assert [e for e, _, _ in events(store, breach().id)] == ["fired", "resolved", "refired",
                                                             "waived"]


def test_acknowledging_again_records_the_new_comment(store: AlertStore) -> None:
    store.sync([breach()], evaluation(T0))
    store.acknowledge(breach().id, "supervisor.li", "已通知")
    record = store.acknowledge(breach().id, "supervisor.wang", "承保公司已回复")
    assert (record.acknowledged_by, record.acknowledged_comment) == ("supervisor.wang",
                                                                     "承保公司已回复")
    assert events(store, breach().id)[-1] == ("acknowledged", "acknowledged", "acknowledged")


COUNTIES = [f"3504{n:02d}" for n in range(40)]


def test_threads_writing_at_once_lose_nothing(store: AlertStore, tmp_path: Path) -> None:
    until = days_ahead(30)
    store.sync([breach(c) for c in COUNTIES], evaluation(None, fingerprint="fp-0"))
    rounds = 10
    start = threading.Barrier(4)

    def acknowledge_first_ten() -> None:
        start.wait()
        for county in COUNTIES[:10]:
            store.acknowledge(breach(county).id, "supervisor.li", f"{county} 已核查")

    def waive_next_ten() -> None:
        own_store = AlertStore(store.path)  # a second session, its own store object
        start.wait()
        for county in COUNTIES[10:20]:
            own_store.waive(breach(county).id, "supervisor.wang", "年度清算", until)

    def resync(profile: str) -> Callable[[], None]:
        def run() -> None:
            start.wait()
            for k in range(1, rounds + 1):
                alerts = [breach(c, observed=0.80 - k / 1000, profile=profile) for c in COUNTIES]
                store.sync(alerts, evaluation(None, fingerprint=f"fp-{k}", profile=profile))
        return run

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(job) for job in (acknowledge_first_ten, waive_next_ten,
                                                resync(PROFILE), resync("other-city"))]
        for future in futures:
            future.result()  # re-raises anything a thread raised

    states = Counter(r.state for r in store.list(profile=PROFILE))
    assert states == {"acknowledged": 10, "waived": 10, "firing": 20}
    for n, county in enumerate(COUNTIES):
        kinds = Counter(t.event for t in store.history(breach(county).id))
        own_action = {"acknowledged": int(n < 10), "waived": int(10 <= n < 20)}
        assert kinds == Counter({"fired": 1, "updated": rounds, **own_action}), county
        other = Counter(t.event for t in store.history(breach(county, profile="other-city").id))
        assert other == {"fired": 1, "updated": rounds - 1}
    assert row_counts(store.path) == (80, 40 * (1 + rounds) + 20 + 40 * rounds)


def test_opening_a_new_store_from_several_threads_at_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite"
    start = threading.Barrier(4)

    def open_and_sync(n: int) -> None:
        start.wait()
        profile = f"city-{n}"
        AlertStore(path).sync([breach(profile=profile)], evaluation(T0, profile=profile))

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(open_and_sync, n) for n in range(4)]:
            future.result()
    assert row_counts(path) == (4, 4)


def write_from_another_process(path: Path, go: Path, role: str) -> None:
    """Run in a separate process by the test below: wait for the go signal, then interleave
    actions on shared alerts with syncs of a profile of its own."""
    store = AlertStore(path)
    deadline = time.monotonic() + 30
    while not go.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no go signal")
        time.sleep(0.005)
    mine = COUNTIES[:20] if role == "acknowledge" else COUNTIES[20:]
    until = days_ahead(30)
    for k, county in enumerate(mine):
        if role == "acknowledge":
            store.acknowledge(breach(county).id, "process.a", f"{county} 已核查")
        else:
            store.waive(breach(county).id, "process.b", f"{county} 年度清算", until)
        alerts = [breach(c, observed=0.80 - k / 1000, profile=role) for c in COUNTIES[:20]]
        store.sync(alerts, evaluation(None, fingerprint=f"fp-{k}", profile=role))


WORKER = (
    "import sys; from pathlib import Path;"
    " from tests.test_alert_store import write_from_another_process as write;"
    " write(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])"
)


def test_processes_writing_at_once_lose_nothing(store: AlertStore, tmp_path: Path) -> None:
    store.sync([breach(c) for c in COUNTIES], evaluation(None))
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                     os.environ.get("PYTHONPATH")]))}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(store.path), str(go), role],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for role in ("acknowledge", "waive")
    ]
    time.sleep(0.5)  # let both start up and open the store
    go.touch()
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr
        assert stderr == ""

    assert Counter(r.state for r in store.list(profile=PROFILE)) == {
        "acknowledged": 20, "waived": 20,
    }
    for n, county in enumerate(COUNTIES):
        history = store.history(breach(county).id)
        actor = "process.a" if n < 20 else "process.b"
        assert [(t.event, t.actor) for t in history] == [
            ("fired", SYSTEM_ACTOR), ("acknowledged" if n < 20 else "waived", actor),
        ]
    for role in ("acknowledge", "waive"):
        for county in COUNTIES[:20]:
            kinds = Counter(t.event for t in store.history(breach(county, profile=role).id))
            assert kinds == {"fired": 1, "updated": 19}
    assert row_counts(store.path) == (80, 40 + 40 + 2 * 20 * 20)


# --- a tamper-evident history, recorded monotonically and once --------------------------------


def tamper(path: Path, *statements: str) -> None:
    """What someone with write access to the file can do: drop the triggers, then edit."""
    con = sqlite3.connect(path)
    try:
        for (name,) in con.execute(
            "select name from sqlite_master where type = 'trigger'"
        ).fetchall():
            con.execute(f"drop trigger {name}")
        for statement in statements:
            con.execute(statement)
        con.commit()
    finally:
        con.close()


def acknowledged_store(store: AlertStore) -> AlertStore:
    store.sync([breach("350402"), breach("350403")], evaluation(T0))
    store.acknowledge(breach("350402").id, "supervisor.li", "已通知承保公司核查")
    store.sync([breach("350402", observed=0.78)], evaluation(T0 + timedelta(days=1),
                                                          fingerprint="fp-2"))
    return store


@pytest.mark.parametrize("statement", [
    "insert or replace into alert_history select seq, alert_id, at, event, from_state, to_state,"
    " 'supervisor.wang', comment, severity, observed, threshold, gap, rulebook_version,"
    " data_fingerprint, as_of, prev_hash, hash from alert_history where seq = 3",
    "replace into alert_history (seq, alert_id, at, event, to_state, actor, severity,"
    " rulebook_version, data_fingerprint, as_of) select 1, alert_id, at, 'resolved', 'resolved',"
    " 'system', severity, rulebook_version, data_fingerprint, as_of from alert_history"
    " where seq = 1",
    "insert into alert_history (alert_id, at, event, to_state, actor, severity,"
    " rulebook_version, data_fingerprint, as_of) select alert_id, at, 'resolved', 'resolved',"
    " 'system', severity, rulebook_version, data_fingerprint, as_of from alert_history"
    " where seq = 1",
])
def test_replace_cannot_rewrite_the_history(store: AlertStore, statement: str) -> None:
    acknowledged_store(store)
    before = [store.history(breach(c).id) for c in ("350402", "350403")]
    con = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(statement)
    finally:
        con.close()
    assert [store.history(breach(c).id) for c in ("350402", "350403")] == before
    assert all(report.problem is None for report in store.verify())


@pytest.mark.parametrize(("statement", "table", "entry"), [
    ("update alert_history set actor = 'supervisor.wang' where seq = 3", "alert_history", "3"),
    ("update alert_history set observed = 0.86 where seq = 1", "alert_history", "1"),
    ("delete from alert_history where seq = 4", "alert_history", "5"),
    ("delete from evaluations where seq = 1", "evaluations", "2"),
    # The current state must be the one its history ends in.
    ("update alerts set acknowledged_by = 'supervisor.wang'", "alerts", None),
    ("update alerts set state = 'resolved' where county_code = '350402'", "alerts", None),
    ("delete from alerts where county_code = '350403'", "alerts", None),
])
def test_an_edit_behind_the_triggers_back_is_found(
    store: AlertStore, statement: str, table: str, entry: str | None
) -> None:
    acknowledged_store(store)
    store.sync([breach("350402", observed=0.77)], evaluation(T0 + timedelta(days=2),
                                                             fingerprint="fp-3"))
    assert [report.problem for report in store.verify()] == [None, None, None]
    tamper(store.path, statement)
    problems = [report.problem for report in store.verify() if report.problem is not None]
    # The first one named is the edit (an edited history may also contradict the alert).
    assert (problems[0].table, problems[0].entry if entry else None) == (table, entry)
    if table == "alerts":
        assert len(problems) == 1
        assert problems[0].entry in {breach("350402").id, breach("350403").id}


def test_a_backdated_evaluation_is_refused(store: AlertStore) -> None:
    acknowledged_store(store)
    counts, records = row_counts(store.path), store.list()
    with pytest.raises(StaleEvaluation, match="2025-03-01") as refused:
        store.sync([], evaluation(T0 - timedelta(days=30), fingerprint="fp-old"))
    assert refused.value.latest == date(2025, 3, 1)
    assert (row_counts(store.path), store.list()) == (counts, records)
    assert store.latest_as_of(PROFILE) == date(2025, 3, 1)
    assert store.latest_as_of("other-city") is None


def test_an_evaluation_already_recorded_changes_nothing(store: AlertStore) -> None:
    acknowledged_store(store)
    counts, records = row_counts(store.path), store.list()
    # The same profile, rulebook version, data and as-of date can only mean the same alerts; a
    # caller that says otherwise does not get to resolve or re-fire anything.
    repeated = store.sync([breach("350402", observed=0.5, severity="critical")],
                          evaluation(T0 + timedelta(days=1), fingerprint="fp-2"))
    assert repeated.repeated
    assert repeated.unchanged == [breach("350402").id]
    assert repeated.fired == repeated.refired == repeated.resolved == repeated.updated == []
    assert (row_counts(store.path), store.list()) == (counts, records)


def test_only_open_critical_alerts_are_held_by_the_recovery_threshold(store: AlertStore) -> None:
    store.sync([breach("350402", severity="critical", observed=0.7), breach("350403"),
                breach("350404", severity="critical", observed=0.7)], evaluation(T0))
    store.sync([breach("350402", severity="critical", observed=0.7), breach("350403")],
               evaluation(T0 + timedelta(days=1), fingerprint="fp-2"))
    assert store.open_critical(PROFILE) == frozenset({breach("350402").id})


LEGACY_STORE = (
    "create table alerts (id text primary key, profile text not null, rule_id text not null,"
    " severity text not null, scope text not null, policy_year integer, county_code text,"
    " insurer_id text, subsidy_group text, state text not null, observed real, threshold real,"
    " gap real, gap_unit text not null, message_zh text not null, message_en text not null,"
    " citation text not null, projection text, first_seen text not null,"
    " last_seen text not null, last_changed text not null, acknowledged_by text,"
    " acknowledged_at text, acknowledged_comment text, waived_by text, waived_at text,"
    " waived_reason text, waived_until text, resolved_at text,"
    " rulebook_version text not null, data_fingerprint text not null, as_of text not null)",
    "create table alert_history (seq integer primary key autoincrement, alert_id text not null"
    " references alerts (id), at text not null, event text not null, from_state text,"
    " to_state text not null, actor text not null, comment text, severity text not null,"
    " observed real, threshold real, gap real, rulebook_version text not null,"
    " data_fingerprint text not null, as_of text not null)",
    "create trigger alert_history_is_append_only_update before update on alert_history"
    " begin select raise(abort, 'alert_history is append-only'); end",
    "create trigger alert_history_is_append_only_delete before delete on alert_history"
    " begin select raise(abort, 'alert_history is append-only'); end",
)


def test_a_store_of_the_first_schema_is_chained_once_on_opening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store written by the first version (no chain) is upgraded in place: its rows are kept
    as they are and chained, which is said once."""
    path = tmp_path / "alerts.sqlite"
    first = AlertStore(tmp_path / "model.sqlite")
    acknowledged_store(first)
    con = sqlite3.connect(path)
    try:
        for statement in LEGACY_STORE:
            con.execute(statement)
        con.execute(f"attach '{first.path}' as model")
        con.execute("insert into alerts select * from model.alerts")
        con.execute("insert into alert_history select seq, alert_id, at, event, from_state,"
                    " to_state, actor, comment, severity, observed, threshold, gap,"
                    " rulebook_version, data_fingerprint, as_of from model.alert_history")
        con.commit()
        con.execute("detach model")
        con.execute("pragma user_version = 1")
    finally:
        con.close()
    capsys.readouterr()

    store = AlertStore(path)
    said = capsys.readouterr().err
    assert "5 existing entries of alert_history" in said
    AlertStore(path)
    assert capsys.readouterr().err == ""
    assert store.list() == first.list()
    assert store.history(breach("350402").id) == first.history(breach("350402").id)
    assert [report.problem for report in store.verify()] == [None, None, None]
    # What was recorded before still counts for the as-of order.
    with pytest.raises(StaleEvaluation):
        store.sync([], evaluation(T0 - timedelta(days=30)))


def test_a_repeated_evaluation_still_ends_a_waiver_whose_day_has_passed(
    store: AlertStore,
) -> None:
    """The calendar ends a waiver, not the data: the same export evaluated every day must let it
    expire."""
    now = datetime.now(UTC)
    first = EvaluationContext(PROFILE, RULEBOOK, "fp-1", now.date(), evaluated_at=now)
    store.sync([breach("350402"), breach("350403")], first)
    for county in ("350402", "350403"):
        store.waive(breach(county).id, "supervisor.wang", "年度清算",
                    now.date() + timedelta(days=3))

    later = EvaluationContext(PROFILE, RULEBOOK, "fp-1", now.date(),
                              evaluated_at=now + timedelta(days=5))
    result = store.sync([breach("350402")], later)

    assert result.repeated
    assert result.waiver_expired == [breach("350402").id, breach("350403").id]
    assert [events(store, breach(c).id)[-1] for c in ("350402", "350403")] == [
        ("waiver_expired", "waived", "firing"), ("waiver_expired", "waived", "resolved")]
    assert all(report.problem is None for report in store.verify())


def test_a_comment_or_a_name_too_long_is_refused_by_the_store_itself(store: AlertStore) -> None:
    """The bound holds for every caller, the command line included, not only the page."""
    alert = breach()
    store.sync([alert], evaluation(T0))
    with pytest.raises(AlertStateError, match="2000"):
        store.acknowledge(alert.id, "supervisor.li", "x" * 2001)
    with pytest.raises(AlertStateError, match="64"):
        store.acknowledge(alert.id, "n" * 65, "已督促")
    with pytest.raises(AlertStateError, match="2000"):
        store.waive(alert.id, "supervisor.li", "y" * 2001, days_ahead(10))
    record = store.get(alert.id)
    assert record is not None and record.state == "firing"
    assert store.acknowledge(alert.id, "supervisor.li", "x" * 2000).state == "acknowledged"
