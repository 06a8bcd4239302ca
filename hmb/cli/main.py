"""The ``hmb`` command line (docs/cli.md): demo, validate, metrics, development, claims-audit,
pseudonymize.

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

from hmb.cli import admin, reports
from hmb.core.formatting import percent, points, wan_yuan, yuan
from hmb.core.labels import label
from hmb.core.private_files import restrict_umask
from hmb.core.settings import default_alert_store, settings
from hmb.ingest.loading import InputError
from hmb.judge.alerts import ALERT_STATES, SEVERITY_ORDER
from hmb.rulebook.profiles import (
    ProfileError,
    available_profiles,
    is_profile_name,
    load_profile,
    load_rulebook,
)

if TYPE_CHECKING:
    from hmb.access import auth
    from hmb.ingest.dataset import Dataset
    from hmb.measure.claims_audit import ClaimsAudit
    from hmb.measure.development import Development
    from hmb.rulebook.profiles import Profile
    from hmb.state.alert_store import AlertRecord, AlertStore
    from hmb.state.exports import ExportRegister

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


def _share(text: str) -> float:
    from hmb.ingest.quarantine_limit import parse_share  # noqa: PLC0415 (see the docstring)

    try:
        return parse_share(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _limit_option(parser: argparse.ArgumentParser) -> None:
    """``--max-quarantined SHARE``: contract §8's quarantine limit, raised (or lowered)."""
    parser.add_argument(
        "--max-quarantined",
        type=_share,
        metavar="SHARE",
        help="the share of a table's rows one rule may quarantine before the export is refused"
        " (0 to 1; default 0.01, never fewer than 10 rows)",
    )


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 (one block per command)
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
    _rulebook_options(validate, required=False, purpose="also check liability codes against")
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument(
        "--quarantine-dir",
        type=Path,
        help="where quarantined rows are written, outside FOLDER"
        " (default: the state folder's quarantine/<folder>-<fingerprint>)",
    )
    _limit_option(validate)

    metric = _folder_command(sub, "metrics", "print participation and finance metrics",
                             purpose="the parameters (premium, margin) from")
    _output_options(metric)

    _add_development(sub)
    _add_claims_audit(sub)
    _add_indicators(sub)
    _add_ingest(sub)

    check = _folder_command(sub, "check", "evaluate the rulebook and print the alerts",
                            purpose="the rules from")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument(
        "--fail-on",
        choices=("critical", "warning"),
        help="exit 1 when an alert of this severity (or worse) fires",
    )
    _limit_option(check)
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
    reports.register(sub, _folder_command)
    return parser


def _add_ingest(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hmb ingest`` and ``hmb exports`` (contract §8)."""
    ingest = sub.add_parser(
        "ingest", help="validate an export once, build its store and register it"
    )
    ingest.add_argument("folder", type=Path)
    _rulebook_options(ingest, required=True, purpose="the jurisdiction and liability codes of")
    ingest.add_argument("--format", choices=("text", "json"), default="text")
    _limit_option(ingest)
    exports = sub.add_parser("exports", help="the exports registered by hmb ingest")
    exports.add_argument("--profile", metavar="NAME", help="one jurisdiction's exports only")
    exports.add_argument("--format", choices=("text", "json"), default="text")
    actions = exports.add_subparsers(dest="action")
    diff = actions.add_parser(
        "diff", help="which published figures moved between two exports of one jurisdiction"
    )
    diff.add_argument("before", type=int, metavar="A", help="the earlier export's id")
    diff.add_argument("after", type=int, metavar="B", help="the later export's id")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    actions.add_parser("verify", help="check the register's hash chain")


def _add_development(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hmb development`` (contract §5)."""
    develop = _folder_command(
        sub, "development",
        "claims development: paid triangle, chain ladder, projected loss ratio (精算回溯)",
        purpose="the expected payout ratio from",
    )
    develop.add_argument(
        "--grain",
        choices=("year", "quarter", "month"),
        default="year",
        help="development periods of a year, a quarter or a month (default: year)",
    )
    _output_options(develop)


def _add_claims_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hmb claims-audit`` (contract §6; ``hmb audit`` is the audit trail's)."""
    audit = _folder_command(
        sub, "claims-audit",
        "recompute each settled claim's payable from the benefit table (理赔核查)",
        purpose="the benefit table from",
    )
    _output_options(audit)


def _add_indicators(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hmb indicators`` (docs/metrics.md#indicators-监管公开指标)."""
    indicators = _folder_command(
        sub, "indicators",
        "renewal rate, personal-account share, pre-existing share, claimants, one-stop share by"
        " liability",
        purpose="the jurisdiction's name from",
    )
    _output_options(indicators)


def _folder_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str, *,
    purpose: str,
) -> argparse.ArgumentParser:
    """A command on a data folder under a rulebook: FOLDER, --profile or --rulebook (required,
    ``purpose`` says what is read from it) and --as-of; the caller adds the rest."""
    parser = sub.add_parser(name, help=help_text)
    parser.add_argument("folder", type=Path)
    _rulebook_options(parser, required=True, purpose=purpose)
    parser.add_argument(
        "--as-of", type=_as_of, help="YYYY-MM-DD (default: latest enroll, report or settle date)"
    )
    return parser


def _output_options(parser: argparse.ArgumentParser) -> None:
    """--format text|json and the quarantine limit, last on a folder command."""
    parser.add_argument("--format", choices=("text", "json"), default="text")
    _limit_option(parser)


def _rulebook_options(parser: argparse.ArgumentParser, *, required: bool, purpose: str) -> None:
    """--profile NAME (a shipped rulebook) or --rulebook PATH (a file of one's own), not both."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(
        "--profile",
        metavar="NAME",
        help=f"{purpose} a shipped rulebook, by name: {', '.join(available_profiles())}",
    )
    group.add_argument(
        "--rulebook",
        type=Path,
        metavar="PATH",
        help=f"{purpose} a rulebook file of your own (NAME.toml), checked as strictly",
    )


def _load_rulebook(args: argparse.Namespace) -> Profile:
    """The rulebook of --rulebook PATH, or the shipped one --profile names (a name, not a path)."""
    if args.rulebook is not None:
        return load_rulebook(args.rulebook)
    if not is_profile_name(args.profile):
        known = ", ".join(available_profiles())
        raise ProfileError(
            f"--profile 只接受规则配置名称（{known}），不接受路径；自定义规则配置文件请用"
            f" --rulebook PATH。 --profile takes the name of a shipped rulebook ({known}), not a"
            f" path ('{args.profile}' was given): load a rulebook file of your own with"
            " --rulebook PATH."
        )
    return load_profile(args.profile)


def main(argv: Sequence[str] | None = None) -> int:
    restrict_umask()  # what a command writes is its account's only (hmb.core.private_files)
    args = build_parser().parse_args(argv)
    commands = {
        "demo": _demo,
        "validate": _validate,
        "metrics": _metrics,
        "development": _development,
        "claims-audit": _claims_audit,
        "indicators": _indicators,
        "check": _check,
        "ingest": _ingest,
        "exports": _exports,
        "alerts": _alerts,
        "pseudonymize": _pseudonymize,
        "users": admin.users_command,
        "audit": admin.audit_command,
        "brief": _brief,
        "disclosure": _disclosure,
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


def _liability_codes(args: argparse.Namespace) -> frozenset[str] | None:
    if args.profile is None and args.rulebook is None:
        return None
    return _load_rulebook(args).liability_codes


def _insured_elsewhere(args: argparse.Namespace) -> str | None:
    if args.profile is None and args.rulebook is None:
        return None
    return _load_rulebook(args).insured_elsewhere


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
    from hmb.ingest.dataset import (  # noqa: PLC0415 (see the docstring)
        check_jurisdiction,
        check_quarantine_dir,
        default_quarantine_dir,
        open_dataset,
        write_quarantine,
    )

    try:
        dataset = open_dataset(
            args.folder, _liability_codes(args), insured_elsewhere=_insured_elsewhere(args)
        )
        if args.profile is not None or args.rulebook is not None:
            check_jurisdiction(dataset, _load_rulebook(args))
    except InputError as exc:
        return _validation_fatal(args, exc, {})
    quarantine_dir = args.quarantine_dir or default_quarantine_dir(dataset)
    try:
        check_quarantine_dir(dataset, quarantine_dir)  # even when nothing is quarantined
        written = write_quarantine(dataset, quarantine_dir) if _quarantined(dataset) else []
    except InputError as exc:
        return _validation_fatal(args, exc, dataset.report)
    except OSError as exc:
        _fail(
            f"无法写入隔离数据到 {quarantine_dir}：{exc}。 Cannot write the quarantined rows to"
            f" {quarantine_dir} ({exc}): give a writable folder with --quarantine-dir."
        )
        return EXIT_FATAL
    try:
        _check_limit(dataset, args.max_quarantined)  # the quarantine is written all the same
    except InputError as exc:
        return _validation_fatal(args, exc, dataset.report, quarantine_dir if written else None)
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


def _validation_fatal(
    args: argparse.Namespace, exc: InputError, read: dict[str, Any],
    quarantine_dir: Path | None = None,
) -> int:
    """The report of a validation that something fatal stopped (``read``: what was read;
    ``quarantine_dir``: where the quarantine was written, if it was)."""
    if quarantine_dir:
        _fail(f"隔离数据已写入 Quarantined rows written to {quarantine_dir}")
    report = {
        "folder": str(args.folder),
        "ok": False,
        "fatal": [p.as_dict() for p in exc.problems],
        "tables": read.get("tables", {}),
        "errors": read.get("errors", []),
        "warnings": read.get("warnings", []),
        "quarantine_dir": str(quarantine_dir) if quarantine_dir else None,
    }
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    _fail(
        "数据有误，无法继续。 The data folder cannot be used:",
        *[p.message for p in exc.problems],
    )
    return EXIT_FATAL


def _check_limit(dataset: Dataset, share: float | None) -> None:
    """Contract §8: InputError when one rule quarantines too much of a table."""
    from hmb.ingest import quarantine_limit  # noqa: PLC0415 (see the docstring)

    if share is None:
        share = quarantine_limit.DEFAULT_SHARE
    if not quarantine_limit.may_breach(dataset.report, share):
        return
    with dataset.connect() as con:
        quarantine_limit.check(con, dataset.report, share)


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
    from hmb.ingest.dataset import (  # noqa: PLC0415 (see the docstring)
        check_jurisdiction,
        open_dataset,
    )

    profile = _load_rulebook(args)
    dataset = open_dataset(
        args.folder, profile.liability_codes, insured_elsewhere=profile.insured_elsewhere
    )
    check_jurisdiction(dataset, profile)  # another jurisdiction's rulebook is refused
    _check_limit(dataset, getattr(args, "max_quarantined", None))  # the default where not offered
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


def _development(args: argparse.Namespace) -> int:
    from hmb.measure.development import development  # noqa: PLC0415 (see the docstring)

    profile, dataset, as_of = _open_for_profile(args)
    with dataset.connect() as con:
        projected = development(con, profile, as_of, args.grain)
    result = projected.as_json(profile.name)
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        text = _development_text(profile.jurisdiction.name_zh, result)
        print("\n".join([text, *_in_force_notes(projected)]))
    return EXIT_OK


def _in_force_notes(projected: Development) -> list[str]:
    """For a policy year still in force, the projected loss ratio over the year's written
    premium beside contract §5's, which sets a whole year's claims against part of its
    premium (docs/development.md)."""
    notes = []
    for origin in projected.origins:
        full_year = origin.full_year_loss_ratio
        if (not projected.in_force(origin) or full_year is None
                or origin.earned_premium >= origin.written_premium):
            continue
        notes += [
            "",
            f"{origin.policy_year} 年度仍在保险期内：预计最终赔款是全年数，按全年保费"
            f" {wan_yuan(origin.written_premium)} 计，预计最终赔付率 {percent(full_year)}；"
            f"上表按截至统计截止日的已赚保费计（合同 §5），"
            f"为 {percent(origin.projected_loss_ratio)}，偏高。",
            f"Policy year {origin.policy_year} is still running: its projected ultimate is the"
            f" whole year's claims; over the year's written premium"
            f" ({wan_yuan(origin.written_premium)}) the projected loss ratio is"
            f" {percent(full_year)}. The table's figure, over the premium earned so far"
            f" (contract §5), is {percent(origin.projected_loss_ratio)} and overstates it.",
        ]
    return notes


def _claims_audit(args: argparse.Namespace) -> int:
    from hmb.measure.claims_audit import claims_audit  # noqa: PLC0415 (see the docstring)

    profile, dataset, as_of = _open_for_profile(args)
    with dataset.connect() as con:
        result = claims_audit(con, profile, as_of)
    if args.format == "json":
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        print(_claims_audit_text(profile.jurisdiction.name_zh, result))
    return EXIT_OK


def _indicators(args: argparse.Namespace) -> int:
    from hmb.ingest import member_links  # noqa: PLC0415 (see the docstring)
    from hmb.measure.indicators import indicators  # noqa: PLC0415

    profile, dataset, as_of = _open_for_profile(args)
    with member_links.connect(dataset) as con:
        figures = indicators(con, as_of).as_json()
    result = {"profile": profile.name, "as_of": as_of.isoformat(), **figures}
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(_indicators_text(profile.jurisdiction.name_zh, result))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from hmb.judge import rules  # noqa: PLC0415 (see the docstring)

    profile, dataset, as_of = _open_for_profile(args)
    store = None
    if args.record:
        from hmb.state.alert_store import AlertStore, StaleEvaluation  # noqa: PLC0415 (only to record)

        store = AlertStore(args.record)
        latest = store.latest_as_of(profile.name)
        if latest is not None and as_of < latest:
            _fail(str(StaleEvaluation(profile.name, latest, as_of)))
            return EXIT_FATAL
    # Only a critical alert is held by a rule's recovery threshold; a warning is never promoted.
    previously = store.open_critical(profile.name) if store else frozenset()
    with dataset.connect() as con:
        result = rules.evaluate(con, profile, as_of, previously)
    states: dict[str, str] = {}
    if store is not None:
        from hmb.state.alert_store import EvaluationContext  # noqa: PLC0415

        context = EvaluationContext(profile.name, profile.version, dataset.fingerprint, as_of)
        try:
            synced = store.sync(result.alerts, context)
        except StaleEvaluation as exc:  # another run recorded a later date meanwhile
            _fail(str(exc))
            return EXIT_FATAL
        if synced.repeated:
            print(
                f"这次评估（{profile.name}，截至 {as_of}，同一数据与规则版本）已经记录过，"
                "告警库未变。"
                f" This evaluation ({profile.name} as of {as_of}, same data and rulebook version)"
                " was recorded before: the alert store is unchanged.",
                file=sys.stderr,
            )
        states = {a.id: rec.state for a in result.alerts if (rec := store.get(a.id))}
    output = {
        "profile": profile.name,
        "as_of": as_of.isoformat(),
        "rulebook_version": profile.version,
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


def _ingest(args: argparse.Namespace) -> int:
    from hmb.ingest.dataset import check_jurisdiction  # noqa: PLC0415 (see the docstring)
    from hmb.state.exports import ingest  # noqa: PLC0415 (see the docstring)

    profile = _load_rulebook(args)
    started = time.perf_counter()
    done = ingest(args.folder, profile.name, profile.liability_codes, by=admin.os_user(),
                  via="cli", share=args.max_quarantined, rulebook=args.rulebook,
                  insured_elsewhere=profile.insured_elsewhere,
                  jurisdiction=lambda dataset: check_jurisdiction(dataset, profile))
    seconds = time.perf_counter() - started
    entry = done.entry
    output = {"outcome": done.outcome, "registered": done.registered, "seconds": seconds,
              "export": entry.as_json(current=done.outcome != "refused")}
    if args.format == "json":
        print(json.dumps(output, ensure_ascii=False, indent=2))
    else:
        print(_exports_text([entry], {entry.id} if done.outcome != "refused" else set()))
    if done.outcome == "refused":
        _fail(
            "导出被拒收，当前数据保持不变。 The export is refused; the current export stays as"
            " it was:",
            *[p.message for p in done.problems],
        )
        return EXIT_FATAL
    if done.outcome == "unchanged":
        _fail(
            f"与当前的第 {entry.id} 号导出相同（{entry.ingested_at_cst}），未重复登记。"
            f" The same files as the current export {entry.id} ({entry.ingested_at_cst}):"
            " nothing new registered."
        )
    else:
        _fail(
            f"已登记为第 {entry.id} 号导出，用时 {seconds:.1f} 秒。"
            f" Registered as export {entry.id} in {seconds:.1f} s."
        )
    return EXIT_OK


def _exports(args: argparse.Namespace) -> int:
    from hmb.state.exports import ExportRegister  # noqa: PLC0415 (see the docstring)

    register = ExportRegister()
    if args.action == "verify":
        check = register.verify()
        if check.problem is not None:
            _fail(check.problem.message())
            return EXIT_ALERTS
        print(f"完整 intact: exports {check.entries} entries, head {check.head}")
        return EXIT_OK
    if args.action == "diff":
        return _exports_diff(args, register)
    if args.profile is not None and not is_profile_name(args.profile):
        raise ProfileError(f"--profile: '{args.profile}' 不是规则配置名称 is not a profile name")
    entries = register.entries(args.profile)
    current = {found.id for name in {e.profile for e in entries}
               if (found := register.current(name)) is not None}
    if args.format == "json":
        print(json.dumps([e.as_json(e.id in current) for e in entries], ensure_ascii=False,
                         indent=2))
    else:
        print(_exports_text(entries, current))
    return EXIT_OK


def _exports_diff(args: argparse.Namespace, register: ExportRegister) -> int:
    from hmb.state.export_diff import DiffError, diff_exports  # noqa: PLC0415

    try:
        result = diff_exports(register, args.before, args.after)
    except DiffError as exc:
        _fail(str(exc))
        return EXIT_FATAL
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(_diff_text(result))
    return EXIT_OK


def _exports_text(entries: Sequence[Any], current: set[int]) -> str:
    if not entries:
        return "尚无登记的导出。 No export registered yet: `hmb ingest DIR --profile NAME`."
    lines = []
    for e in entries:
        mark = "*" if e.id in current else " "
        result = {"accepted": "接收 accepted", "refused": "拒收 refused"}[e.result]
        counts = ", ".join(f"{name} {c['rows_read']:,}/{c['rows_accepted']:,}/"
                           f"{c['rows_quarantined']:,}" for name, c in e.tables.items())
        lines.append(f"{mark}{e.id:>4}  {e.ingested_at_cst}  {e.profile:<14} {result:<12}"
                     f" {e.by:<10} {e.folder}")
        if counts:
            lines.append(f"       读入/接受/隔离 read/accepted/quarantined: {counts}")
    lines.append("* 当前导出 current export")
    return "\n".join(lines)


def _diff_text(result: dict[str, Any]) -> str:
    lines = [f"{result['profile']}: 第 {result['before']['id']} 号 → 第 {result['after']['id']} 号"
             f" export {result['before']['id']} → {result['after']['id']}"]
    for item in result["changes"]:
        lines.append(f"  {item['message_zh']}  {item['message_en']}")
    if not result["changes"]:
        lines.append("  公布的数字没有变化。 No published figure moved.")
    return "\n".join(lines)


def _brief(args: argparse.Namespace) -> int:
    if (problem := reports.out_problem(args.out)) is not None:
        _fail(problem)
        return EXIT_FATAL
    profile, dataset, as_of = _open_for_profile(args)
    return reports.brief_command(args, profile, dataset, as_of)


def _disclosure(args: argparse.Namespace) -> int:
    if (problem := reports.out_problem(args.out)) is not None:
        _fail(problem)
        return EXIT_FATAL
    profile, dataset, as_of = _open_for_profile(args)
    return reports.disclosure_command(args, profile, dataset, as_of)


def _alerts(args: argparse.Namespace) -> int:
    from hmb.state.alert_store import AlertStore  # noqa: PLC0415 (see the docstring)

    store = AlertStore(args.store)
    if args.action in ("ack", "waive"):
        return _act(args, store)
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


def _act(args: argparse.Namespace, store: AlertStore) -> int:
    """Acknowledge or waive for the account named by ``--by``, which must exist, be enabled and
    be allowed to act on this alert (the rules of the app, docs/access.md); audited either way
    with the operating-system user."""
    from hmb.access import auth, scoping  # noqa: PLC0415 (see the docstring)
    from hmb.state.alert_store import AlertStateError  # noqa: PLC0415
    from hmb.state.audit import CLI_ORIGIN, AuditTrail  # noqa: PLC0415

    verb = "acknowledge" if args.action == "ack" else "waive"
    os_user = admin.os_user()
    record = store.get(args.alert_id)
    users = auth.default_user_store()
    user = auth.UserStore(users).get(args.by.strip()) if users.is_file() else None
    refusal = _refusal(args, record, user, verb)
    if refusal is not None:
        reason, message = refusal
        AuditTrail().record("alert_refused", os_user, "cli", {
            "alert": args.alert_id[:64], "action": verb, "by": args.by[:128], "reason": reason,
            "os_user": os_user,
        }, CLI_ORIGIN)
        _fail(message)
        return EXIT_FATAL
    assert user is not None and record is not None  # else refused above
    scope = scoping.user_scope(user)
    if not scoping.may_act(scope, record):
        AuditTrail().record("alert_refused", os_user, "cli", {
            "alert": record.id, "action": verb, "by": user.username, "reason": "not_permitted",
            "os_user": os_user,
        }, CLI_ORIGIN)
        _fail(
            f"账户 {user.username}（{label('role', user.role, 'zh')}）无权处理预警 {record.id}"
            f"（{record.rule_id}）。 The account {user.username} ({user.role}) may not {verb}"
            f" alert {record.id} ({record.rule_id}): see who may act on which alert in"
            " docs/access.md."
        )
        return EXIT_FATAL
    details: dict[str, Any] = {"alert": record.id, "rule": record.rule_id,
                               "profile": record.profile, "os_user": os_user}
    try:
        if args.action == "ack":
            record = store.acknowledge(record.id, user.username, args.comment)
            details["comment"] = args.comment
            print(f"已确认 acknowledged {record.id}: {record.message_zh}")
        else:
            record = store.waive(record.id, user.username, args.reason, args.until)
            details |= {"reason": args.reason, "until": args.until.isoformat()}
            print(f"已豁免至 waived until {args.until}: {record.id}: {record.message_zh}")
    except AlertStateError as exc:
        _fail(str(exc))
        return EXIT_FATAL
    AuditTrail().record("alert_ack" if args.action == "ack" else "alert_waive", user.username,
                        user.role, details, CLI_ORIGIN)
    return EXIT_OK


def _refusal(
    args: argparse.Namespace, record: AlertRecord | None, user: auth.User | None, verb: str
) -> tuple[str, str] | None:
    """Why the account of ``--by`` cannot act on the alert at all: a reason code and the
    message, or None."""
    by = args.by.strip()[:64]
    if record is None:
        return "no_alert", (
            f"没有这条预警 no alert {args.alert_id[:64]!r} in {args.store}: see `hmb alerts list`."
        )
    if user is None:
        return "unknown_account", (
            f"没有名为 {by!r} 的账户：--by 必须是 `hmb users list` 中的账户。 No account named"
            f" {by!r}: --by must name an account of `hmb users list` (an administrator adds one"
            " with `hmb users add`)."
        )
    if user.disabled:
        return "disabled", (
            f"账户 {user.username} 已停用。 The account {user.username} is disabled: it cannot"
            f" {verb} alerts (`hmb users enable` if that is a mistake)."
        )
    if user.demo and (settings().data_dir is not None or _real_exports()):
        return "demo_refused", (
            f"演示账户 {user.username} 只能用于演示数据，而 HMB_DATA_DIR 已设置或已接收真实导出。"
            f" {user.username} is a demo account, for the demo data only, and HMB_DATA_DIR is"
            " set or an export was ingested: act as a real account."
        )
    return None


def _real_exports() -> bool:
    from hmb.state.exports import exports_registered  # noqa: PLC0415 (see the docstring)

    return exports_registered()


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
        if cite.get("local_parameter"):
            lines.append(f"  本地参数（非文件规定） local parameter: {cite['local_parameter']}")
    if output["notices"]:
        lines += ["", "情况通报 Notices"]
        for notice in output["notices"]:
            lines += [f"  {notice['message_zh']}", f"  {notice['message_en']}"]
            if notice["citation"].get("local_parameter"):
                lines.append(
                    f"    本地参数（非文件规定） local parameter:"
                    f" {notice['citation']['local_parameter']}"
                )
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


def _indicators_text(jurisdiction: str, result: dict[str, Any]) -> str:
    def heading(metric: str) -> str:
        return f"{label('metric', metric, 'zh')} {label('metric', metric, 'en')}"

    lines = [f"{jurisdiction}（{result['profile']}） 统计截至 as of {result['as_of']}", "",
             heading("renewal_rate"),
             f"{'年度':<8}{'区县':<10}{'上年参保':>12}{'续保':>10}{'续保率':>10}"]
    for row in result["renewal"]:
        lines.append(
            f"{row['policy_year']:<8}{row['county_code'] or '全域 all':<10}"
            f"{row['prior_members']:>12,}{row['renewed']:>10,}{percent(row['renewal_rate']):>10}"
        )
    lines += ["", heading("personal_account_share"),
              f"{'年度':<8}{'区县':<10}{'个人账户缴费':>18}{'签单保费':>18}{'占比':>10}"]
    for row in result["personal_account"]:
        lines.append(
            f"{row['policy_year']:<8}{row['county_code'] or '全域 all':<10}"
            f"{wan_yuan(row['personal_account_premium']):>18}"
            f"{wan_yuan(row['written_premium']):>18}{percent(row['personal_account_share']):>10}"
        )
    lines += ["", f"{heading('preexisting_claims_share')}; {heading('payout_per_claimant')}",
              f"{'年度':<8}{'赔付件数':>10}{'既往症件数占比':>14}{'既往症金额占比':>14}"
              f"{'赔付人数':>10}{'人均赔付':>16}"]
    claimants = {row["policy_year"]: row for row in result["claimants"]}
    for row in result["preexisting"]:
        paid = claimants.get(row["policy_year"], {})
        lines.append(
            f"{row['policy_year']:<8}{row['paid_claims']:>10,}{percent(row['claims_share']):>14}"
            f"{percent(row['payout_share']):>14}{paid.get('claimants', 0):>10,}"
            f"{yuan(paid.get('payout_per_claimant')):>16}"
        )
    lines += ["", heading("one_stop_share_by_liability"),
              f"{'年度':<8}{'保险责任':<30}{'赔付件数':>10}{'件数占比':>10}{'金额占比':>10}"]
    for row in result["one_stop"]:
        lines.append(
            f"{row['policy_year']:<8}{row['liability'] or '全部 all':<30}"
            f"{row['paid_claims']:>10,}{percent(row['count_share']):>10}"
            f"{percent(row['amount_share']):>10}"
        )
    return "\n".join(lines)


_GRAIN_ZH = {"year": "年", "quarter": "季度", "month": "月"}


def _development_text(jurisdiction: str, result: dict[str, Any]) -> str:
    grain = result["grain"]
    lines = [
        f"{jurisdiction}（{result['profile']}）赔款进展与精算回溯 Claims development, as of"
        f" {result['as_of']}",
        f"已付赔款口径，进展期以{_GRAIN_ZH[grain]}计 Paid basis, development by {grain};"
        " 链梯法 volume-weighted chain ladder, Mack (1993) 标准误 standard errors",
        "",
        f"{'年度':<6}{'进展期 age':>10}{'已付 paid':>18}{'预计最终 ultimate':>20}"
        f"{'未付 IBNR':>18}{'标准误 S.E.':>16}{'已赚保费 earned':>18}{'预计赔付率':>10}"
        f"{'要求赔付率':>10}{'偏差':>12}",
    ]
    for row in result["origins"]:
        expected = row["expected_loss_ratio"]
        lines.append(
            f"{row['policy_year']:<6}{row['age']:>10}{wan_yuan(row['latest']):>18}"
            f"{wan_yuan(row['ultimate']):>20}{wan_yuan(row['ibnr']):>18}"
            f"{wan_yuan(row['mack_se']):>16}{wan_yuan(row['earned_premium']):>18}"
            f"{percent(row['projected_loss_ratio']):>10}"
            f"{percent(expected) if expected is not None else '未设定':>10}"
            f"{points(row['deviation']):>12}"
        )
    total = result["total"]
    lines.append(
        f"{'合计':<6}{'':>10}{wan_yuan(total['latest']):>18}{wan_yuan(total['ultimate']):>20}"
        f"{wan_yuan(total['ibnr']):>18}{wan_yuan(total['mack_se']):>16}"
    )
    if any(row["expected_loss_ratio"] is None for row in result["origins"]):
        lines += [
            "",
            "要求赔付率：规则配置未规定（地方参数未设定），不作比较。 Expected loss ratio: the"
            " rulebook sets none (local parameter not set); actual is not compared with expected.",
        ]
    lines += ["", "进展因子 Age-to-age factors (no tail 无尾部因子)"]
    lines += [
        f"  {f['from_age']}→{f['to_age']}: "
        + ("—" if f["factor"] is None else f"{f['factor']:.4f}")
        for f in result["factors"]
    ]
    return "\n".join(lines)


def _claims_audit_text(jurisdiction: str, result: ClaimsAudit) -> str:
    lines = [
        f"{jurisdiction}（{result.profile}）理赔核查 Claims audit against the benefit table, as"
        f" of {result.as_of.isoformat()}",
        "",
        f"{'年度':<6}{'区县 county':<14}{'核查件数':>10}{'多付件数':>10}{'多付金额 over':>18}"
        f"{'少付件数':>10}{'少付金额 under':>18}",
    ]
    for row in result.summary:
        lines.append(
            f"{row.policy_year:<6}{row.county_code or '全辖 all':<14}{row.claims_audited:>10,}"
            f"{row.overpaid_count:>10,}{row.overpaid_amount:>18,.2f}"
            f"{row.underpaid_count:>10,}{row.underpaid_amount:>18,.2f}"
        )
    if not result.summary:
        lines.append("（没有可核查的理赔 no claim could be audited）")
    lines += ["", f"错付理赔 Mispaid claims: {len(result.claims):,}"]
    for claim in result.claims[:20]:
        zh, en = (label("audit_reason", claim.reason, lang) for lang in ("zh", "en"))
        lines.append(
            f"  {claim.claim_id} {claim.policy_year} {claim.liability} {claim.status}:"
            f" {zh} {en}; {claim.arithmetic('zh')} ({claim.clause})"
        )
    if len(result.claims) > 20:
        lines.append(f"  … 另有 {len(result.claims) - 20:,} 件 and {len(result.claims) - 20:,}"
                     " more (--format json lists them all)")
    if result.not_audited:
        lines += ["", "未核查 Not audited:"]
        lines += [
            f"  {row.liability}（{row.claims:,} 件 claims）: {row.reason_zh} {row.reason_en}"
            for row in result.not_audited
        ]
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
