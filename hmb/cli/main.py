"""The ``hmb`` command line (docs/cli.md): demo, validate, metrics, pseudonymize.

Every user mistake (a bad folder, an unknown profile, a date that does not parse) ends in a clear
message on stderr and exit code 2, never a traceback.

Each command imports what it needs when it runs: a warm ``hmb metrics`` is mostly Python's
start-up, so it must not pay for Polars, the rule engine or the password hashing of ``hmb users``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hmb.cli import admin
from hmb.core.formatting import percent, wan_yuan
from hmb.core.labels import label
from hmb.core.settings import default_alert_store
from hmb.ingest.loading import InputError
from hmb.judge.alerts import ALERT_STATES, SEVERITY_ORDER
from hmb.rulebook.profiles import ProfileError, available_profiles, load_profile, rulebook_version

if TYPE_CHECKING:
    from hmb.ingest.dataset import Dataset
    from hmb.rulebook.profiles import Profile

EXIT_OK = 0
EXIT_ALERTS = 1
EXIT_FATAL = 2


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"日期无法解析 '{text}': use YYYY-MM-DD, e.g. 2024-06-30"
        ) from exc


def _scale(text: str) -> float:
    named = {"demo": 1.0, "city": 1.0, "province": 50.0, "full": 50.0}
    if text in named:
        return named[text]
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a scale: give a number (1 = demo size) or one of {', '.join(named)}"
        ) from exc
    if value <= 0:
        raise argparse.ArgumentTypeError("scale must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hmb",
        description="惠民保监测: validate exports, compute metrics, write demo data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="write a deterministic demo data folder")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--profile", default="sanming-2024", choices=available_profiles())
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--scale",
        type=_scale,
        default=1.0,
        help="1 = demo size (1/50 of the real population); 'province' = 50",
    )

    validate = sub.add_parser("validate", help="print the validation report of a data folder")
    validate.add_argument("folder", type=Path)
    validate.add_argument("--profile", help="also check liability codes against this rulebook")
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument(
        "--quarantine-dir",
        type=Path,
        help="where quarantined rows are written (default: FOLDER/_quarantine)",
    )

    metric = sub.add_parser("metrics", help="print participation and finance metrics")
    metric.add_argument("folder", type=Path)
    metric.add_argument("--profile", required=True)
    metric.add_argument(
        "--as-of", type=_as_of, help="YYYY-MM-DD (default: latest enroll, report or settle date)"
    )
    metric.add_argument("--format", choices=("text", "json"), default="text")

    check = sub.add_parser("check", help="evaluate the rulebook and print the alerts")
    check.add_argument("folder", type=Path)
    check.add_argument("--profile", required=True)
    check.add_argument(
        "--as-of", type=_as_of, help="YYYY-MM-DD (default: latest enroll, report or settle date)"
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument(
        "--fail-on",
        choices=("critical", "warning"),
        help="exit 1 when an alert of this severity (or worse) fires",
    )
    check.add_argument(
        "--record",
        type=Path,
        nargs="?",
        const=default_alert_store(),
        metavar="STORE",
        help="record the alerts' lifecycle in the alert store (default: data/state/alerts.sqlite)",
    )

    alerts = sub.add_parser("alerts", help="list, acknowledge or waive recorded alerts")
    alerts.add_argument("--store", type=Path, default=default_alert_store())
    actions = alerts.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="alerts in the store")
    listing.add_argument("--profile")
    listing.add_argument("--state", action="append", choices=ALERT_STATES)
    listing.add_argument("--format", choices=("text", "json"), default="text")
    ack = actions.add_parser("ack", help="acknowledge a firing alert")
    ack.add_argument("alert_id")
    ack.add_argument("--by", required=True, help="who acknowledges")
    ack.add_argument("--comment", required=True, help="what is being done about it")
    waive = actions.add_parser("waive", help="waive an alert until a date, with a reason")
    waive.add_argument("alert_id")
    waive.add_argument("--by", required=True)
    waive.add_argument("--reason", required=True)
    waive.add_argument("--until", type=_as_of, required=True, help="YYYY-MM-DD")
    history = actions.add_parser("history", help="every transition of one alert")
    history.add_argument("alert_id")
    history.add_argument("--format", choices=("text", "json"), default="text")

    pseudo = sub.add_parser(
        "pseudonymize", help="replace clear ID numbers in an export by keyed pseudonyms"
    )
    pseudo.add_argument("source", type=Path)
    pseudo.add_argument("target", type=Path)
    pseudo.add_argument("--key-file", type=Path, required=True)
    pseudo.add_argument(
        "--create-key", action="store_true", help="create the key file if it does not exist"
    )
    pseudo.add_argument("--format", choices=("text", "json"), default="text")
    admin.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "demo": _demo,
        "validate": _validate,
        "metrics": _metrics,
        "check": _check,
        "alerts": _alerts,
        "pseudonymize": _pseudonymize,
        "users": admin.users_command,
        "audit": admin.audit_command,
    }
    try:
        return commands[args.command](args)
    except InputError as exc:
        _fail(
            "数据有误，无法继续。 The data folder cannot be used:",
            *[p.message for p in exc.problems],
        )
        return EXIT_FATAL
    except (ProfileError, FileExistsError, NoDates) as exc:
        _fail(str(exc))
        return EXIT_FATAL


def _fail(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _liability_codes(profile_name: str | None) -> frozenset[str] | None:
    return load_profile(profile_name).liability_codes if profile_name else None


def _demo(args: argparse.Namespace) -> int:
    from hmb.tools.demo import write_demo  # noqa: PLC0415 (numpy generation is only needed here)

    started = time.perf_counter()
    summary = write_demo(args.out, args.profile, seed=args.seed, scale=args.scale)
    seconds = time.perf_counter() - started
    print(json.dumps(_jsonable(summary), ensure_ascii=False, indent=2))
    rows = sum(summary.row_counts.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(
        f"已写入 {rows:,} 行，用时 {seconds:.1f} 秒，内存峰值 {peak:,.0f} MB。"
        f" Wrote {rows:,} rows in {seconds:.1f} s (peak memory {peak:,.0f} MB).",
        file=sys.stderr,
    )
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from hmb.ingest.dataset import open_dataset, write_quarantine  # noqa: PLC0415 (see the docstring)

    try:
        dataset = open_dataset(args.folder, _liability_codes(args.profile))
    except InputError as exc:
        return _validation_failed(args, exc)
    quarantine_dir = args.quarantine_dir or args.folder / "_quarantine"
    try:
        written = write_quarantine(dataset, quarantine_dir) if _quarantined(dataset) else []
    except InputError as exc:
        return _validation_failed(args, exc)
    except OSError as exc:
        _fail(
            f"无法写入隔离数据到 {quarantine_dir}：{exc}。 Cannot write the quarantined rows to"
            f" {quarantine_dir} ({exc}): give a writable folder with --quarantine-dir."
        )
        return EXIT_FATAL
    report = {
        "folder": str(args.folder),
        "ok": True,
        "fatal": [],
        "tables": dataset.report["tables"],
        "errors": dataset.report["errors"],
        "warnings": dataset.report["warnings"],
        "quarantine_dir": str(quarantine_dir) if written else None,
    }
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(_validation_text(report))
    return EXIT_OK


def _validation_failed(args: argparse.Namespace, exc: InputError) -> int:
    """A fatal problem: the JSON report (with ``--format json``) and the messages."""
    report = {
        "folder": str(args.folder),
        "ok": False,
        "fatal": [p.as_dict() for p in exc.problems],
        "tables": {},
        "errors": [],
        "warnings": [],
        "quarantine_dir": None,
    }
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    _fail(
        "数据有误，无法继续。 The data folder cannot be used:",
        *[p.message for p in exc.problems],
    )
    return EXIT_FATAL


def _quarantined(dataset: Dataset) -> bool:
    return any(t["rows_quarantined"] for t in dataset.report["tables"].values())


def _validation_text(report: dict[str, Any]) -> str:
    lines = [f"校验报告 Validation report: {report['folder']}", ""]
    lines.append(
        f"{'表 table':<20}{'读入 read':>12}{'接受 accepted':>16}{'隔离 quarantined':>18}"
        f"{'警告 warned':>14}"
    )
    for name, info in report["tables"].items():
        lines.append(
            f"{name:<20}{info['rows_read']:>12,}{info['rows_accepted']:>16,}"
            f"{info['rows_quarantined']:>18,}{info['rows_with_warnings']:>14,}"
        )
    for title, items in (
        ("隔离规则 Errors (rows quarantined)", report["errors"]),
        ("警告 Warnings (rows kept)", report["warnings"]),
    ):
        lines += ["", title + ("" if items else ": none 无")]
        for item in items:
            column = f" [{item['column']}]" if item["column"] else ""
            lines.append(
                f"  {item['table']}.{item['rule']}{column}: {item['rows']:,} rows,"
                f" e.g. {item['file']}"
            )
    if report["quarantine_dir"]:
        lines += ["", f"隔离数据已写入 Quarantined rows written to {report['quarantine_dir']}"]
    return "\n".join(lines)


class NoDates(Exception):
    """No accepted date in the folder, and no --as-of: nothing to measure against."""


def _open_for_profile(args: argparse.Namespace) -> tuple[Profile, Dataset, date]:
    """The profile, the validated folder and the as-of date (given, or the data's latest)."""
    from hmb.ingest.dataset import open_dataset  # noqa: PLC0415 (see the docstring)

    profile = load_profile(args.profile)
    dataset = open_dataset(args.folder, profile.liability_codes)
    as_of = args.as_of or dataset.default_as_of
    if as_of is None:
        raise NoDates(
            f"{args.folder}: 没有任何被接受的投保或理赔日期，请用 --as-of 指定统计截止日期。"
            " No accepted enrollment or claim dates: give --as-of YYYY-MM-DD."
        )
    return profile, dataset, as_of


def _metrics(args: argparse.Namespace) -> int:
    from hmb.measure import metrics  # noqa: PLC0415 (see the docstring)

    profile, dataset, as_of = _open_for_profile(args)
    with dataset.connect() as con:
        participation = metrics.participation_rows(con, as_of)
        finance = metrics.finance_rows(con, profile, as_of)
    result = {
        "profile": profile.name,
        "as_of": as_of.isoformat(),
        "participation": participation,
        "finance": [row.as_json() for row in finance],
    }
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(_metrics_text(profile.jurisdiction.name_zh, result))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from hmb.judge import rules  # noqa: PLC0415 (see the docstring)

    profile, dataset, as_of = _open_for_profile(args)
    store = None
    if args.record:
        from hmb.state.alert_store import AlertStore  # noqa: PLC0415 (only to record)

        store = AlertStore(args.record)
    previously = (
        frozenset(
            r.id for r in store.list(profile.name, states=("firing", "acknowledged", "waived"))
        )
        if store
        else frozenset()
    )
    with dataset.connect() as con:
        result = rules.evaluate(con, profile, as_of, previously)
    states: dict[str, str] = {}
    if store is not None:
        from hmb.state.alert_store import EvaluationContext  # noqa: PLC0415

        context = EvaluationContext(
            profile.name, rulebook_version(profile.name), dataset.fingerprint, as_of
        )
        store.sync(result.alerts, context)
        states = {a.id: rec.state for a in result.alerts if (rec := store.get(a.id))}
    output = {
        "profile": profile.name,
        "as_of": as_of.isoformat(),
        "rulebook_version": rulebook_version(profile.name),
        "data_fingerprint": dataset.fingerprint,
        "alerts": [
            {**a.as_json(), **({"state": states[a.id]} if a.id in states else {})}
            for a in result.alerts
        ],
        "notices": [n.as_json() for n in result.notices],
        "not_checked": [
            {
                "rule_id": r.id,
                "title_zh": r.title_zh,
                "title_en": r.title_en,
                "needs_data": r.needs_data,
                "clause": r.citation.clause,
            }
            for r in profile.not_checked
        ],
    }
    if args.format == "json":
        print(json.dumps(output, ensure_ascii=False, indent=2))
    else:
        print(_check_text(profile.jurisdiction.name_zh, output))
    return _check_exit(result.alerts, args.fail_on)


def _alerts(args: argparse.Namespace) -> int:
    from hmb.state.alert_store import AlertStateError, AlertStore  # noqa: PLC0415 (see the docstring)

    store = AlertStore(args.store)
    try:
        if args.action == "ack":
            record = store.acknowledge(args.alert_id, args.by, args.comment)
            print(f"已确认 acknowledged {record.id}: {record.message_zh}")
        elif args.action == "waive":
            record = store.waive(args.alert_id, args.by, args.reason, args.until)
            print(f"已豁免至 waived until {args.until}: {record.id}: {record.message_zh}")
    except AlertStateError as exc:
        _fail(str(exc))
        return EXIT_FATAL
    if args.action == "history":
        transitions = store.history(args.alert_id)
        if not transitions:
            _fail(f"没有这条预警 no alert {args.alert_id} in {args.store}")
            return EXIT_FATAL
        if args.format == "json":
            print(json.dumps([_jsonable(t) for t in transitions], ensure_ascii=False, indent=2))
        for t in transitions if args.format == "text" else ():
            print(
                f"{t.at}  {t.event:<15} {t.from_state or '-':>12} → {t.to_state:<12}"
                f" {t.actor}  {t.comment or ''}  observed={t.observed} threshold={t.threshold}"
                f" rulebook={t.rulebook_version} data={t.data_fingerprint}"
            )
    elif args.action == "list":
        records = store.list(args.profile, states=args.state)
        if args.format == "json":
            print(json.dumps([_jsonable(r) for r in records], ensure_ascii=False, indent=2))
        for r in records if args.format == "text" else ():
            state = f"{label('alert_state', r.state, 'zh')} {r.state:<12}"
            severity = f"{label('severity', r.severity, 'zh')} {r.severity:<8}"
            print(f"{r.id}  {state} {severity} {r.profile}  {r.message_zh}")
    return EXIT_OK


def _check_exit(alerts: Sequence[Any], fail_on: str | None) -> int:
    if fail_on is None:
        return EXIT_OK
    worst = SEVERITY_ORDER[fail_on]
    return EXIT_ALERTS if any(SEVERITY_ORDER[a.severity] <= worst for a in alerts) else EXIT_OK


def _check_text(jurisdiction: str, output: dict[str, Any]) -> str:
    lines = [
        f"{jurisdiction}（{output['profile']}）规则检查 Rule check, as of {output['as_of']}",
        f"规则版本 rulebook {output['rulebook_version']} · 数据指纹 data"
        f" {output['data_fingerprint']}",
        "",
    ]
    if not output["alerts"]:
        lines.append("未发现违反规则的情况。 No rule is breached.")
    for alert in output["alerts"]:
        cite = alert["citation"]
        severity = f"{label('severity', alert['severity'], 'zh')} {alert['severity'].upper()}"
        lines.append(f"[{severity}] {alert['rule_id']} ({alert['id']})")
        lines.append(f"  {alert['message_zh']}")
        lines.append(f"  {alert['message_en']}")
        lines.append(f"  依据 {cite['document']} {cite['clause'] or ''}：“{cite['quote'] or ''}”")
    if output["notices"]:
        lines += ["", "情况通报 Notices"]
        lines += [f"  {n['message_zh']}" for n in output["notices"]]
    if output["not_checked"]:
        lines += ["", "需补充数据才能检查 Not checked (data needed)"]
        lines += [
            f"  {r['rule_id']}: {r['title_zh']} — {r['needs_data']}" for r in output["not_checked"]
        ]
    return "\n".join(lines)


def _metrics_text(jurisdiction: str, result: dict[str, Any]) -> str:
    def name(metric: str) -> str:
        return label("metric", metric, "zh")

    lines = [
        f"{jurisdiction}（{result['profile']}） 统计截至 as of {result['as_of']}",
        "",
        f"{name('participation_rate')} {label('metric', 'participation_rate', 'en')}",
    ]
    lines.append(
        f"{'年度':<8}{'区县':<10}{name('enrolled'):>14}{name('insured_base'):>18}"
        f"{name('participation_rate'):>10}"
    )
    for row in result["participation"]:
        county = row["county_code"] or "全域 all"
        lines.append(
            f"{row['policy_year']:<8}{county:<10}{row['enrolled']:>14,}"
            f"{row['insured_base']:>18,}{percent(row['rate']):>10}"
        )
    lines += ["", "经营情况 Finance"]
    lines.append(
        f"{'年度':<8}{'机构':<10}{name('earned_premium'):>16}{name('claims_paid'):>16}"
        f"{name('expenses'):>14}{name('loss_ratio'):>10}{name('combined_ratio'):>12}"
        f"{name('profit'):>16}{name('excess_surplus'):>14}{name('pool_close'):>14}"
    )
    for row in result["finance"]:
        insurer = row["insurer_id"] or "合计 all"
        lines.append(
            f"{row['policy_year']:<8}{insurer:<10}{wan_yuan(row['earned_premium']):>16}"
            f"{wan_yuan(row['claims_paid']):>16}{wan_yuan(row['expenses']):>14}"
            f"{percent(row['loss_ratio']):>10}{percent(row['combined_ratio']):>12}"
            f"{wan_yuan(row['profit']):>16}{wan_yuan(row['excess_surplus']):>14}"
            f"{wan_yuan(row['pool_close']):>14}"
        )
    return "\n".join(lines)


def _pseudonymize(args: argparse.Namespace) -> int:
    from hmb.ingest.pseudonymize import (  # noqa: PLC0415 (only this command needs it)
        ExportError,
        KeyFileError,
        check_places,
        create_key,
        pseudonymize_folder,
        read_key,
    )

    if not args.source.is_dir():
        _fail(f"找不到源文件夹 {args.source}。 Source folder {args.source} does not exist.")
        return EXIT_FATAL
    try:
        check_places(args.source, args.target, args.key_file)
        if args.create_key and not args.key_file.exists():
            create_key(args.key_file)
            print(
                f"已生成密钥 New key written to {args.key_file}: keep it secret and reuse it.",
                file=sys.stderr,
            )
        key = read_key(args.key_file)
        report = pseudonymize_folder(args.source, args.target, key)
    except (KeyFileError, ExportError, FileExistsError) as exc:
        _fail(str(exc))
        return EXIT_FATAL
    if args.format == "json":
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print(report.as_text())
    return EXIT_OK


def _jsonable(value: Any) -> Any:

    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path | date):
        return str(value)
    return value


if __name__ == "__main__":
    sys.exit(main())
