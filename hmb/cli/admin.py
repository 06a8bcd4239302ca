"""``hmb users ...`` and ``hmb audit ...``: accounts and the audit trail (docs/access.md).

``hmb audit verify`` checks the hash chains of the audit trail and of the alert history and the
alerts against their history, without changing either file: exit 0 when everything is as written,
1 naming the first altered entry of each table, 2 when neither file exists.

Every change to an account is written to the audit trail, as the command line's user
(``$USER``) from ``localhost``. Passwords are read with getpass (never echoed, never an
argument), or from standard input with ``--password-stdin`` for scripts. A user mistake (unknown
user, bad role, short password) ends with a message and exit code 2, never a traceback.

The accounts and the audit trail are imported when a command runs, not when the ``hmb`` parser
is built, so other commands do not load them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from hmb.access.roles import ROLES

if TYPE_CHECKING:
    from hmb.access import auth
    from hmb.state.audit import Action
    from hmb.state.chain import Verification

EXIT_OK = 0
EXIT_ALTERED = 1
EXIT_FATAL = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``users`` and ``audit`` commands to the ``hmb`` parser."""
    users = sub.add_parser("users", help="add, list, reset, unlock or disable accounts")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="a new account")
    add.add_argument("username", help="a login name, or the OIDC e-mail/subject with --oidc")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--county", action="append", default=[], metavar="CODE",
                     help="a county of a county_supervisor (repeat for several)")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input instead of prompting")
    how.add_argument("--oidc", action="store_true",
                     help="no password: the user signs in through the identity provider")
    reset = actions.add_parser("reset-password", help="a new password; open sessions end")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    actions.add_parser("list", help="every account").add_argument(
        "--format", choices=("text", "json"), default="text")
    for name, text in (("unlock", "lift the back-off after failed attempts, from every address"),
                       ("disable", "the account can no longer sign in; open sessions end"),
                       ("enable", "a disabled account can sign in again")):
        actions.add_parser(name, help=text).add_argument("username")
    actions.add_parser("demo", help="create the demo accounts (demo data only)")

    audit = sub.add_parser("audit", help="read or export the audit trail")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    listing = audit_actions.add_parser("list", help="events, oldest first")
    listing.add_argument("--since", type=_since, help="YYYY-MM-DD or an ISO time (UTC)")
    listing.add_argument("--user")
    listing.add_argument("--action", dest="event", action="append")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    export = audit_actions.add_parser("export", help="every event (or --since) to a CSV file")
    export.add_argument("out", type=Path)
    export.add_argument("--since", type=_since)
    verify = audit_actions.add_parser(
        "verify", help="check that the audit trail and the alert history are as written")
    verify.add_argument("--trail", type=Path, help="default: $HMB_STATE_DIR/audit.sqlite")
    verify.add_argument("--alerts", type=Path, help="default: $HMB_STATE_DIR/alerts.sqlite")


def _since(text: str) -> datetime:
    try:
        moment = (datetime.combine(date.fromisoformat(text), time()) if len(text) == 10
                  else datetime.fromisoformat(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"时间无法解析 '{text}': use YYYY-MM-DD or 2026-11-23T08:00:00"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def users_command(args: argparse.Namespace) -> int:
    from hmb.access import auth  # noqa: PLC0415 (see the docstring)

    try:
        return _users(args)
    except auth.UserError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FATAL


def audit_command(args: argparse.Namespace) -> int:
    from hmb.state.audit import CLI_ORIGIN, AuditTrail, export_csv  # noqa: PLC0415 (see the docstring)

    if args.action == "verify":
        return _verify(args.trail, args.alerts)
    trail = AuditTrail()
    if args.action == "export":
        events = trail.read(since=args.since)
        try:
            rows = export_csv(events, args.out)
        except OSError as exc:
            print(f"无法写入 cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return EXIT_FATAL
        trail.record("export", _operator(), "cli", {"file": str(args.out), "rows": rows},
                     CLI_ORIGIN)
        print(f"{rows} events written to {args.out}")
        return EXIT_OK
    events = trail.read(since=args.since, username=args.user,
                        actions=tuple(args.event) if args.event else None)
    if args.format == "json":
        print(json.dumps([e.as_row() | {"details": e.details} for e in events],
                         ensure_ascii=False, indent=2))
        return EXIT_OK
    for e in events:
        details = json.dumps(e.details, ensure_ascii=False, sort_keys=True)
        print(f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.username:<20} {e.role:<20} {e.action:<16} "
              f"{details}  [{e.client_ip}]")
    return EXIT_OK


def _users(args: argparse.Namespace) -> int:
    from hmb.access import auth  # noqa: PLC0415 (see the docstring)
    from hmb.state.audit import CLI_ORIGIN, AuditTrail  # noqa: PLC0415

    store = auth.UserStore()
    trail = AuditTrail()
    operator = _operator()
    if args.action == "list":
        found = store.list_users()
        if args.format == "json":
            print(json.dumps([_user_json(u) for u in found], ensure_ascii=False, indent=2))
        for u in found if args.format == "text" else []:
            flags = [f for f, on in (("DEMO", u.demo), ("disabled", u.disabled),
                                     ("failing", u.failed_attempts >= auth.FREE_ATTEMPTS),
                                     ("oidc", not u.has_password)) if on]
            print(f"{u.username:<28} {u.role:<20} {','.join(u.counties) or '-':<16} "
                  f"{' '.join(flags)}")
        return EXIT_OK
    if args.action == "demo":
        created = store.ensure_demo_users()
        trail.record("demo_users_created", operator, "cli",
                     {"users": [u.username for u in created]}, CLI_ORIGIN)
        print(f"demo accounts ({', '.join(n for n, _, _ in auth.DEMO_USERS)}) ready; "
              f"password '{auth.DEMO_PASSWORD}' — for the demo data only")
        return EXIT_OK
    if args.action == "add":
        auth.check_username(args.username)
        auth.check_counties(auth.check_role(args.role), args.county)
        password = None if args.oidc else _password(args.password_stdin)
        user = store.add(args.username, args.role, args.county, password)
        trail.record("user_added", operator, "cli",
                     {"user": user.username, "role": user.role, "counties": list(user.counties),
                      "oidc": not user.has_password}, CLI_ORIGIN)
        print(f"added {user.username} ({user.role})")
        return EXIT_OK
    store.require(args.username)
    if args.action == "reset-password":
        store.reset_password(args.username, _password(args.password_stdin))
        trail.record("password_reset", operator, "cli", {"user": args.username}, CLI_ORIGIN)
        print(f"password of {args.username} reset; their open sessions have ended")
        return EXIT_OK
    change: dict[str, tuple[Callable[[str], auth.User], Action]] = {
              "unlock": (store.unlock, "user_unlocked"),
              "disable": (store.disable, "user_disabled"),
              "enable": (store.enable, "user_enabled")}
    method, event = change[args.action]
    method(args.username)
    trail.record(event, operator, "cli", {"user": args.username}, CLI_ORIGIN)
    print(f"{args.username}: {args.action} done")
    return EXIT_OK


def _password(from_stdin: bool) -> str:
    from hmb.access import auth  # noqa: PLC0415 (see the docstring)

    if from_stdin:
        return auth.check_password(sys.stdin.readline().rstrip("\r\n"))
    try:
        first = getpass.getpass("新密码 New password: ")
        second = getpass.getpass("再输入一次 Again: ")
    except (EOFError, KeyboardInterrupt) as exc:
        raise auth.UserError("没有输入密码 no password given") from exc
    if first != second:
        raise auth.UserError("两次输入的密码不一致 the two passwords differ")
    return auth.check_password(first)


def _operator() -> str:
    return os_user()


def os_user() -> str:
    """The operating-system user running the command, as the audit trail names them."""
    return os.environ.get("USER") or os.environ.get("USERNAME") or "cli"


def _verify(trail_path: Path | None, alerts_path: Path | None) -> int:
    from hmb.core.settings import default_alert_store  # noqa: PLC0415
    from hmb.state.alert_store import verify_store  # noqa: PLC0415
    from hmb.state.audit import default_audit_store, verify_trail  # noqa: PLC0415

    checks: list[tuple[Path, Callable[[Path], list[Verification]]]] = [
        (trail_path or default_audit_store(), lambda path: [verify_trail(path)]),
        (alerts_path or default_alert_store(), verify_store),
    ]
    found, altered = 0, False
    for path, check in checks:
        if not path.is_file():
            print(f"{path}: 不存在，尚无记录 not found (nothing recorded there yet)")
            continue
        found += 1
        try:
            reports = check(path)
        except sqlite3.DatabaseError as exc:
            print(f"{path}: 无法读取 cannot be read as this product's store ({exc})",
                  file=sys.stderr)
            altered = True
            continue
        for report in reports:
            if report.problem is not None:
                print(f"{path}: {report.problem.message()}", file=sys.stderr)
                altered = True
            elif report.table == "alerts":
                print(f"{path}: alerts 与历史记录一致 agree with their history,"
                      f" {report.entries} alerts")
            else:
                print(f"{path}: {report.table} 完好 intact, {report.entries}"
                      f" {'entry' if report.entries == 1 else 'entries'}"
                      + (f", head #{report.head_seq} {report.head}" if report.head_seq else ""))
    if not found:
        print("找不到审计日志或告警库：请检查 HMB_STATE_DIR。 Neither the audit trail nor the"
              " alert store exists: check HMB_STATE_DIR (docs/settings.md) or give --trail and"
              " --alerts.", file=sys.stderr)
        return EXIT_FATAL
    if altered:
        print("记录已被改动：请从备份核对。 Recorded entries were altered: compare with a backup"
              " and the head hashes kept elsewhere (docs/access.md).", file=sys.stderr)
        return EXIT_ALTERED
    return EXIT_OK


def _user_json(user: auth.User) -> dict[str, object]:
    return {"username": user.username, "role": user.role, "counties": list(user.counties),
            "demo": user.demo, "disabled": user.disabled,
            "failed_attempts": user.failed_attempts, "oidc": not user.has_password}
