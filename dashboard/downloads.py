"""Downloads made on the click, for the signed-in session only, and gone soon after.

Streamlit keeps the bytes given to ``st.download_button`` in its media store, at a ``/media/…``
address that any client fetches without a cookie, from the moment the page is drawn until a
later script run finds no session using them (over a minute on a quiet server): a county
supervisor's CSV stayed fetchable after she signed out and closed the browser, and nothing
recorded who fetched it.

So the buttons here are given a function, not bytes (Streamlit's deferred download): drawing a
page stores nothing. On a click the function checks that the session which drew the button is
still signed in (its :class:`Grant` not revoked by signing out, its token not refused), makes the
file, records the download in the audit trail, and has it deleted once the browser has had
:data:`FETCH_WINDOW` to fetch it. Signing out revokes the grant and deletes its files at once.

Streamlit offers no way to delete one stored file, only the media manager's
``remove_orphaned_files``, which deletes a download file that no session uses on its second pass
(the first marks it). A generated download is used by no session from the start, so two passes
:data:`FETCH_WINDOW` apart delete it, and delete another user's file only if it was already
there at the first pass, so it had :data:`FETCH_WINDOW` to be fetched too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamlit import runtime
from streamlit.runtime.media_file_manager import MediaFileManager

from hmb.access import auth
from hmb.state.audit import Action, AuditTrail, Origin

FETCH_WINDOW = 5.0  # seconds a browser has to fetch a file it asked for


class DownloadRefused(PermissionError):
    """A click on a button drawn for a session that has since ended."""


@dataclass
class Grant:
    """What one signed-in browser session may still download; revoked when she signs out or
    the session ends, which also deletes the files it made."""

    username: str
    active: bool = True
    managers: list[MediaFileManager] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def revoke(self) -> None:
        with self._lock:
            self.active = False
            managers, self.managers = self.managers, []
        for manager in managers:
            forget_now(manager)

    def made(self, manager: MediaFileManager) -> None:
        with self._lock:
            if all(m is not manager for m in self.managers):
                self.managers.append(manager)


@dataclass(frozen=True)
class Request:
    """Everything a click needs to make and record a file, captured when the button is drawn:
    the click is served outside the script run, where no session state can be read."""

    grant: Grant
    token: str
    users: auth.UserStore
    trail: AuditTrail
    action: Action
    details: dict[str, Any]
    origin: Origin


def on_click(request: Request, make: Callable[[], bytes]) -> Callable[[], bytes]:
    """The function Streamlit calls when the button is clicked."""
    manager = runtime.get_instance().media_file_mgr if runtime.exists() else None

    def generate() -> bytes:
        session = request.users.verify_token(request.token)
        if not request.grant.active or isinstance(session, auth.SessionRefused):
            raise DownloadRefused(f"the session of {request.grant.username} has ended")
        data = make()
        request.trail.record(request.action, session.user.username, session.user.role,
                             request.details, request.origin)
        if manager is not None:
            request.grant.made(manager)
            forget_later(manager)
        return data

    return generate


def forget_now(manager: MediaFileManager) -> None:
    """Delete every stored download that no session uses (two passes: mark, then delete)."""
    manager.remove_orphaned_files()
    manager.remove_orphaned_files()


def forget_later(manager: MediaFileManager) -> None:
    """Delete a download made now once the browser has had :data:`FETCH_WINDOW` to fetch it."""
    for passes in (1, 2):
        timer = threading.Timer(FETCH_WINDOW * passes, manager.remove_orphaned_files)
        timer.daemon = True
        timer.start()
