"""Every page of the app runs for every demo jurisdiction, and shows the engine's figures.

The app signs users in (docs/access.md): most tests sign in by putting a valid session token in
the session state, as the sign-in form does; the tests at the end drive the form itself and prove,
page by page and download by download, what each role sees, and what the audit trail records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from dashboard import alert_actions, session
from dashboard.app import ADMIN_PAGES, PAGES
from dashboard.session import TOKEN_KEY
from hmb.access import auth
from hmb.access.scoping import scope_for
from hmb.core.counties import counties
from hmb.core.formatting import percent, wan_yuan
from hmb.core.settings import default_alert_store, settings
from hmb.ingest.dataset import open_dataset
from hmb.measure import metrics
from hmb.rulebook.profiles import load_profile
from hmb.state.alert_store import AlertStore
from hmb.state.audit import AuditTrail
from hmb.tools.demo import DEMO_PROFILES, ensure_demo

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def signed_in(username: str = "demo-admin") -> AppTest:
    """The app with ``username`` (a demo account) signed in, not yet run."""
    users = auth.UserStore()
    users.ensure_demo_users()
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[TOKEN_KEY] = users.issue_token(users.require(username))
    return at


def _app(profile: str, lang: str = "zh") -> AppTest:
    at = signed_in()
    at.query_params["j"] = profile
    at.query_params["lang"] = lang
    return at.run()


@pytest.mark.parametrize("profile", DEMO_PROFILES)
@pytest.mark.parametrize("page", [name for name, _, _ in (*PAGES, *ADMIN_PAGES)])
def test_every_page_runs_for_every_jurisdiction(profile: str, page: str) -> None:
    at = _app(profile)
    assert not at.exception, at.exception
    at.switch_page(f"dashboard/app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_the_overview_shows_the_engine_figures() -> None:
    profile = load_profile("sanming-2024")
    folder = ensure_demo(profile.name, settings().demo_dir)
    dataset = open_dataset(folder, profile.liability_codes)
    as_of = dataset.default_as_of
    assert as_of is not None
    with dataset.connect() as con:
        part = metrics.participation(con, as_of)
        fin = metrics.finance(con, profile, as_of)
    at = _app(profile.name)
    year = int(at.sidebar.selectbox[1].value)
    whole = part.filter((pl.col("policy_year") == year) & pl.col("county_code").is_null())
    total = fin.filter((pl.col("policy_year") == year) & pl.col("insurer_id").is_null())
    shown = {m.label: m.value for m in at.metric}
    assert shown["参保率"] == percent(whole["rate"][0])
    assert shown["签单保费"] == wan_yuan(total["written_premium"][0])
    assert shown["赔付率"] == percent(total["loss_ratio"][0])


def test_english_switch_translates_the_labels() -> None:
    at = _app("hunan-2024", lang="en")
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert "Loss ratio" in labels and "赔付率" not in labels


def test_the_url_selects_year_and_county() -> None:
    at = signed_in()
    at.query_params.update({"j": "sanming-2024", "year": "2023", "county": "350426"})
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox[1].value == 2023
    assert at.sidebar.selectbox[2].value == "350426"


@pytest.mark.parametrize(
    "params",
    [
        # The 2024 campaign in progress: 2024 has premium written but nothing earned or paid.
        {"j": "sanming-2024", "as_of": "2023-12-10", "year": "2024"},
        # Before any enrolment of the first year: empty frames everywhere.
        {"j": "nantong-2021", "as_of": "2020-06-30"},
        # One county, in English.
        {"j": "wenzhou-2021", "county": "330327", "lang": "en"},
    ],
    ids=["campaign", "before-any-data", "county-english"],
)
@pytest.mark.parametrize("page", [name for name, _, _ in PAGES])
def test_edge_views_show_empty_states_not_errors(params: dict[str, str], page: str) -> None:
    at = signed_in()
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(f"dashboard/app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]


# -- sign-in, roles and scoping ----------------------------------------------------------------

YOUXI = "350426"  # 尤溪县: demo-county's only county, in 三明
SANMING = "sanming-2024"
OTHER_SANMING = {c.name_zh for c in counties("350400") if c.code != YOUXI} | {
    c.code for c in counties("350400") if c.code != YOUXI}


@dataclass
class Downloads:
    """Every file the app offered for download during a run: name and bytes."""

    files: list[tuple[str, bytes]] = field(default_factory=list)


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    seen = Downloads()
    original = MediaFileManager.add

    def add(self: MediaFileManager, data: bytes | str, mimetype: str, coordinates: str, *,
            file_name: str | None = None, is_for_static_download: bool = False) -> str:
        if is_for_static_download:
            seen.files.append((file_name or "", data if isinstance(data, bytes)
                               else data.encode()))
        return original(self, data, mimetype, coordinates, file_name=file_name,
                        is_for_static_download=is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", add)
    return seen


def _trail() -> AuditTrail:
    return AuditTrail()


def _texts(at: AppTest) -> list[str]:
    """Everything written on the page and in the sidebar, tables included."""
    texts = [str(e.value) for kind in ("title", "header", "subheader", "markdown", "caption",
                                       "info", "success", "warning", "error")
             for e in at.get(kind)]
    texts += [f"{m.label} {m.value}" for m in at.metric]
    texts += [" ".join(map(str, box.options)) for box in at.selectbox]
    for frame in at.dataframe:
        texts.append(frame.value.to_csv(index=False))
    return texts


def _sign_in_by_form(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    return at.button[0].click().run()


def test_a_visitor_sees_only_the_sign_in_form() -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"j": SANMING, "county": YOUXI})
    at.run()
    assert not at.exception
    assert [e.value for e in at.title] == ["惠民保监测 · 登录"]
    assert not at.metric and not at.dataframe and not at.sidebar.selectbox
    assert [i.key for i in at.text_input] == ["signin_username", "signin_password"]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("dashboard/app_pages/participation.py")


def test_signing_in_wrong_then_right_is_audited() -> None:
    auth.UserStore().ensure_demo_users()
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["j"] = SANMING
    at.run()
    _sign_in_by_form(at, "demo-county", "not the password")
    assert [e.value for e in at.error] == ["用户名或密码不正确。"]
    assert not at.metric
    _sign_in_by_form(at, "demo-county", auth.DEMO_PASSWORD)
    assert not at.exception and not at.error
    assert at.metric  # the overview
    events = _trail().read(username="demo-county")
    assert [e.action for e in events[-3:]] == ["sign_in_failed", "sign_in", "page_view"]
    assert events[-3].details == {"reason": "wrong_password"}
    assert events[-1].details["page"] == "overview" and events[-1].details["j"] == SANMING
    at.sidebar.button(key="sign_out").click().run()
    assert [e.value for e in at.title] == ["惠民保监测 · 登录"]
    assert _trail().read(username="demo-county")[-1].action == "sign_out"


def test_a_tampered_token_signs_out() -> None:
    at = signed_in("demo-county")
    token = at.session_state[TOKEN_KEY]
    at.session_state[TOKEN_KEY] = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    at.run()
    assert [e.value for e in at.title] == ["惠民保监测 · 登录"]
    assert not at.metric
    assert _trail().read(actions=("session_ended",))[-1].details == {"reason": "tampered"}


@pytest.mark.parametrize(
    ("role_user", "expected"),
    [
        ("demo-county", {"overview", "participation", "claims", "alerts", "data_quality",
                         "rulebook"}),
        ("demo-finance", {"overview", "claims", "costs", "alerts", "rulebook"}),
        ("demo-leader", {"overview", "participation", "claims", "costs", "alerts", "rulebook"}),
        ("demo-city", {name for name, _, _ in PAGES}),
        ("demo-admin", {name for name, _, _ in (*PAGES, *ADMIN_PAGES)}),
    ],
)
def test_each_role_is_offered_its_pages_only(role_user: str, expected: set[str]) -> None:
    at = signed_in(role_user)
    at.query_params["j"] = SANMING
    at.run()
    assert not at.exception
    for name, _, _ in (*PAGES, *ADMIN_PAGES):
        if name in expected:
            at.switch_page(f"dashboard/app_pages/{name}.py").run()
            assert not at.exception, (name, [e.value for e in at.exception])
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"dashboard/app_pages/{name}.py")


@pytest.mark.parametrize(
    "params",
    [
        {"j": SANMING},
        {"j": SANMING, "county": "350404"},  # 三元区: another county of 三明, by URL
        {"j": "hunan-2024", "county": "430102"},  # a jurisdiction she has no county in
        {"j": SANMING, "county": "350404", "lang": "en"},
    ],
    ids=["own", "other-county", "other-jurisdiction", "other-county-english"],
)
def test_a_county_supervisor_sees_her_county_only(params: dict[str, str],
                                                  downloads: Downloads) -> None:
    at = signed_in("demo-county")
    at.query_params.update(params)
    at.run()
    assert not at.exception
    j, _year, county = at.sidebar.selectbox
    assert j.options in (["三明市 · 演示数据"], ["Sanming · demo"])
    assert county.value in ("", YOUXI)
    assert set(county.options) <= {"全部", "All", f"尤溪县 {YOUXI}"}
    for name in ("overview", "participation", "claims", "alerts", "data_quality", "rulebook"):
        at.switch_page(f"dashboard/app_pages/{name}.py").run()
        assert not at.exception, (name, [e.value for e in at.exception])
        for text in _texts(at):
            leaked = {other for other in OTHER_SANMING if other in text}
            assert not leaked, (name, leaked, text[:300])
        for frame in at.dataframe:
            shown = frame.value
            for column in ("区划代码", "County code"):
                if column in shown.columns:
                    assert set(shown[column].astype(str)) <= {YOUXI}, name
        if name == "participation":
            assert participation_figure(at) == [YOUXI]  # no other county drawn
    assert downloads.files, "every table offers downloads"
    for file_name, data in downloads.files:
        if file_name.endswith(".csv"):
            text = data.decode("utf-8-sig")
            leaked = {other for other in OTHER_SANMING if other in text}
            assert not leaked, (file_name, leaked)


def participation_figure(at: AppTest) -> list[str] | None:
    """The county codes drawn on the participation map (AppTest cannot look inside charts: the
    figure's JSON is in the element's proto)."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            if trace.get("type") == "choroplethmap":
                return [str(code) for code in trace.get("locations", [])]
    return None


def test_a_download_and_an_acknowledgement_are_audited() -> None:
    at = signed_in("demo-county")
    at.query_params["j"] = SANMING
    at.run()
    at.switch_page("dashboard/app_pages/participation.py").run()
    button = next(b for b in at.get("download_button") if b.key == "csv-participation")
    button.click().run()
    event = _trail().read(actions=("download",))[-1]
    assert (event.username, event.role) == ("demo-county", "county_supervisor")
    assert event.details["file"].endswith(".csv") and event.details["rows"] >= 1
    assert event.details["page"] == "participation"

    at.switch_page("dashboard/app_pages/alerts.py").run()
    assert not at.exception
    assert at.text_area(key="ack_comment")  # she may act on her county's alerts
    at.text_area(key="ack_comment").input("已督促县医保局")
    next(b for b in at.button if b.label == "确认").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    event = _trail().read(actions=("alert_ack",))[-1]
    assert event.username == "demo-county" and event.details["comment"] == "已督促县医保局"
    store = AlertStore(default_alert_store())
    record = store.get(event.details["alert"])
    assert record is not None and record.scope.county_code == YOUXI
    assert record.acknowledged_by == "demo-county"
    views = _trail().read(username="demo-county", actions=("page_view",))
    assert {v.details["page"] for v in views} >= {"overview", "participation", "alerts"}


def test_leadership_reads_alerts_but_cannot_act() -> None:
    at = signed_in("demo-leader")
    at.query_params["j"] = SANMING
    at.run()
    at.switch_page("dashboard/app_pages/alerts.py").run()
    assert not at.exception
    assert not at.text_area and not at.get("form")
    assert "只读：您的角色不能确认或豁免该预警。" in [c.value for c in at.caption]


def test_the_server_refuses_an_action_the_role_may_not_take(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler checks again against the stored alert, whatever the page showed."""
    _app(SANMING)  # the alerts of 三明 are recorded
    store = AlertStore(default_alert_store())
    users = auth.UserStore()
    users.ensure_demo_users()
    record = next(r for r in store.list(SANMING) if r.scope.county_code not in (None, YOUXI))
    monkeypatch.setattr(session, "current_user", lambda: users.require("demo-county"))
    monkeypatch.setattr(alert_actions.st, "error", lambda *a, **k: None)
    done = alert_actions.acknowledge(store, record.id, scope_for("county_supervisor", [YOUXI]),
                                     "x", lang="zh")
    assert not done
    assert store.get(record.id).acknowledged_by != "demo-county"  # type: ignore[union-attr]
    assert _trail().read(actions=("alert_refused",))[-1].details["alert"] == record.id


def test_the_administrator_reads_and_exports_the_audit_trail(downloads: Downloads) -> None:
    at = signed_in("demo-admin")
    at.query_params["j"] = SANMING
    at.run()
    at.switch_page("dashboard/app_pages/audit.py").run()
    assert not at.exception
    trail, users = at.dataframe
    assert {"sign_in", "page_view"} <= set(trail.value["action"])
    assert "demo-county" in set(users.value["username"])
    exported = [data for name, data in downloads.files if name == "audit_trail.csv"]
    assert exported and b"page_view" in exported[-1]
    at.get("download_button")[0].click().run()
    assert _trail().read(actions=("export",))[-1].details["file"] == "audit_trail.csv"


# -- the rulebook of the app's own data folder -------------------------------------------------


@pytest.mark.parametrize(
    "profile", ["/etc/passwd", "../rulebooks/sanming-2024", "data/rulebooks/sanming-2024.toml"]
)
def test_a_rulebook_named_by_path_in_the_settings_is_an_error_box_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, profile: str
) -> None:
    """HMB_PROFILE names a shipped rulebook; a path is refused, said in the app, and the
    jurisdictions that can be shown still are."""
    monkeypatch.setenv("HMB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HMB_PROFILE", profile)
    users = auth.UserStore()
    user = users.get("bureau-admin") or users.add(
        "bureau-admin", "admin", (), "a bureau's own long password"
    )
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[TOKEN_KEY] = users.issue_token(user)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(e.value for e in at.error)
    assert "HMB_PROFILE" in shown and "sanming-2024" in shown
    assert at.sidebar.selectbox[0].value == DEMO_PROFILES[0]  # the demos are still there
