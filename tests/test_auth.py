"""Accounts, passwords, lockout and sessions (hmb.access.auth), with a clock the tests move by
hand."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher

from hmb.access import auth
from hmb.access.auth import Session, SessionRefused, UserError, UserStore

PASSWORD = "correct horse battery"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> UserStore:
    # The cheapest Argon2 settings: the tests check behaviour, not the cost.
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return UserStore(tmp_path / "users.sqlite", clock=clock, hasher=fast)


def test_passwords_are_stored_as_salted_argon2_hashes(store: UserStore) -> None:
    store.add("zhang", "city_supervisor", password=PASSWORD)
    store.add("li", "city_supervisor", password=PASSWORD)
    content = store.path.read_bytes()
    assert PASSWORD.encode() not in content
    with sqlite3.connect(store.path) as con:
        hashes = [row[0] for row in con.execute("select password_hash from users")]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert hashes[0] != hashes[1]  # the same password, two salts


def test_the_right_password_signs_in_and_a_wrong_one_does_not(store: UserStore) -> None:
    store.add("zhang", "city_supervisor", password=PASSWORD)
    assert store.authenticate("zhang", PASSWORD).ok
    wrong = store.authenticate("zhang", PASSWORD + "!")
    assert wrong.outcome == "wrong_password" and not wrong.ok
    assert store.authenticate("nobody", PASSWORD).outcome == "unknown_user"
    assert store.require("zhang").failed_attempts == 1
    assert store.authenticate("zhang", PASSWORD).ok
    assert store.require("zhang").failed_attempts == 0  # a success resets the count


ATTACKER = "203.0.113.9"
OFFICE = "10.20.0.15"


def fail(store: UserStore, username: str, client: str, times: int) -> list[str]:
    return [store.authenticate(username, "wrong-password", client=client).outcome
            for _ in range(times)]


def test_an_outsider_cannot_keep_the_administrator_out(store: UserStore) -> None:
    """Failures back off per name and address: a stranger guessing the administrator's password
    from elsewhere slows himself down, not her (a hard lock let anyone lock any account)."""
    store.add("admin1", "admin", password=PASSWORD)
    outcomes = fail(store, "admin1", ATTACKER, 50)
    assert outcomes[: auth.FREE_ATTEMPTS] == ["wrong_password"] * auth.FREE_ATTEMPTS
    assert set(outcomes[auth.FREE_ATTEMPTS:]) == {"throttled"}
    assert store.authenticate("admin1", PASSWORD, client=OFFICE).ok
    assert store.require("admin1").failed_attempts == 0


def test_failures_from_one_address_back_off_doubling(store: UserStore, clock: Clock) -> None:
    store.add("zhang", "city_supervisor", password=PASSWORD)
    fail(store, "zhang", OFFICE, auth.FREE_ATTEMPTS)
    waits = []
    for _ in range(8):
        throttled = store.authenticate("zhang", PASSWORD, client=OFFICE)
        assert throttled.outcome == "throttled" and throttled.retry_at is not None
        waits.append(throttled.retry_at - clock.now)
        clock.advance(throttled.retry_at - clock.now)
        assert fail(store, "zhang", OFFICE, 1) == ["wrong_password"]
    first = auth.BACKOFF_FIRST
    assert waits == [min(first * 2**n, auth.BACKOFF_MAX) for n in range(8)]
    assert waits[-1] == auth.BACKOFF_MAX
    # While backed off, not even the right password is checked; once the wait is over it is.
    assert store.authenticate("zhang", PASSWORD, client=OFFICE).outcome == "throttled"
    clock.advance(auth.BACKOFF_MAX)
    assert store.authenticate("zhang", PASSWORD, client=OFFICE).ok
    assert fail(store, "zhang", OFFICE, 1) == ["wrong_password"]  # a success starts again


def test_an_unknown_name_backs_off_like_a_known_one(store: UserStore) -> None:
    """What a stranger sees says nothing about which names have accounts."""
    store.add("zhang", "city_supervisor", password=PASSWORD)
    known = fail(store, "zhang", ATTACKER, auth.FREE_ATTEMPTS + 2)
    unknown = fail(store, "zhao", ATTACKER, auth.FREE_ATTEMPTS + 2)
    failed = {"wrong_password", "unknown_user"}
    assert [o in failed for o in known] == [o in failed for o in unknown]
    assert known[-2:] == unknown[-2:] == ["throttled", "throttled"]


def test_an_address_guessing_many_names_is_throttled(store: UserStore, clock: Clock) -> None:
    store.add("zhang", "city_supervisor", password=PASSWORD)
    for n in range(auth.ADDRESS_FAILURES):
        assert fail(store, f"name{n}", ATTACKER, 1) == ["unknown_user"]
    refused = store.authenticate("zhang", PASSWORD, client=ATTACKER)
    assert refused.outcome == "throttled"
    assert store.authenticate("zhang", PASSWORD, client=OFFICE).ok  # another address
    clock.advance(auth.ADDRESS_WINDOW)
    assert store.authenticate("zhang", PASSWORD, client=ATTACKER).ok


def test_an_administrator_lifts_the_back_off(store: UserStore) -> None:
    store.add("zhang", "city_supervisor", password=PASSWORD)
    fail(store, "zhang", OFFICE, auth.FREE_ATTEMPTS + 1)
    assert store.authenticate("zhang", PASSWORD, client=OFFICE).outcome == "throttled"
    store.unlock("zhang")
    assert store.authenticate("zhang", PASSWORD, client=OFFICE).ok


class CountingHasher(PasswordHasher):
    """The cheapest Argon2, counting the checks and how many ran at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.checks = 0
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.checks += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(0.05)  # as if it were the real cost
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


def test_oversized_input_is_refused_before_any_hashing(tmp_path: Path, clock: Clock) -> None:
    hasher = CountingHasher()
    store = UserStore(tmp_path / "users.sqlite", clock=clock, hasher=hasher)
    store.add("zhang", "city_supervisor", password=PASSWORD)
    assert store.authenticate("x" * 200_000, PASSWORD).outcome == "too_long"
    assert store.authenticate("zhang", "p" * (auth.MAX_PASSWORD_LENGTH + 1)).outcome == "too_long"
    assert hasher.checks == 0
    assert store.authenticate("zhang", "p" * auth.MAX_PASSWORD_LENGTH).outcome == "wrong_password"
    with pytest.raises(UserError):
        store.add("z" * (auth.MAX_USERNAME_LENGTH + 1), "leadership", password=PASSWORD)
    with pytest.raises(UserError):
        store.add("li", "leadership", password="p" * (auth.MAX_PASSWORD_LENGTH + 1))


def test_one_password_check_runs_at_a_time(tmp_path: Path, clock: Clock) -> None:
    """A burst of sign-ins queues for one Argon2 check at a time: the other core stays free."""
    hasher = CountingHasher()
    store = UserStore(tmp_path / "users.sqlite", clock=clock, hasher=hasher)
    store.add("zhang", "city_supervisor", password=PASSWORD)
    hasher.checks = 0
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(
            lambda n: store.authenticate("zhang", PASSWORD, client=f"10.0.0.{n}").outcome,
            range(6)))
    assert outcomes == ["ok"] * 6
    assert hasher.checks == 6 and hasher.most_at_once == 1


def test_a_token_verifies_and_is_refreshed(store: UserStore, clock: Clock) -> None:
    user = store.add("zhang", "county_supervisor", ["350426"], PASSWORD)
    token = store.issue_token(user)
    clock.advance(timedelta(minutes=1))
    session = store.verify_token(token)
    assert isinstance(session, Session)
    assert session.user.username == "zhang" and session.user.counties == ("350426",)
    assert session.started == START
    assert session.token != token  # signed again, now


def test_an_idle_session_expires(store: UserStore, clock: Clock) -> None:
    token = store.issue_token(store.add("zhang", "leadership", password=PASSWORD))
    clock.advance(auth.SESSION_IDLE + timedelta(seconds=1))
    assert store.verify_token(token) == SessionRefused("idle")


def test_a_busy_session_still_ends_at_the_absolute_limit(store: UserStore, clock: Clock) -> None:
    token = store.issue_token(store.add("zhang", "leadership", password=PASSWORD))
    steps = 0
    while clock.now - START <= auth.SESSION_ABSOLUTE - timedelta(minutes=10):
        clock.advance(timedelta(minutes=10))  # a rerun every ten minutes: never idle
        result = store.verify_token(token)
        assert isinstance(result, Session), (steps, result)
        token = result.token
        steps += 1
    clock.advance(timedelta(minutes=11))
    assert store.verify_token(token) == SessionRefused("expired")


@pytest.mark.parametrize("tamper", ["payload", "signature", "garbage", "other-secret"])
def test_a_tampered_token_is_refused(store: UserStore, tmp_path: Path, clock: Clock,
                                     tamper: str) -> None:
    user = store.add("zhang", "county_supervisor", ["350426"], PASSWORD)
    token = store.issue_token(user)
    payload, timestamp, signature = token.rsplit(".", 2)
    if tamper == "payload":
        # Someone else's name in the payload, the signature kept.
        other = store.add("admin1", "admin", password=PASSWORD)
        forged_payload = store.issue_token(other).rsplit(".", 2)[0]
        forged = f"{forged_payload}.{timestamp}.{signature}"
    elif tamper == "signature":
        # The first character: the last one of a base64 signature carries bits that decoding
        # ignores, so changing it may leave the signature valid (a test that failed at random).
        flipped = "A" if signature[0] != "A" else "B"
        forged = f"{payload}.{timestamp}.{flipped}{signature[1:]}"
    elif tamper == "garbage":
        forged = "not-a-token"
    else:
        stranger = UserStore(tmp_path / "elsewhere" / "users.sqlite", clock=clock)
        forged = stranger.issue_token(stranger.add("zhang", "admin", password=PASSWORD))
    assert store.verify_token(forged) == SessionRefused("tampered")


def test_a_password_reset_ends_the_open_sessions(store: UserStore) -> None:
    token = store.issue_token(store.add("zhang", "city_supervisor", password=PASSWORD))
    store.reset_password("zhang", "another long password")
    assert store.verify_token(token) == SessionRefused("stale")
    assert not store.authenticate("zhang", PASSWORD).ok
    fresh = store.issue_token(store.require("zhang"))
    assert isinstance(store.verify_token(fresh), Session)


def test_a_disabled_user_cannot_sign_in_and_loses_the_session(store: UserStore) -> None:
    token = store.issue_token(store.add("zhang", "city_supervisor", password=PASSWORD))
    store.disable("zhang")
    assert store.verify_token(token) == SessionRefused("disabled")
    assert store.authenticate("zhang", PASSWORD).outcome == "disabled"


def test_a_deleted_user_loses_the_session(store: UserStore, tmp_path: Path,
                                          clock: Clock) -> None:
    token = store.issue_token(store.add("zhang", "city_supervisor", password=PASSWORD))
    # The same secret, another user file: the signature holds but the account is gone.
    other = UserStore(tmp_path / "other.sqlite", secret_file=store.secret_file, clock=clock)
    assert other.verify_token(token) == SessionRefused("unknown_user")


def test_demo_accounts_are_refused_outside_the_demo(tmp_path: Path, clock: Clock) -> None:
    demo = UserStore(tmp_path / "users.sqlite", clock=clock)
    created = demo.ensure_demo_users()
    assert {u.username for u in created} == {name for name, _, _ in auth.DEMO_USERS}
    assert all(u.demo for u in created)
    assert demo.ensure_demo_users() == []  # existing accounts are kept as they are
    assert demo.authenticate("demo-county", auth.DEMO_PASSWORD).ok
    token = demo.issue_token(demo.require("demo-admin"))
    real = UserStore(tmp_path / "users.sqlite", clock=clock, allow_demo=False)
    assert real.authenticate("demo-admin", auth.DEMO_PASSWORD).outcome == "demo_refused"
    assert real.verify_token(token) == SessionRefused("demo_refused")


def test_the_secret_and_the_hashes_are_private(store: UserStore) -> None:
    assert stat.S_IMODE(os.stat(store.secret_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert len(store.secret_file.read_text().strip()) >= 64


@pytest.mark.parametrize(
    ("account", "password", "message"),
    [
        (("zhang", "county_supervisor", []), PASSWORD, "at least one --county"),
        (("zhang", "city_supervisor", ["350426"]), PASSWORD, "only a county_supervisor"),
        (("zhang", "mayor", []), PASSWORD, "unknown role"),
        (("zhang", "city_supervisor", []), "short", "at least 10 characters"),
        (("zhang", "county_supervisor", ["35042"]), PASSWORD, "6-digit"),
        (("-x", "admin", []), PASSWORD, "invalid username"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(store: UserStore,
                                                account: tuple[str, str, list[str]],
                                                password: str, message: str) -> None:
    username, role, counties = account
    with pytest.raises(UserError, match=message):
        store.add(username, role, counties, password)


def test_a_username_is_taken_once(store: UserStore) -> None:
    store.add("zhang", "admin", password=PASSWORD)
    with pytest.raises(UserError, match="already exists"):
        store.add("zhang", "leadership", password=PASSWORD)


def test_an_oidc_account_has_no_password_to_guess(store: UserStore) -> None:
    user = store.add("zhang@bureau.gov.cn", "city_supervisor")
    assert not user.has_password
    assert store.authenticate("zhang@bureau.gov.cn", auth.NO_PASSWORD).outcome == \
        "wrong_password"


# -- browser sessions: the cookie a reload or a new tab resumes (dashboard.cookie) -------------


def _browser(store: UserStore, clock: Clock) -> tuple[auth.User, auth.BrowserSession]:
    user = store.add("zhang", "city_supervisor", password=PASSWORD)
    return user, store.open_browser_session(user, clock())


def test_a_browser_session_resumes_in_a_new_tab(store: UserStore, clock: Clock) -> None:
    _, browser = _browser(store, clock)
    clock.advance(timedelta(minutes=10))
    resumed = store.resume_browser_session(browser.cookie)
    assert not isinstance(resumed, SessionRefused)
    session, browser_id = resumed
    assert session.user.username == "zhang" and session.started == START
    assert browser_id == browser.browser
    # The tab goes on with an ordinary tab token, which verifies as any other.
    assert isinstance(store.verify_token(session.token), Session)
    # Only the id's hash is kept: the file cannot be used to forge a cookie.
    assert browser.browser.encode() not in store.path.read_bytes()


def test_signing_out_in_one_tab_ends_the_browser_session_for_all(
    store: UserStore, clock: Clock
) -> None:
    _, browser = _browser(store, clock)
    assert store.browser_session_ended(browser.browser, "zhang") is None  # another tab, in use
    store.end_browser_session(browser.browser)
    assert store.browser_session_ended(browser.browser, "zhang") == SessionRefused("signed_out")
    # A copy of the cookie kept from before the sign-out is refused: the server ended it.
    assert store.resume_browser_session(browser.cookie) == SessionRefused("signed_out")


def test_a_browser_session_idle_in_every_tab_ends(store: UserStore, clock: Clock) -> None:
    _, browser = _browser(store, clock)
    clock.advance(auth.SESSION_IDLE - timedelta(seconds=1))
    assert store.browser_session_ended(browser.browser, "zhang") is None  # used: idle restarts
    clock.advance(auth.SESSION_IDLE - timedelta(seconds=1))
    assert not isinstance(store.resume_browser_session(browser.cookie), SessionRefused)
    clock.advance(auth.SESSION_IDLE + timedelta(seconds=1))
    assert store.resume_browser_session(browser.cookie) == SessionRefused("idle")
    # Once ended for idleness it stays ended.
    assert store.resume_browser_session(browser.cookie) == SessionRefused("signed_out")


def test_a_busy_browser_session_still_ends_at_the_absolute_limit(
    store: UserStore, clock: Clock
) -> None:
    _, browser = _browser(store, clock)
    for _ in range(int(auth.SESSION_ABSOLUTE / timedelta(minutes=20)) + 1):
        clock.advance(timedelta(minutes=20))
        store.browser_session_ended(browser.browser, "zhang")
    assert store.resume_browser_session(browser.cookie) == SessionRefused("expired")


def test_a_forged_or_swapped_cookie_is_refused(store: UserStore, clock: Clock) -> None:
    user, browser = _browser(store, clock)
    other = store.add("li", "city_supervisor", password=PASSWORD)
    theirs = store.open_browser_session(other, clock())
    # A changed character, a tab token in place of the cookie, a cookie in place of a tab token.
    flipped = browser.cookie[:-2] + ("A" if browser.cookie[-2] != "A" else "B") + browser.cookie[-1]
    assert store.resume_browser_session(flipped) == SessionRefused("tampered")
    assert store.resume_browser_session(store.issue_token(user)) == SessionRefused("tampered")
    assert store.verify_token(browser.cookie) == SessionRefused("tampered")
    assert store.resume_browser_session("") == SessionRefused("tampered")
    # Li's browser id under Zhang's name: the id's owner is checked.
    assert store.browser_session_ended(theirs.browser, "zhang") == SessionRefused("tampered")
    assert store.browser_session_ended("never-issued", "zhang") == SessionRefused("tampered")


def test_a_password_reset_or_a_disabled_account_ends_the_browser_session(
    store: UserStore, clock: Clock
) -> None:
    _, browser = _browser(store, clock)
    store.reset_password("zhang", "another long password")
    assert store.resume_browser_session(browser.cookie) == SessionRefused("stale")
    user = store.get("zhang")
    assert user is not None
    again = store.open_browser_session(user, clock())
    store.disable("zhang")
    assert store.resume_browser_session(again.cookie) == SessionRefused("disabled")
