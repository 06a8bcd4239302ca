"""Settings: every ``HMB_*`` environment variable, typed, in one model (docs/settings.md).

``settings()`` reads the environment each time it is called (a fraction of a millisecond):
the tests and the benchmarks set variables while they run, and a value frozen at import would
miss them. An empty value, or one of spaces only, means the default. A value that does not
validate is said once on standard error and the default used: a setting never stops a command
with a traceback.

hmb.core.paths keeps the checkout's own folders (PROJECT_ROOT, QUERIES_DIR, RULEBOOKS_DIR), which
no setting changes; the defaults here are built from them. Kept apart so that the fixed places
need neither the environment nor pydantic, and so that the dependency runs one way: this module
imports paths, never the reverse.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hmb.core.paths import PROJECT_ROOT

ENV_PREFIX = "HMB_"
DATA = PROJECT_ROOT / "data"


class Settings(BaseSettings):
    """What an operator may set, each field read from ``HMB_`` + its name in capitals."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid"
    )

    data_dir: Path | None = Field(
        default=None,
        title="数据目录",
        description="A folder of exports the app shows first in its jurisdiction list, read"
        " with the rulebook named by `HMB_PROFILE` (set both, or neither). While it is set the"
        " demo accounts are refused ([access.md](access.md)).",
    )
    profile: str | None = Field(
        default=None,
        title="规则配置",
        description="The rulebook of `HMB_DATA_DIR`: a file name of `data/rulebooks/` without"
        " `.toml`, such as `sanming-2024`. A name only: a path, a name with `/` or `..`, or a"
        " rulebook that is a symbolic link is refused, and the app says so instead of showing"
        " the folder.",
    )
    cache_dir: Path = Field(
        default=DATA / "cache",
        title="缓存目录",
        description="The validated stores (one DuckDB file per fingerprint of an export), their"
        " per-year enrollment segments (`segments/`) and the county maps' simplified boundaries"
        " (`maps/`). Anything in it can be deleted at any time; it is rebuilt when needed. Only"
        " the account that runs the product can read it (folders 0700, files 0600:"
        " [access.md](access.md#files-on-disk)).",
    )
    cache_keep_days: float = Field(
        default=30.0,
        ge=0,
        allow_inf_nan=False,
        title="缓存保留天数",
        description="When a new store is built, stores and segments unused for this many days"
        " are deleted; 0 keeps only the one being opened, which is never deleted. Fractions of"
        " a day are allowed.",
        json_schema_extra={"unit": "days"},
    )
    state_dir: Path = Field(
        default=DATA / "state",
        title="状态目录",
        description="What the app and the commands record: the alert store (`alerts.sqlite`:"
        " `hmb check --record`, `hmb alerts`), the accounts (`users.sqlite`: `hmb users`), the"
        " audit trail (`audit.sqlite`: `hmb audit`), the export register (`exports.sqlite`:"
        " `hmb ingest`, `hmb exports`), the secret key that signs sessions"
        " (`session.key`) and the rows `hmb validate` quarantines (`quarantine/<folder>-"
        "<fingerprint>/`, unless `--quarantine-dir` says otherwise). Only the account that runs"
        " the product can read it (folders 0700, files 0600:"
        " [access.md](access.md#files-on-disk)).",
    )
    ingest_root: Path | None = Field(
        default=None,
        title="可接收目录",
        description="The folder under which an administrator may ingest an export from the app"
        " (its data-quality page): a folder given there must lie under it, with no `..` and no"
        " symbolic link leading out of it. Unset, the app offers no ingest; `hmb ingest` on the"
        " command line is not limited by it ([ingest.md](ingest.md)).",
    )
    demo_dir: Path = Field(
        default=DATA / "demo",
        title="演示数据目录",
        description="Where the app writes the demo folder of a jurisdiction the first time it is"
        " shown (`hmb demo` writes wherever `--out` says).",
    )
    seeds_dir: Path = Field(
        default=DATA / "seeds",
        title="政策文件目录",
        description="The policy documents whose clauses the rulebooks quote; the tests check"
        " every quotation against them.",
    )

    disclosure_min_count: int = Field(
        default=10,
        ge=1,
        title="公开披露最小单元",
        description="The public disclosure (`hmb disclosure`, 湖南 湘政办发〔2024〕5号 四（六）)"
        " shows no figure of a group smaller than this many people or claims: such a cell is"
        " printed as `<N` so that nobody can be recognised in it. A local parameter; the"
        " document sets no number.",
        json_schema_extra={"unit": "people"},
    )
    smtp_host: str | None = Field(
        default=None,
        title="邮件服务器",
        description="The bureau's own SMTP server through which `hmb brief --mail-to` sends the"
        " brief ([brief.md](brief.md#mailing-the-brief)). Unset: `--mail-to` is refused.",
    )
    smtp_port: int = Field(
        default=587,
        ge=1,
        le=65535,
        title="邮件服务器端口",
        description="The SMTP server's port (587 for submission with STARTTLS, 25 inside a"
        " bureau's network).",
    )
    smtp_starttls: bool = Field(
        default=True,
        title="STARTTLS",
        description="Upgrade the SMTP connection with STARTTLS before signing in (`false` only"
        " for a server on the same machine or a closed network).",
    )
    smtp_user: str | None = Field(
        default=None,
        title="邮件账户",
        description="The account to sign in to the SMTP server with; unset: send without"
        " signing in.",
    )
    smtp_password_file: Path | None = Field(
        default=None,
        title="邮件密码文件",
        description="A file holding the SMTP account's password (one line; keep it readable by"
        " the product's account only). The password itself is never a setting.",
    )
    mail_from: str | None = Field(
        default=None,
        title="发件人",
        description="The sender address of a mailed brief (`hmb brief --mail-to`), e.g."
        " `hmb@ybj.example.gov.cn`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_means_default(cls, values: Any) -> Any:
        """A value of spaces only counts as unset, like an empty one (never the current folder)."""
        if isinstance(values, dict):
            return {
                name: value
                for name, value in values.items()
                if not (isinstance(value, str) and not value.strip())
            }
        return values


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def shown_default(field: str) -> str:
    """A field's default as the documentation and the messages show it (a folder relative to the
    checkout)."""
    info = Settings.model_fields[field]
    value = info.default
    if value is None:
        return "unset"
    if isinstance(value, Path):
        return f"{value.relative_to(PROJECT_ROOT).as_posix()}/"
    extra = info.json_schema_extra
    unit = extra.get("unit") if isinstance(extra, dict) else None
    return f"{value:g} {unit}" if unit else f"{value}"


def settings() -> Settings:
    """The settings as the environment holds them now; a value that does not validate is
    reported (once per value) and replaced by its default."""
    try:
        return Settings()
    except ValidationError as error:
        rejected: dict[str, Any] = {}
        for problem in error.errors():
            field = str(problem["loc"][0])
            if field not in Settings.model_fields:
                raise
            _say_rejected(field, problem["input"], problem["msg"])
            rejected[field] = Settings.model_fields[field].default
        return Settings(**rejected)  # arguments take precedence over the environment


def default_alert_store() -> Path:
    """The alert store of ``hmb check --record``, ``hmb alerts`` and the app."""
    return settings().state_dir / "alerts.sqlite"


def _say_rejected(field: str, value: Any, reason: str) -> None:
    if (field, str(value)) in _said:
        return
    _said.add((field, str(value)))
    print(
        f"hmb: {env_name(field)}={value!r} 无效，使用默认值 is not valid"
        f" ({reason[:1].lower()}{reason[1:]}); the default is used: {shown_default(field)}.",
        file=sys.stderr,
    )


_said: set[tuple[str, str]] = set()
