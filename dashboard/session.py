"""Sign-in for the app: the form, the signed token kept in the session, the account box in the
sidebar, and the audit trail's entries for what a user does (docs/access.md).

The token (hmb.access.auth) lives in ``st.session_state``: it is verified on every rerun,
replaced by its refreshed copy, and dropped when refused (tampered, idle, expired, stale,
disabled). A sign-in also opens a browser session whose signed value the server puts in an
HttpOnly cookie (dashboard.cookie): a reload or a new tab resumes it, and a sign-out in any tab
ends it for every tab at its next step. When the server is configured for
a bureau's identity provider (``[auth]`` in .streamlit/secrets.toml), a user signed in through
``st.login`` is mapped to the account of the same name (their e-mail, else their subject).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import cookie
from dashboard.downloads import Grant, Request
from dashboard.i18n import Lang, t
from hmb.access import auth
from hmb.core.settings import settings
from hmb.state.audit import Action, AuditTrail, Origin, default_audit_store
from hmb.state.exports import exports_registered

TOKEN_KEY = "_auth_token"
USER_KEY = "_auth_user"
ENDED_KEY = "_auth_ended"  # why the last session ended, shown above the form
LAST_VIEW_KEY = "_audited_view"
GRANT_KEY = "_download_grant"  # what this session may download (dashboard.downloads)
BROWSER_KEY = "_browser_session"  # the browser session's id (hmb.access.auth, dashboard.cookie)
COOKIE_KEY = "_cookie_script"  # the cookie's script still to run in the page (set or clear)
MAX_ADDRESS_LENGTH = 64
MAX_AGENT_LENGTH = 256


def demo_allowed() -> bool:
    """Demo accounts work only while the app shows the embedded demo data: no HMB_DATA_DIR and
    no export registered (``hmb ingest``)."""
    return settings().data_dir is None and not exports_registered()


def users() -> auth.UserStore:
    return _user_store(str(auth.default_user_store()), demo_allowed())


def trail() -> AuditTrail:
    return _trail(str(default_audit_store()))


@st.cache_resource(show_spinner=False)
def _user_store(path: str, allow_demo: bool) -> auth.UserStore:
    store = auth.UserStore(Path(path), allow_demo=allow_demo)
    if allow_demo and store.ensure_demo_users():
        AuditTrail(Path(path).parent / default_audit_store().name).record(
            "demo_users_created", "system", "system",
            {"users": [name for name, _, _ in auth.DEMO_USERS]},
        )
    return store


@st.cache_resource(show_spinner=False)
def _trail(path: str) -> AuditTrail:
    return AuditTrail(Path(path))


def origin() -> Origin:
    """The client's address and browser as Streamlit reports them ("unknown" when it cannot),
    cut to a length the audit trail keeps: the browser chooses its User-Agent header.

    The address is the connection's peer; behind a reverse proxy it is the address the proxy
    puts in X-Forwarded-For, when the proxy's own address is trusted (docs/access.md).
    """
    try:
        ip: object = st.context.ip_address
        agent: object = st.context.headers.get("User-Agent")
    except (RuntimeError, AttributeError, KeyError):
        return Origin()
    # Through localhost Streamlit gives no address; a test harness may give no strings at all.
    return Origin(clip(ip, MAX_ADDRESS_LENGTH) if isinstance(ip, str) and ip else "unknown",
                  clip(agent, MAX_AGENT_LENGTH) if isinstance(agent, str) and agent
                  else "unknown")


def clip(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters, an ellipsis marking the cut."""
    return text if len(text) <= length else text[: length - 1] + "…"


def current_user() -> auth.User | None:
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, auth.User) else None


def record(action: Action, details: Mapping[str, Any] | None = None) -> None:
    """One audit event for the signed-in user of this session."""
    user = current_user()
    trail().record(action, user.username if user else "anonymous",
                   user.role if user else None, details, origin())


def signed_in() -> auth.User | None:
    """The user of this session after verifying (and refreshing) the token, else None."""
    store = users()
    token = st.session_state.get(TOKEN_KEY)
    if not isinstance(token, str):
        st.session_state.pop(USER_KEY, None)
        return _from_cookie(store) or _from_identity_provider(store)
    result: auth.Session | auth.SessionRefused = store.verify_token(token)
    browser = st.session_state.get(BROWSER_KEY)
    if isinstance(result, auth.Session) and isinstance(browser, str):
        # Signed out in another tab, or idle in all of them: this tab ends too.
        result = store.browser_session_ended(browser, result.user.username) or result
    if isinstance(result, auth.SessionRefused):
        user = current_user()
        trail().record("session_ended", user.username if user else "anonymous",
                       user.role if user else None, {"reason": result.reason}, origin())
        _end_browser_session(store)
        for key in (TOKEN_KEY, USER_KEY):
            st.session_state.pop(key, None)
        st.session_state[ENDED_KEY] = result.reason
        return None
    st.session_state[TOKEN_KEY] = result.token
    st.session_state[USER_KEY] = result.user
    grant = st.session_state.get(GRANT_KEY)
    if not (isinstance(grant, Grant) and grant.active
            and grant.username == result.user.username):
        st.session_state[GRANT_KEY] = Grant(result.user.username)
    return result.user


def download_request(action: Action, details: Mapping[str, Any]) -> Request | None:
    """What a download button drawn now needs to serve a click later for the signed-in user
    (dashboard.downloads); None when nobody is signed in."""
    token, grant = st.session_state.get(TOKEN_KEY), st.session_state.get(GRANT_KEY)
    if current_user() is None or not isinstance(token, str) or not isinstance(grant, Grant):
        return None
    return Request(grant, token, users(), trail(), action, dict(details), origin())


def _revoke_downloads() -> None:
    grant = st.session_state.pop(GRANT_KEY, None)
    if isinstance(grant, Grant):
        grant.revoke()


def _start(user: auth.User, how: str) -> None:
    _revoke_downloads()
    store = users()
    started = store.clock()
    st.session_state[TOKEN_KEY] = store.issue_token(user, started)
    st.session_state[USER_KEY] = user
    st.session_state[GRANT_KEY] = Grant(user.username)
    browser = store.open_browser_session(user, started)
    st.session_state[BROWSER_KEY] = browser.browser
    st.session_state[COOKIE_KEY] = cookie.set_script(cookie.issue_ticket(browser.cookie))
    st.session_state.pop(ENDED_KEY, None)
    st.session_state.pop(LAST_VIEW_KEY, None)
    record("sign_in", {"method": how, "demo": user.demo})


def _from_cookie(store: auth.UserStore) -> auth.User | None:
    """A reload or a new tab: the browser session its cookie names, if it still holds."""
    value = cookie.read()
    if value is None:
        return None
    resumed = store.resume_browser_session(value)
    if isinstance(resumed, auth.SessionRefused):
        if resumed.reason in ("idle", "expired", "stale", "disabled", "signed_out"):
            st.session_state.setdefault(ENDED_KEY, resumed.reason)
        st.session_state[COOKIE_KEY] = cookie.clear_script()  # a dead cookie is removed
        return None
    result, browser = resumed
    st.session_state[TOKEN_KEY] = result.token
    st.session_state[USER_KEY] = result.user
    st.session_state[GRANT_KEY] = Grant(result.user.username)
    st.session_state[BROWSER_KEY] = browser
    st.session_state.pop(ENDED_KEY, None)
    st.session_state.pop(LAST_VIEW_KEY, None)
    record("sign_in", {"method": "session_cookie", "demo": result.user.demo})
    return result.user


def _end_browser_session(store: auth.UserStore) -> None:
    """Forget this tab's downloads and browser session; end the latter for every tab."""
    _revoke_downloads()
    browser = st.session_state.pop(BROWSER_KEY, None)
    if isinstance(browser, str):
        store.end_browser_session(browser)
    st.session_state[COOKIE_KEY] = cookie.clear_script()


def run_cookie_script() -> None:
    """Run the cookie's pending script (set after a sign-in, clear after a sign-out) once."""
    script = st.session_state.pop(COOKIE_KEY, None)
    if isinstance(script, str):
        cookie.emit(script)


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError):
        return False


def _from_identity_provider(store: auth.UserStore) -> auth.User | None:
    """A user signed in through st.login, mapped to the account named by e-mail or subject."""
    if not oidc_configured() or not st.user.is_logged_in:
        return None
    identity = str(st.user.get("email") or st.user.get("sub") or "")
    user = store.get(identity) if identity else None
    if user is None or user.disabled or (user.demo and not store.allow_demo):
        if not st.session_state.get(ENDED_KEY):
            trail().record("sign_in_failed", identity or "unknown", None,
                           {"method": "oidc", "reason": "no_account"}, origin())
        st.session_state[ENDED_KEY] = "no_account"
        return None
    _start(user, "oidc")
    return user


def sign_in_page() -> None:
    """The only page a visitor who is not signed in can see."""
    lang = _lang()
    st.title(f"{t('app_title', lang)} · {t('sign_in', lang)}")
    ended = st.session_state.get(ENDED_KEY)
    if ended:
        st.info(t(f"ended_{ended}", lang))
    with st.form("sign_in"):
        username = st.text_input(t("username", lang), key="signin_username",
                                 max_chars=auth.MAX_USERNAME_LENGTH)
        password = st.text_input(t("password", lang), type="password", key="signin_password",
                                 max_chars=auth.MAX_PASSWORD_LENGTH)
        submitted = st.form_submit_button(t("sign_in", lang), type="primary")
    if submitted:
        _check_password(username, password, lang)
    if oidc_configured():
        st.divider()
        if st.button(t("sign_in_oidc", lang)):
            st.login()
    if demo_allowed():
        st.caption(t("demo_accounts_hint", lang).format(
            users=", ".join(name for name, _, _ in auth.DEMO_USERS),
            password=auth.DEMO_PASSWORD,
        ))


def _check_password(username: str, password: str, lang: Lang) -> None:
    """Sign in, or say why not. The browser caps what is typed, but a crafted request is not
    held to it: the store refuses oversized input before hashing and the audit trail keeps at
    most :data:`hmb.access.auth.MAX_USERNAME_LENGTH` characters of a name."""
    where = origin()
    result = users().authenticate(username, password, client=where.client_ip)
    if result.ok and result.user is not None:
        _start(result.user, "password")
        st.rerun()
    name = username.strip()
    who = clip(name, auth.MAX_USERNAME_LENGTH) or "anonymous"
    role = result.user.role if result.user else None
    details: dict[str, Any] = {"reason": result.outcome}
    if len(name) > auth.MAX_USERNAME_LENGTH:
        details["name_length"] = len(name)
    if result.retry_at is not None:
        details["retry_at"] = result.retry_at.isoformat()
    backed_off = result.retry_at is not None and result.outcome != "throttled"
    action: Action = "locked_out" if backed_off else "sign_in_failed"
    trail().record(action, who, role, details, where)
    if result.outcome == "throttled" and result.retry_at is not None:
        # Said the same way for every name, an account or not: it tells nobody which exist.
        wait = result.retry_at - users().clock()
        st.error(t("throttled", lang).format(minutes=max(1, math.ceil(wait.total_seconds() / 60))))
    elif result.outcome == "busy":
        st.error(t("busy", lang))
    else:
        # One message for a wrong password, an unknown name, a disabled account and input too
        # long for any account: the form does not tell a stranger which usernames exist.
        st.error(t("wrong_credentials", lang))


def sign_out() -> None:
    """The sidebar button's callback: audit, forget the token, leave the identity provider."""
    record("sign_out")
    # A file fetched before is deleted, a click on a button left is refused, and the browser
    # session ends in every tab.
    _end_browser_session(users())
    for key in (TOKEN_KEY, USER_KEY, LAST_VIEW_KEY):
        st.session_state.pop(key, None)
    st.session_state[ENDED_KEY] = "signed_out"


def account_box(user: auth.User, lang: Lang) -> None:
    """Who is signed in, with which role, and the sign-out button, at the foot of the sidebar."""
    st.sidebar.divider()
    demo = f" · {t('demo_account', lang)}" if user.demo else ""
    places = f" · {', '.join(user.counties)}" if user.counties else ""
    st.sidebar.caption(f"{t('signed_in_as', lang)} **{user.username}**{demo}\n\n"
                       f"{user.role_name(lang)}{places}")
    clicked = st.sidebar.button(t("sign_out", lang), key="sign_out", on_click=sign_out)
    if clicked and oidc_configured() and st.user.is_logged_in:
        st.logout()


def audit_view(page: str, filters: Mapping[str, Any]) -> None:
    """A page view with its filters, recorded once per distinct view (not on every rerun)."""
    seen = (page, tuple(sorted((k, str(v)) for k, v in filters.items())))
    if st.session_state.get(LAST_VIEW_KEY) == seen:
        return
    st.session_state[LAST_VIEW_KEY] = seen
    record("page_view", {"page": page, **filters})


def _lang() -> Lang:
    chosen = st.session_state.get("lang") or st.query_params.get("lang")
    return "en" if chosen == "en" else "zh"
