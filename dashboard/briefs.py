"""The meeting brief offered on the overview (docs/brief.md): made on the click, from the view
the signed-in user has (her scope, year, as-of date and language), and recorded in the audit
trail as an export with its figures, so the next brief can say what changed since."""

from __future__ import annotations

from collections.abc import Callable

from dashboard import session
from dashboard.view import View
from hmb.report import history
from hmb.report.brief import brief_content, make_brief, since_previous


def file_name(view: View) -> str:
    place = "all" if view.scope.counties is None else "-".join(sorted(view.scope.counties))
    return f"brief-{view.profile.name}-{view.year}-{place}-{view.as_of:%Y%m%d}.pdf"


def maker(view: View) -> Callable[[], bytes]:
    """What the button runs on the click: everything it needs is captured now, while the page
    is drawn (a click is served outside the script run)."""
    user = session.current_user()
    trail, origin = session.trail(), session.origin()
    name = file_name(view)

    def make() -> bytes:
        brief = brief_content(view.profile, view.dataset, view.as_of, view.year, view.scope,
                              lang=view.lang)
        brief = since_previous(brief, history.previous_brief(trail, brief.details))
        pdf = make_brief(brief)
        if user is not None:
            history.record_brief(trail, user.username, user.role, brief.details,
                                 file_name=name, origin=origin)
        return pdf

    return make
