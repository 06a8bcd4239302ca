"""The session cookie: a reload, a new tab or a link opened from mail keeps the user signed in
(docs/access.md#the-session-cookie).

A Streamlit page cannot set a cookie itself, and a cookie set by a page script could be read by
any page script. So the server sets it: after a sign-in the session holds a one-time *ticket*
(random, :data:`TICKET_LIFETIME`), the page posts it once to the app's own route
:data:`SESSION_ROUTE` (:func:`routes`, served by ``streamlit_app.py``'s ``st.App``), and the
route answers with ``Set-Cookie: hmb_session=…; HttpOnly; SameSite=Strict; Path=/`` (``Secure``
behind HTTPS). The value is the signed browser session of hmb.access.auth: no page script can
read it, another site cannot send it, and the server can end it (sign-out in any tab ends it in
every tab; idle and absolute limits as for a tab's token). The browser sends it with the page's
WebSocket, where :func:`read` finds it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

COOKIE_NAME = "hmb_session"
SESSION_ROUTE = "/_hmb/session"
END_ROUTE = "/_hmb/session/end"
TICKET_LIFETIME = 60.0  # seconds between the sign-in and the page posting its ticket
MAX_TICKET_LENGTH = 64
MAX_AGE = 8 * 3600  # the cookie's own lifetime: hmb.access.auth.SESSION_ABSOLUTE

_tickets: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()


def issue_ticket(cookie_value: str) -> str:
    """A one-time ticket the page exchanges for the cookie ``cookie_value``."""
    ticket = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        for old in [k for k, (_, until) in _tickets.items() if until < now]:
            del _tickets[old]
        _tickets[ticket] = (cookie_value, now + TICKET_LIFETIME)
    return ticket


def redeem(ticket: str) -> str | None:
    """The cookie value of ``ticket``, once; None when unknown, used or expired."""
    if not ticket or len(ticket) > MAX_TICKET_LENGTH:
        return None
    with _lock:
        found = _tickets.pop(ticket, None)
    if found is None or found[1] < time.monotonic():
        return None
    return found[0]


def read() -> str | None:
    """The cookie the browser sent with this session's connection, if any."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except (RuntimeError, AttributeError, KeyError):
        return None
    return value if isinstance(value, str) and value else None


def _base_path() -> str:
    from streamlit import config  # noqa: PLC0415 (read when the routes are made)

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def set_script(ticket: str) -> str:
    """The page's part: post the ticket once to the server's route (same origin only)."""
    url = json.dumps(_base_path() + SESSION_ROUTE)
    return _script(f"fetch({url}, {{method: 'POST', credentials: 'same-origin',"
                   f" headers: {{'Content-Type': 'text/plain'}}, body: {json.dumps(ticket)}}})")


def clear_script() -> str:
    url = json.dumps(_base_path() + END_ROUTE)
    return _script(f"fetch({url}, {{method: 'POST', credentials: 'same-origin'}})")


def _script(call: str) -> str:
    return f"<script>{call}.catch(function () {{}});</script>"


def emit(html: str) -> None:
    """Run ``html``'s script in an invisible frame of the page."""
    import streamlit.components.v1 as components  # noqa: PLC0415

    components.html(html, height=0)


# -- the server's routes -------------------------------------------------------------------------


def routes() -> list[BaseRoute]:
    """The two routes ``st.App`` serves beside Streamlit's own."""
    from starlette.routing import Route  # noqa: PLC0415 (only the server needs Starlette)

    base = _base_path()
    return [
        Route(base + SESSION_ROUTE, _set_cookie, methods=["POST"]),
        Route(base + END_ROUTE, _clear_cookie, methods=["POST"]),
    ]


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


async def _set_cookie(request: Request) -> Response:
    from starlette.responses import Response  # noqa: PLC0415

    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return Response(status_code=403)
    body = (await request.body())[: MAX_TICKET_LENGTH + 1]
    value = redeem(body.decode("ascii", errors="replace").strip())
    if value is None:
        return Response(status_code=403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE_NAME, value, max_age=MAX_AGE, path="/", httponly=True,
                        samesite="strict", secure=_secure(request))
    return response


async def _clear_cookie(request: Request) -> Response:
    from starlette.responses import Response  # noqa: PLC0415

    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict",
                           secure=_secure(request))
    return response
