"""``hmb brief`` and ``hmb disclosure``: the meeting brief (contract §7) and the public
disclosure as PDF files (docs/brief.md)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hmb.ingest.dataset import Dataset
    from hmb.rulebook.profiles import Profile

EXIT_OK = 0
EXIT_FATAL = 2


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    folder_command: Callable[..., argparse.ArgumentParser],
) -> None:
    """``hmb brief`` and ``hmb disclosure``, each a folder command of hmb.cli.main (FOLDER,
    the rulebook, --as-of) with its own options."""
    brief = folder_command(
        sub, "brief", "write the working group's meeting brief as a PDF (A4, at most 6 pages)",
        purpose="the rules and parameters from",
    )
    brief.add_argument("--year", type=int, help="policy year (default: the latest in the data)")
    brief.add_argument(
        "--county", metavar="CODE",
        help="only this county, as its county supervisor sees it (6-digit code)",
    )
    brief.add_argument("--lang", choices=("zh", "en"), default="zh")
    brief.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    brief.add_argument(
        "--mail-to", metavar="ADDRESS",
        help="also mail the PDF to this address through the bureau's SMTP server (HMB_SMTP_*)",
    )

    public = folder_command(
        sub, "disclosure",
        "write the public disclosure (participation, settlements, income and expenditure)",
        purpose="the parameters from",
    )
    public.add_argument("--year", type=int, help="policy year (default: the latest in the data)")
    public.add_argument("--lang", choices=("zh", "en"), default="zh")
    public.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")


def out_problem(out: Path) -> str | None:
    """Why a PDF cannot be written at ``out`` (checked before any work), or None."""
    if out.is_dir():
        return (f"--out {out} 是一个文件夹，请给出 PDF 文件名。 --out {out} is a folder: give the"
                " name of the PDF file to write, e.g. brief.pdf.")
    if not out.parent.is_dir():
        return (f"--out {out}：文件夹 {out.parent} 不存在。 The folder {out.parent} of --out"
                " does not exist: create it first or write elsewhere.")
    return None


def _say(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def brief_command(args: argparse.Namespace, profile: Profile, dataset: Dataset,
                  as_of: date) -> int:
    from hmb.cli.admin import os_user  # noqa: PLC0415 (the report stack is loaded only here)
    from hmb.report import history  # noqa: PLC0415
    from hmb.report.brief import (  # noqa: PLC0415
        BriefError,
        brief_content,
        brief_scope,
        check_request,
        make_brief,
        since_previous,
    )
    from hmb.report.typeset import FontMissing  # noqa: PLC0415
    from hmb.state.audit import CLI_ORIGIN, AuditTrail  # noqa: PLC0415

    started = time.perf_counter()
    try:
        year = check_request(profile, dataset, args.year, args.county)
        brief = brief_content(profile, dataset, as_of, year, brief_scope(args.county),
                              lang=args.lang)
        trail = AuditTrail()
        brief = since_previous(brief, history.previous_brief(trail, brief.details))
        pdf = make_brief(brief)
    except (BriefError, FontMissing) as exc:
        _say(str(exc))
        return EXIT_FATAL
    args.out.write_bytes(pdf)
    history.record_brief(trail, os_user(), "cli", brief.details, file_name=args.out.name,
                         origin=CLI_ORIGIN)
    seconds = time.perf_counter() - started
    _say(f"已写入简报 {args.out}（{len(pdf):,} 字节，用时 {seconds:.1f} 秒）。"
         f" Brief written to {args.out} ({len(pdf):,} bytes, {seconds:.1f} s).")
    if args.mail_to:
        return _mail(args, pdf, brief.content["subtitle"])
    return EXIT_OK


def _mail(args: argparse.Namespace, pdf: bytes, subtitle: str) -> int:
    from hmb.core.settings import settings  # noqa: PLC0415
    from hmb.report.mail import MailError, send_pdf  # noqa: PLC0415

    title = "惠民保工作专班简报" if args.lang == "zh" else "惠民保 working-group brief"
    try:
        send_pdf(pdf, args.out.name, args.mail_to, subject=f"{title} {subtitle}",
                 body=f"{title}\n{subtitle}\n", config=settings())
    except MailError as exc:
        _say(str(exc))
        return EXIT_FATAL
    _say(f"已发送至 {args.mail_to}。 Mailed to {args.mail_to}.")
    return EXIT_OK


def disclosure_command(args: argparse.Namespace, profile: Profile, dataset: Dataset,
                       as_of: date) -> int:
    from hmb.cli.admin import os_user  # noqa: PLC0415
    from hmb.report.brief import BriefError, check_request  # noqa: PLC0415
    from hmb.report.disclosure import disclosure_content, make_disclosure  # noqa: PLC0415
    from hmb.report.typeset import FontMissing  # noqa: PLC0415
    from hmb.state.audit import CLI_ORIGIN, AuditTrail  # noqa: PLC0415

    try:
        year = check_request(profile, dataset, args.year, None)
        content = disclosure_content(profile, dataset, as_of, year, args.lang)
        pdf = make_disclosure(content)
    except (BriefError, FontMissing) as exc:
        _say(str(exc))
        return EXIT_FATAL
    args.out.write_bytes(pdf)
    AuditTrail().record("export", os_user(), "cli", {
        "kind": "disclosure", "profile": profile.name, "policy_year": year,
        "as_of": as_of.isoformat(), "data_fingerprint": dataset.fingerprint,
        "file": args.out.name,
    }, CLI_ORIGIN)
    _say(f"已写入公开披露 {args.out}。 Disclosure written to {args.out}.")
    return EXIT_OK
