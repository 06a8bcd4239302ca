"""The session cookie's server side (dashboard.cookie): a one-time ticket exchanged for an
HttpOnly, SameSite=Strict cookie, and nothing else."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from starlette.requests import Request
from starlette.routing import Route

from dashboard import cookie


def _post(path: str, body: bytes = b"", headers: dict[str, str] | None = None,
          scheme: str = "http") -> Any:
    """Call the route at ``path`` as the server would, and return its response."""
    route = next(r for r in cookie.routes() if isinstance(r, Route) and r.path == path)
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": path, "scheme": scheme,
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
             "query_string": b"", "server": ("testserver", 80), "root_path": ""}
    # In a thread of its own: a browser test earlier in the run may leave an event loop running
    # in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, route.endpoint(Request(scope, receive))).result()


def _set_cookie(response: Any) -> str:
    return str(response.headers.get("set-cookie", ""))


def test_a_ticket_buys_an_http_only_strict_cookie_once() -> None:
    ticket = cookie.issue_ticket("signed-value")
    response = _post(cookie.SESSION_ROUTE, ticket.encode())
    assert response.status_code == 204
    header = _set_cookie(response)
    assert header.startswith("hmb_session=signed-value;")
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/" in header
    assert "Secure" not in header  # plain HTTP on the machine itself
    assert response.headers["cache-control"] == "no-store"
    again = _post(cookie.SESSION_ROUTE, ticket.encode())  # replayed
    assert again.status_code == 403 and not _set_cookie(again)


def test_behind_https_the_cookie_is_secure() -> None:
    for headers, scheme in (({"X-Forwarded-Proto": "https"}, "http"), ({}, "https")):
        response = _post(cookie.SESSION_ROUTE, cookie.issue_ticket("v").encode(), headers,
                         scheme)
        assert "Secure" in _set_cookie(response)


@pytest.mark.parametrize("body", [b"", b"not-a-ticket", b"x" * 10_000, "票".encode(),
                                  b"\xff\xfe\x00"])
def test_anything_but_a_live_ticket_gets_no_cookie(body: bytes) -> None:
    response = _post(cookie.SESSION_ROUTE, body)
    assert response.status_code == 403 and not _set_cookie(response)


def test_an_expired_ticket_gets_no_cookie(monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = cookie.issue_ticket("v")
    later = cookie.time.monotonic() + cookie.TICKET_LIFETIME + 1
    monkeypatch.setattr(cookie.time, "monotonic", lambda: later)
    assert _post(cookie.SESSION_ROUTE, ticket.encode()).status_code == 403


def test_another_site_cannot_post_a_ticket() -> None:
    ticket = cookie.issue_ticket("v")
    response = _post(cookie.SESSION_ROUTE, ticket.encode(), {"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    # The ticket is still good for the page it was meant for.
    assert _post(cookie.SESSION_ROUTE, ticket.encode()).status_code == 204


def test_the_end_route_only_removes_the_cookie() -> None:
    response = _post(cookie.END_ROUTE)
    assert response.status_code == 204
    header = _set_cookie(response)
    assert header.startswith('hmb_session="";') and "Max-Age=0" in header


def test_the_scripts_post_to_the_app_s_own_routes_only() -> None:
    ticket = cookie.issue_ticket("v")
    script = cookie.set_script(ticket)
    assert '"/_hmb/session"' in script and f'"{ticket}"' in script
    assert "credentials: 'same-origin'" in script and "document.cookie" not in script
    assert '"/_hmb/session/end"' in cookie.clear_script()
