"""Local accounts, password checks with a back-off, and signed session tokens (docs/access.md).

Accounts live in ``$HMB_STATE_DIR/users.sqlite``: a username, a role (hmb.access.roles), counties
of a county supervisor, an Argon2id hash of the password (argon2-cffi's ``PasswordHasher``: salted
and deliberately slow), the count of failed attempts since the last success, and a *session
version* that is bumped whenever the password is reset or the account disabled, so every token
issued before stops working at once.

Signing in is guarded without handing strangers a way to lock anyone out. Failures back off per
name *and client address* (:data:`FREE_ATTEMPTS`, then a wait that doubles from
:data:`BACKOFF_FIRST` up to :data:`BACKOFF_MAX`), so a stranger guessing the administrator's
password from elsewhere only slows himself down; an address failing on many names is held back as
a whole (:data:`ADDRESS_FAILURES` in :data:`ADDRESS_WINDOW`); an unknown name backs off exactly like
a known one, so the answers tell nobody which names exist. Oversized input is refused before any
hashing (:data:`MAX_USERNAME_LENGTH`, :data:`MAX_PASSWORD_LENGTH`), and the process checks one
password at a time, so a burst of sign-ins queues for one core instead of taking them all.

A session token is ``{"u": username, "v": session version, "s": start}`` signed with
itsdangerous' ``URLSafeTimedSerializer`` (HMAC with a secret kept in ``$HMB_STATE_DIR/session.key``,
created with mode 0600 on first use). It carries the time it was signed: a token not refreshed
for :data:`SESSION_IDLE` is refused, and any session older than :data:`SESSION_ABSOLUTE` is
refused however busy. The dashboard verifies its token on every rerun and stores the refreshed
one. Tampered, expired, stale (older session version), disabled and unknown all end the session.

Demo accounts (:data:`DEMO_USERS`, flagged ``demo``) share one published password; they exist
only for the embedded demo data, and a store opened with ``allow_demo=False`` refuses them.

Every time comes from an injectable clock (``clock=``), so tests can move time forward.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from hmb.access.roles import ROLES, Role
from hmb.core.labels import Lang, label
from hmb.core.private_files import private_dir, private_file
from hmb.core.settings import settings
from hmb.state import sqlite_files

FREE_ATTEMPTS = 5  # failures of one name from one address before the back-off starts
BACKOFF_FIRST = timedelta(minutes=1)  # the first wait; each further failure doubles it
BACKOFF_MAX = timedelta(minutes=15)
ADDRESS_FAILURES = 30  # failures from one address, whatever the names, within ADDRESS_WINDOW
ADDRESS_WINDOW = timedelta(minutes=15)
FAILURES_KEPT = timedelta(days=1)  # a failure older than this no longer counts
CHECK_QUEUE_WAIT = 10.0  # seconds a sign-in waits for its turn at the password check
MAX_USERNAME_LENGTH = 64
MAX_PASSWORD_LENGTH = 1024
SESSION_IDLE = timedelta(minutes=30)  # no rerun for this long: signed out
SESSION_ABSOLUTE = timedelta(hours=8)  # a working day; then sign in again
MIN_PASSWORD_LENGTH = 10
# An account without a password signs in only through the identity provider (st.login).
NO_PASSWORD = "!oidc"

DEMO_PASSWORD = "demo-only-password"  # published in the README: demo data only
DEMO_USERS: tuple[tuple[str, Role, tuple[str, ...]], ...] = (
    ("demo-admin", "admin", ()),
    ("demo-city", "city_supervisor", ()),
    ("demo-county", "county_supervisor", ("350426",)),  # 尤溪县, a county of 三明 (sanming-2024)
    ("demo-finance", "financial_regulator", ()),
    ("demo-leader", "leadership", ()),
)

_USERNAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._@+-]{{1,{MAX_USERNAME_LENGTH - 1}}}$")
_COUNTY = re.compile(r"^\d{6}$")
_SALT = "hmb-session"
_BROWSER_SALT = "hmb-browser-session"  # the cookie's token: not interchangeable with a tab's

_USERS_TABLE = """
create table if not exists users (
    username        text primary key,
    role            text not null check (role in ('admin', 'city_supervisor',
                        'county_supervisor', 'financial_regulator', 'leadership')),
    counties        text not null default '[]',  -- JSON list of county codes
    password_hash   text not null,
    demo            integer not null default 0,
    disabled        integer not null default 0,
    failed_attempts integer not null default 0,
    locked_until    text,  -- unused since the back-off per address; kept so older files open
    session_version integer not null default 1,
    created_at      text not null,
    updated_at      text not null
)
"""

# One row per failed sign-in, for the back-off: the name as typed (at most MAX_USERNAME_LENGTH
# characters, an account or not) and the client's address. A success deletes its name's rows
# from its address; rows older than FAILURES_KEPT are deleted as new ones come.
_FAILURES_TABLE = (
    """
    create table if not exists sign_in_failures (
        at       text not null,
        username text not null,
        client   text not null
    )
    """,
    "create index if not exists sign_in_failures_by_name on sign_in_failures (username, client)",
    "create index if not exists sign_in_failures_by_client on sign_in_failures (client, at)",
)
# One row per browser signed in (the session cookie, dashboard.cookie): the SHA-256 of the
# cookie's random id (the id itself is never stored), whose session it is, when it started and
# was last used, and when it was ended (sign-out in any tab ends it for every tab).
_BROWSER_SESSIONS_TABLE = (
    """
    create table if not exists browser_sessions (
        id_hash    text primary key,
        username   text not null,
        started_at text not null,
        last_seen  text not null,
        ended_at   text
    )
    """,
    "create index if not exists browser_sessions_by_user on browser_sessions (username)",
)

# Argon2 is made to be slow and to fill memory: one check at a time in the whole process.
_ONE_CHECK_AT_A_TIME = threading.BoundedSemaphore(1)


class UserError(ValueError):
    """A user-management request that cannot be done (unknown user, bad role, short password)."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    counties: tuple[str, ...]
    demo: bool
    disabled: bool
    failed_attempts: int
    session_version: int
    has_password: bool
    created_at: datetime

    def role_name(self, lang: Lang) -> str:
        return label("role", self.role, lang)


Outcome = Literal["ok", "wrong_password", "unknown_user", "disabled", "demo_refused",
                  "throttled", "busy", "too_long"]


@dataclass(frozen=True)
class SignIn:
    """The result of a sign-in. ``throttled``: the name (or the address) is backed off and no
    password was checked; ``busy``: no turn at the password check came in time; ``too_long``:
    the name or the password is longer than any account's can be. ``retry_at`` is when the name
    may try again from this address, set on the failure that starts or lengthens a wait too."""

    outcome: Outcome
    user: User | None = None
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


SessionEnd = Literal["tampered", "idle", "expired", "unknown_user", "disabled", "stale",
                     "demo_refused", "signed_out"]


@dataclass(frozen=True)
class Session:
    """A verified session: the user, when it started, and the refreshed token to keep."""

    user: User
    started: datetime
    token: str


@dataclass(frozen=True)
class SessionRefused:
    reason: SessionEnd


@dataclass(frozen=True)
class BrowserSession:
    """A browser's session: its random id (kept by the tab, to end it) and the signed value of
    the cookie that lets a reload or a new tab resume it."""

    browser: str
    cookie: str


def default_user_store() -> Path:
    return settings().state_dir / "users.sqlite"


def default_secret_file() -> Path:
    return settings().state_dir / "session.key"


def load_secret(path: Path) -> bytes:
    """The signing secret, created (32 random bytes, hex, mode 0600) on first use; one found
    readable by other accounts is restricted to its owner, and that is said."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        private_file(path, found=True)
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise RuntimeError(f"the session secret {path} is too short: delete it to make a new one")
    return secret.encode()


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class UserStore:
    """The accounts in one SQLite file, and the sessions signed for them. Safe to share between
    threads: each call opens its own short connection (as hmb.state.alert_store does)."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        secret_file: Path | None = None,
        clock: Callable[[], datetime] = _now,
        allow_demo: bool = True,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_user_store()
        self.secret_file = secret_file if secret_file is not None else (
            self.path.parent / default_secret_file().name
        )
        self.clock = clock
        self.allow_demo = allow_demo
        self._hasher = hasher or PasswordHasher()
        # Password hashes are for the server's eyes only.
        sqlite_files.create_private(self.path)
        with closing(self._connect()) as con:
            sqlite_files.enable_wal(con, self.path)
            for statement in (_USERS_TABLE, *_FAILURES_TABLE, *_BROWSER_SESSIONS_TABLE):
                con.execute(statement)
        self._dummy_hash: str | None = None
        secret = load_secret(self.secret_file)
        self._serializer = _serializer(secret, clock)
        self._browser_serializer = _serializer(secret, clock, _BROWSER_SALT)

    # -- accounts ----------------------------------------------------------------------------

    def add(
        self,
        username: str,
        role: str,
        counties: Iterable[str] = (),
        password: str | None = None,
        *,
        demo: bool = False,
    ) -> User:
        """A new account. ``password=None`` makes one that signs in only through OIDC."""
        username = check_username(username)
        checked_role = check_role(role)
        codes = check_counties(checked_role, counties)
        hashed = NO_PASSWORD if password is None else self._hasher.hash(check_password(password))
        now = _stamp(self.clock())
        with self._transaction() as con:
            if con.execute("select 1 from users where username = ?", (username,)).fetchone():
                raise UserError(f"用户已存在 the user {username!r} already exists")
            con.execute(
                "insert into users (username, role, counties, password_hash, demo, created_at,"
                " updated_at) values (?, ?, ?, ?, ?, ?, ?)",
                (username, checked_role, json.dumps(list(codes)), hashed, int(demo), now, now),
            )
        return self.require(username)

    def get(self, username: str) -> User | None:
        with closing(self._connect()) as con:
            row = con.execute("select * from users where username = ?", (username,)).fetchone()
        return None if row is None else _user(row)

    def require(self, username: str) -> User:
        user = self.get(username)
        if user is None:
            raise UserError(f"没有该用户 no user named {username!r} (see `hmb users list`)")
        return user

    def list_users(self) -> list[User]:
        with closing(self._connect()) as con:
            rows = con.execute("select * from users order by username").fetchall()
        return [_user(row) for row in rows]

    def reset_password(self, username: str, password: str) -> User:
        """A new password; the back-off is lifted and every open session of the user ends."""
        hashed = self._hasher.hash(check_password(password))
        self._update(username, "password_hash = ?, failed_attempts = 0, locked_until = null,"
                     " session_version = session_version + 1", (hashed,))
        self._forget_failures(username)
        return self.require(username)

    def unlock(self, username: str) -> User:
        """Lift the back-off of ``username`` from every address."""
        self._update(username, "failed_attempts = 0, locked_until = null", ())
        self._forget_failures(username)
        return self.require(username)

    def _forget_failures(self, username: str) -> None:
        with self._transaction() as con:
            con.execute("delete from sign_in_failures where username = ?", (username,))

    def disable(self, username: str) -> User:
        """The account can no longer sign in; its open sessions end at their next rerun."""
        self._update(username, "disabled = 1, session_version = session_version + 1", ())
        return self.require(username)

    def enable(self, username: str) -> User:
        self._update(username, "disabled = 0, failed_attempts = 0, locked_until = null", ())
        return self.require(username)

    def ensure_demo_users(self) -> list[User]:
        """Create the missing demo accounts (existing ones are left as they are)."""
        created = []
        for username, role, counties in DEMO_USERS:
            if self.get(username) is None:
                created.append(self.add(username, role, counties, DEMO_PASSWORD, demo=True))
        return created

    # -- signing in --------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, *, client: str = "unknown") -> SignIn:
        """Check a password typed at ``client`` (the address the request came from).

        Refused before any hashing: a name or password longer than any account's, and a name (or
        address) that is backed off. Otherwise the password is checked, one check at a time in
        the process, an unknown name against a dummy hash so that it takes as long; a failure of
        any kind is counted for the name and the address, a success clears the name's count
        there.
        """
        name = username.strip()
        if len(name) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
            return SignIn("too_long")
        client = client[:MAX_USERNAME_LENGTH] or "unknown"
        if (waiting := self._backed_off(name, client)) is not None:
            return waiting  # answered at once: a backed-off name does not queue for the check
        if not _ONE_CHECK_AT_A_TIME.acquire(timeout=CHECK_QUEUE_WAIT):
            return SignIn("busy")
        try:
            # Checked again in turn: attempts queued together do not slip past the back-off.
            if (waiting := self._backed_off(name, client)) is not None:
                return waiting
            return self._check(name, password, client)
        finally:
            _ONE_CHECK_AT_A_TIME.release()

    def _check(self, name: str, password: str, client: str) -> SignIn:
        row = self._row(name)
        user = None if row is None else _user(row)
        stored: str = row["password_hash"] if row is not None and _user(row).has_password else ""
        if not stored:
            # As slow as checking a real password: no timing hint of who has an account.
            self._dummy_hash = self._dummy_hash or self._hasher.hash(secrets.token_hex(16))
            self._verify(self._dummy_hash, password)
        verified = bool(stored) and self._verify(stored, password)
        refused = None if user is None else self._refusal(user)
        if verified and user is not None and refused is None:
            rehash = self._hasher.check_needs_rehash(stored)
            with self._transaction() as con:
                con.execute(
                    "update users set failed_attempts = 0"
                    + (", password_hash = :hash" if rehash else "")
                    + " where username = :u",
                    {"u": user.username, "hash": self._hasher.hash(password) if rehash else None},
                )
                con.execute("delete from sign_in_failures where username = ? and client = ?",
                            (name, client))
            return SignIn("ok", self.get(user.username))
        now = self.clock()
        with self._transaction() as con:
            con.execute("delete from sign_in_failures where at < ?",
                        (_stamp(now - FAILURES_KEPT),))
            con.execute("insert into sign_in_failures (at, username, client) values (?, ?, ?)",
                        (_stamp(now), name, client))
            if user is not None:
                con.execute("update users set failed_attempts = failed_attempts + 1"
                            " where username = ?", (user.username,))
        waiting = self._backed_off(name, client)
        retry_at = None if waiting is None else waiting.retry_at
        if refused is not None:
            return SignIn(refused.outcome, user, retry_at)
        return SignIn("unknown_user" if user is None else "wrong_password", user, retry_at)

    def _backed_off(self, name: str, client: str) -> SignIn | None:
        """``throttled`` with the time to try again, while ``name`` or ``client`` must wait."""
        now = self.clock()
        with closing(self._connect()) as con:
            count, last = con.execute(
                "select count(*), max(at) from sign_in_failures"
                " where username = ? and client = ? and at >= ?",
                (name, client, _stamp(now - FAILURES_KEPT)),
            ).fetchone()
            recent = [at for (at,) in con.execute(
                "select at from sign_in_failures where client = ? and at >= ?"
                " order by at desc limit ?",
                (client, _stamp(now - ADDRESS_WINDOW), ADDRESS_FAILURES),
            )]
        retry_at = []
        if count >= FREE_ATTEMPTS:
            wait = min(BACKOFF_FIRST * 2 ** min(count - FREE_ATTEMPTS, 32), BACKOFF_MAX)
            retry_at.append(datetime.fromisoformat(last) + wait)
        if len(recent) >= ADDRESS_FAILURES:
            # Free again when the oldest of the last ADDRESS_FAILURES leaves the window.
            retry_at.append(datetime.fromisoformat(recent[-1]) + ADDRESS_WINDOW)
        later = max(retry_at, default=None)
        return SignIn("throttled", None, later) if later is not None and now < later else None

    def _refusal(self, user: User) -> SignIn | None:
        """Why ``user`` may not sign in whatever the password, if anything."""
        if user.disabled:
            return SignIn("disabled", user)
        if user.demo and not self.allow_demo:
            return SignIn("demo_refused", user)
        return None

    def _row(self, username: str) -> sqlite3.Row | None:
        with closing(self._connect()) as con:
            row: sqlite3.Row | None = con.execute(
                "select * from users where username = ?", (username,)).fetchone()
        return row

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(hashed, password))
        except (VerificationError, InvalidHashError):
            return False

    # -- sessions ----------------------------------------------------------------------------

    def issue_token(self, user: User, started: datetime | None = None) -> str:
        """A signed token for ``user``; ``started`` carries the session's start on refresh."""
        start = started if started is not None else self.clock()
        return self.issue_token_for(user.username, user.session_version, start)

    def verify_token(self, token: str) -> Session | SessionRefused:
        """The session a token stands for, with a refreshed token, or why it is refused."""
        try:
            payload: Any = self._serializer.loads(token, max_age=int(SESSION_IDLE.total_seconds()))
        except SignatureExpired:
            return SessionRefused("idle")
        except BadSignature:
            return SessionRefused("tampered")
        if not (isinstance(payload, dict) and isinstance(payload.get("u"), str)
                and isinstance(payload.get("v"), int) and isinstance(payload.get("s"), int)):
            return SessionRefused("tampered")
        started = datetime.fromtimestamp(payload["s"], UTC)
        user = self.get(payload["u"])
        reason: SessionEnd | None = (
            "expired" if self.clock() - started > SESSION_ABSOLUTE
            else "unknown_user" if user is None
            else "disabled" if user.disabled
            else "demo_refused" if user.demo and not self.allow_demo
            else "stale" if user.session_version != payload["v"]
            else None
        )
        if reason is not None or user is None:
            return SessionRefused(reason or "unknown_user")
        return Session(user, started, self.issue_token(user, started))

    # -- browser sessions (the session cookie) ----------------------------------------------

    def open_browser_session(self, user: User, started: datetime) -> BrowserSession:
        """A browser's session for ``user``, begun at ``started``: the signed cookie value
        ``{"u", "v", "s", "b"}`` (``b`` a random id whose hash is kept to end it)."""
        browser = secrets.token_urlsafe(32)
        now = _stamp(self.clock())
        with self._transaction() as con:
            con.execute(
                "insert into browser_sessions (id_hash, username, started_at, last_seen)"
                " values (?, ?, ?, ?)",
                (_digest(browser), user.username, _stamp(started), now),
            )
        payload = {"u": user.username, "v": user.session_version, "s": int(started.timestamp()),
                   "b": browser}
        cookie: str = self._browser_serializer.dumps(payload)
        return BrowserSession(browser, cookie)

    def resume_browser_session(self, cookie: str) -> tuple[Session, str] | SessionRefused:
        """The session a browser's cookie stands for (a reload, a new tab), with a fresh tab
        token and the browser id, or why it is refused: as :meth:`verify_token`, and also ended
        (signed out in another tab), or idle for :data:`SESSION_IDLE` in every tab."""
        try:
            payload: Any = self._browser_serializer.loads(
                cookie, max_age=int(SESSION_ABSOLUTE.total_seconds()))
        except SignatureExpired:
            return SessionRefused("expired")
        except BadSignature:
            return SessionRefused("tampered")
        if not (isinstance(payload, dict) and isinstance(payload.get("b"), str)
                and isinstance(payload.get("u"), str) and isinstance(payload.get("v"), int)
                and isinstance(payload.get("s"), int)):
            return SessionRefused("tampered")
        browser = payload["b"]
        ended = self.browser_session_ended(browser, payload["u"])
        if ended is not None:
            return ended
        started = datetime.fromtimestamp(payload["s"], UTC)
        token = self.issue_token_for(payload["u"], payload["v"], started)
        result = self.verify_token(token)
        if isinstance(result, SessionRefused):
            return result
        return result, browser

    def browser_session_ended(self, browser: str, username: str) -> SessionRefused | None:
        """Why the browser session ``browser`` of ``username`` no longer holds (signed out,
        idle in every tab, unknown), or None after marking it used now."""
        now = self.clock()
        with self._transaction() as con:
            row = con.execute(
                "select username, last_seen, ended_at from browser_sessions where id_hash = ?",
                (_digest(browser),),
            ).fetchone()
            if row is None or row["username"] != username:
                return SessionRefused("tampered")
            if row["ended_at"] is not None:
                return SessionRefused("signed_out")
            if now - datetime.fromisoformat(row["last_seen"]) > SESSION_IDLE:
                con.execute("update browser_sessions set ended_at = ? where id_hash = ?",
                            (_stamp(now), _digest(browser)))
                return SessionRefused("idle")
            con.execute("update browser_sessions set last_seen = ? where id_hash = ?",
                        (_stamp(now), _digest(browser)))
        return None

    def end_browser_session(self, browser: str) -> None:
        """Sign-out: the cookie stops working in every tab of that browser at their next step."""
        with self._transaction() as con:
            con.execute(
                "update browser_sessions set ended_at = coalesce(ended_at, ?) where id_hash = ?",
                (_stamp(self.clock()), _digest(browser)),
            )

    def issue_token_for(self, username: str, version: int, started: datetime) -> str:
        payload = {"u": username, "v": version, "s": int(started.timestamp())}
        token: str = self._serializer.dumps(payload)
        return token

    # -- plumbing ----------------------------------------------------------------------------

    def _update(self, username: str, assignments: str, params: Sequence[Any]) -> None:
        with self._transaction() as con:
            cursor = con.execute(
                f"update users set {assignments}, updated_at = ? where username = ?",
                (*params, _stamp(self.clock()), username),
            )
            if cursor.rowcount == 0:
                raise UserError(f"没有该用户 no user named {username!r} (see `hmb users list`)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite_files.connect(self.path)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_files.transaction(self.path)


def _digest(browser: str) -> str:
    return hashlib.sha256(browser.encode()).hexdigest()


def _serializer(
    secret: bytes, clock: Callable[[], datetime], salt: str = _SALT
) -> URLSafeTimedSerializer:
    class ClockSigner(TimestampSigner):
        """itsdangerous' timestamp signer, reading the store's clock instead of time.time()."""

        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return URLSafeTimedSerializer(secret, salt=salt, signer=ClockSigner)


def _user(row: sqlite3.Row) -> User:
    return User(
        username=row["username"],
        role=check_role(row["role"]),
        counties=tuple(json.loads(row["counties"])),
        demo=bool(row["demo"]),
        disabled=bool(row["disabled"]),
        failed_attempts=int(row["failed_attempts"]),
        session_version=int(row["session_version"]),
        has_password=row["password_hash"] != NO_PASSWORD,
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def check_username(username: str) -> str:
    name = username.strip()
    if not _USERNAME.match(name):
        shown = name if len(name) <= MAX_USERNAME_LENGTH else f"{name[:MAX_USERNAME_LENGTH]}…"
        raise UserError(
            f"用户名无效 invalid username {shown!r}: 2-{MAX_USERNAME_LENGTH} characters, letters,"
            " digits and . _ @ + - (an e-mail address is fine), starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise UserError(f"未知角色 unknown role {role!r}; roles: {', '.join(ROLES)}")


def check_counties(role: Role, counties: Iterable[str]) -> tuple[str, ...]:
    codes = tuple(sorted({c.strip() for c in counties}))
    if bad := [c for c in codes if not _COUNTY.match(c)]:
        raise UserError(f"区划代码无效 not a 6-digit county code: {', '.join(bad)}")
    if role == "county_supervisor" and not codes:
        raise UserError("县级用户必须指定县 a county_supervisor needs at least one --county CODE")
    if role != "county_supervisor" and codes:
        raise UserError(f"only a county_supervisor is limited to counties, not a {role}")
    return codes


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"密码太短 the password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(
            f"密码太长 the password can have at most {MAX_PASSWORD_LENGTH} characters"
        )
    return password
