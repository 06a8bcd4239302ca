"""Every rule of every rulebook, with a breaching case and a silent case written as data.

The cases are in tests/rule_cases/<profile>.toml, one file per shipped rulebook: small tables in,
an as-of date, and the alerts (or, for a condition deciding a benefit tier, the notices) the rule
must give; a case that lists none says the rule stays silent. Each case is written to a folder,
validated and judged by the real engine (hmb.judge.rules.evaluate): only the alerts of the case's
rule are compared, every one of them must be listed, and every listed one must be there.

A file may give ``[base]`` tables, used by every case that does not give that table, and
``[defaults.<table>]`` values, merged into every row of that table before the row's own; an
enrolment row may say ``repeat = N`` for N members alike. Amounts and ratios are worked out by
hand in the comments of the files.

A rulebook that gains a rule without a breaching and a silent case here fails
:func:`test_every_rule_has_a_breaching_and_a_silent_case`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from hmb.ingest.dataset import open_dataset
from hmb.judge.alerts import Alert
from hmb.judge.rules import CheckResult, Notice, evaluate
from hmb.rulebook.profiles import available_profiles, load_profile
from tests.builders import Row, claim_row, enrollment_row, write_folder

CASES_DIR = Path(__file__).parent / "rule_cases"
TABLES = ("basic_insured", "enrollment", "claims", "insurers", "expenses", "subsidy_eligible")


@dataclass(frozen=True)
class RuleCase:
    profile: str
    index: int
    raw: dict[str, Any]
    base: dict[str, Any]
    defaults: dict[str, Any]

    @property
    def rule(self) -> str:
        return str(self.raw["rule"])

    @property
    def name(self) -> str:
        return f"{self.profile}:{self.rule}:{self.raw['name']}"

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return list(self.raw.get("alert", []))

    @property
    def notices(self) -> list[dict[str, Any]]:
        return list(self.raw.get("notice", []))

    @property
    def breaches(self) -> bool:
        """A breaching case lists what the rule gives: alerts, or a condition's notices."""
        return bool(self.alerts or self.notices)

    def tables(self) -> dict[str, list[Row]]:
        tables: dict[str, list[Row]] = {}
        for table in TABLES:
            rows = self.raw.get(table, self.base.get(table))
            if rows is None:
                continue
            defaults = dict(self.defaults.get(table, {}))
            tables[table] = [r for row in rows for r in _rows(table, {**defaults, **row})]
        return tables


def _rows(table: str, row: dict[str, Any]) -> list[Row]:
    """The rows one entry of a case stands for, filled in by the builders' defaults."""
    row = dict(row)
    repeat = int(row.pop("repeat", 1))
    if table == "enrollment":
        if "member_id" in row and repeat != 1:
            raise ValueError("an enrolment with a member_id stands for one member: drop repeat")
        return [enrollment_row(**row) for _ in range(repeat)]
    if repeat != 1:
        raise ValueError(f"repeat applies to enrolments only, not to {table}")
    if table == "claims":
        return [claim_row(**row)]
    if table == "basic_insured":
        return [{"policy_year": 2024, "scheme": "resident", **row}]
    if table == "insurers":
        insurer = str(row.get("insurer_id", "I1"))
        return [{"policy_year": 2024, "insurer_id": insurer,
                 "insurer_name": f"{insurer} 保险股份有限公司", "role": "member", "share": 1.0,
                 **row}]
    if table == "expenses":
        return [{"policy_year": 2024, "insurer_id": "I1", "category": "operations", **row}]
    return [{"policy_year": 2024, **row}]


@cache
def cases_of(profile: str) -> tuple[RuleCase, ...]:
    path = CASES_DIR / f"{profile}.toml"
    if not path.is_file():
        return ()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data.get("profile") == profile, f"{path.name}: profile = {data.get('profile')!r}"
    return tuple(
        RuleCase(profile, i, case, data.get("base", {}), data.get("defaults", {}))
        for i, case in enumerate(data.get("case", []))
    )


ALL_CASES = [case for profile in available_profiles() for case in cases_of(profile)]


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("rule_cases")
    results: dict[str, CheckResult] = {}

    def judge(case: RuleCase) -> CheckResult:
        if case.name not in results:
            folder = write_folder(root, name=f"{case.profile}-{case.index}", **case.tables())
            profile = load_profile(case.profile)
            data = open_dataset(folder, profile.liability_codes)
            assert not data.report["errors"], (case.name, data.report["errors"])
            with data.connect() as con:
                results[case.name] = evaluate(con, profile, date.fromisoformat(case.raw["as_of"]))
        return results[case.name]

    return judge


def _key(alert: Alert) -> tuple[str, str, int | None, str | None, str | None]:
    s = alert.scope
    return (alert.rule_id, alert.severity, s.policy_year, s.county_code, s.subsidy_group)


def _expected_key(case: RuleCase, want: dict[str, Any]) -> tuple[str, str, int | None,
                                                                 str | None, str | None]:
    return (str(want.get("rule", case.rule)), str(want["severity"]), want.get("policy_year"),
            want.get("county_code"), want.get("subsidy_group"))


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_rule_case(case: RuleCase, judged: Any) -> None:
    result: CheckResult = judged(case)
    got = {_key(a): a for a in result.alerts if a.rule_id == case.rule}
    wanted = {_expected_key(case, w): w for w in case.alerts}
    assert set(got) == set(wanted), f"{case.name}: got {sorted(got, key=str)}"
    for key, want in wanted.items():
        alert = got[key]
        if "observed" in want:
            assert alert.observed == pytest.approx(want["observed"], abs=1e-4), case.name
        _says(case.name, alert.message_zh, alert.message_en, want)
    for want in case.notices:
        found = [n for n in result.notices
                 if n.topic == want["topic"] and n.policy_year == want["policy_year"]]
        assert len(found) == 1, f"{case.name}: notice {want} among {_topics(result.notices)}"
        _says(case.name, found[0].message_zh, found[0].message_en, want)
    for topic in case.raw.get("no_notice", []):
        assert topic not in {n.topic for n in result.notices}, f"{case.name}: {topic}"


def _says(name: str, zh: str, en: str, want: dict[str, Any]) -> None:
    for fragment in want.get("says", []):
        assert fragment in zh, f"{name}: {fragment!r} not in {zh}"
    for fragment in want.get("says_en", []):
        assert fragment in en, f"{name}: {fragment!r} not in {en}"
    for fragment in want.get("not_says", []):
        assert fragment not in zh and fragment not in en, f"{name}: {fragment!r} in {zh} {en}"


def _topics(notices: tuple[Notice, ...]) -> list[tuple[str, int]]:
    return [(n.topic, n.policy_year) for n in notices]


@pytest.mark.parametrize("profile", available_profiles())
def test_every_rule_has_a_breaching_and_a_silent_case(profile: str) -> None:
    cases = cases_of(profile)
    rules = {rule.id for rule in load_profile(profile).rules}
    unknown = {c.rule for c in cases} - rules
    assert not unknown, f"{profile}: cases name rules the rulebook lacks: {sorted(unknown)}"
    breached = {c.rule for c in cases if c.breaches}
    silent = {c.rule for c in cases if not c.breaches}
    # The clause rules' cases are hand-built tables run through the same engine
    # (tests/test_clause_rules.py); they count too.
    from tests.test_clause_rules import CLAUSE_CASES  # noqa: PLC0415

    for case in (c for c in CLAUSE_CASES if c.profile == profile):
        breached |= {e.rule for e in case.expected}
        silent |= {r for r in case.rules if not any(e.rule == r for e in case.expected)}
    assert rules - breached == set(), (
        f"tests/rule_cases/{profile}.toml: rules without a breaching case"
    )
    assert rules - silent == set(), f"tests/rule_cases/{profile}.toml: rules without a silent case"


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_every_alert_lies_within_its_documents_period_of_force(
    case: RuleCase, judged: Any
) -> None:
    profile = load_profile(case.profile)
    result: CheckResult = judged(case)
    for alert in result.alerts:
        year = alert.scope.policy_year
        assert year is not None and profile.governs(year), (case.name, alert.message_zh)
    rules = {r.id: r for r in profile.rules}
    for alert in result.alerts:
        rule = rules[alert.rule_id]
        assert rule.kind != "condition", f"{case.name}: a condition raised {alert.message_zh}"
        if rule.is_aim(alert.severity):
            assert alert.severity != "critical"
            assert "力争" in alert.message_zh
            assert "低于规定的" not in alert.message_zh and "高于规定的" not in alert.message_zh
