"""Every page of the app runs for every demo jurisdiction, and shows the engine's figures.

The app signs users in (docs/access.md): most tests sign in by putting a valid session token in
the session state, as the sign-in form does; the tests at the end drive the form itself and prove,
page by page and download by download, what each role sees, and what the audit trail records.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pypdf
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.testing.v1 import AppTest

import dashboard.downloads
from dashboard import alert_actions, session
from dashboard.app import ADMIN_PAGES, PAGES
from dashboard.session import TOKEN_KEY
from hmb.access import auth
from hmb.access.scoping import scope_for, scoped_connection
from hmb.core.counties import counties
from hmb.core.formatting import people, percent, wan_yuan, yuan
from hmb.core.settings import default_alert_store, settings
from hmb.ingest import member_links
from hmb.ingest.dataset import open_dataset
from hmb.judge.alerts import Scope, alert_id
from hmb.measure import metrics
from hmb.measure.development import DEFAULT_GRAIN, development
from hmb.measure.indicators import indicators
from hmb.rulebook.profiles import load_profile
from hmb.state.alert_store import AlertStore
from hmb.state.audit import AuditTrail, Origin
from hmb.tools.demo import DEMO_PROFILES, ensure_demo
from tests.builders import basic_insured_row, enrollment_row, write_folder

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
    # Validated as the app validates it: 三明 accepts members insured elsewhere (三（二）).
    dataset = open_dataset(folder, profile.liability_codes,
                           insured_elsewhere=profile.insured_elsewhere)
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


def test_the_development_page_says_each_year_and_the_overview_the_projection() -> None:
    profile = load_profile("hunan-2024")
    dataset = open_dataset(ensure_demo(profile.name, settings().demo_dir), profile.liability_codes)
    as_of = dataset.default_as_of
    assert as_of is not None
    with dataset.connect() as con:
        result = development(con, profile, as_of, DEFAULT_GRAIN)
    latest = result.origins[-1]
    assert latest.ibnr and latest.full_year_loss_ratio is not None  # the demo's year develops
    at = _app(profile.name)
    assert int(at.sidebar.selectbox[1].value) == latest.policy_year
    # Over the year's written premium: contract §5's ratio over the premium earned so far
    # would overstate a year in force.
    projected = percent(latest.full_year_loss_ratio, 1)
    if latest.policy_year == as_of.year:
        assert percent(latest.projected_loss_ratio, 1) != projected
    assert f"预计最终 {projected}" in " ".join(c.value for c in at.caption)
    at.switch_page("dashboard/app_pages/development.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert f"{latest.policy_year} 年度预计最终赔付率 {projected}" in text
    assert "仍在进展，为暂定预测" in text and "要求赔付率 85%" in text
    in_force = any("仍在保险期内" in c.value for c in at.caption)
    assert in_force == (latest.policy_year == as_of.year)
    assert "grain" not in at.query_params  # the default period is not written into the link


def test_the_url_selects_the_development_period() -> None:
    at = signed_in()
    at.query_params.update({"j": "sanming-2024", "grain": "quarter"})
    at.run()
    at.switch_page("dashboard/app_pages/development.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["grain"] == "quarter"
    assert at.query_params["grain"] == "quarter"
    # 三明 sets no payout floor: the page says so rather than drawing one.
    assert any("地方参数" in c.value for c in at.caption)


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
    """The download buttons the app drew, and what a click on each gives, as a browser gets it:
    Streamlit runs the button's function and stores the file at a /media/ address."""

    buttons: list[tuple[MediaFileManager, str, str]] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)  # files stored when a page was drawn
    _served_by: dict[str, MediaFileManager] = field(default_factory=dict)

    def click(self, file_name: str) -> str:
        """The address of the file the latest button for ``file_name`` makes."""
        manager, file_id, _ = next(b for b in reversed(self.buttons) if b[2] == file_name)
        url = manager.execute_deferred(file_id)
        self._served_by[url] = manager
        return url

    def served(self, url: str) -> bytes | None:
        """What fetching ``url`` gives, with no cookie: the file, or None (a 404)."""
        found = self._served_by[url].read_file(url.rsplit("/", 1)[-1])
        return None if found is None else found.content

    @property
    def files(self) -> list[tuple[str, bytes]]:
        """Every button clicked once: file name and bytes."""
        made = []
        for name in dict.fromkeys(name for _, _, name in self.buttons):
            content = self.served(self.click(name))
            assert content is not None, name
            made.append((name, content))
        return made


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    seen = Downloads()
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def stored(self: MediaFileManager, data: bytes | str, mimetype: str, coordinates: str, *,
               file_name: str | None = None, is_for_static_download: bool = False) -> str:
        if is_for_static_download:
            seen.stored.append(file_name or "")
        return add(self, data, mimetype, coordinates, file_name=file_name,
                   is_for_static_download=is_for_static_download)

    def deferred(self: MediaFileManager, data_callable: Any, mimetype: str | None,
                 coordinates: str, file_name: str | None = None, *,
                 element_id: str = "") -> str:
        file_id = add_deferred(self, data_callable, mimetype, coordinates, file_name,
                               element_id=element_id)
        seen.buttons.append((self, file_id, file_name or ""))
        return file_id

    monkeypatch.setattr(MediaFileManager, "add", stored)
    monkeypatch.setattr(MediaFileManager, "add_deferred", deferred)
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
        ("demo-county", {"overview", "participation", "claims", "development", "claims_audit",
                         "alerts", "data_quality", "rulebook"}),
        ("demo-finance", {"overview", "claims", "development", "claims_audit", "costs", "alerts",
                          "rulebook"}),
        ("demo-leader", {"overview", "participation", "claims", "development", "claims_audit",
                         "costs", "alerts", "rulebook"}),
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
    for name in ("overview", "participation", "claims", "development", "alerts", "data_quality",
                 "rulebook"):
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


def test_the_pages_show_the_indicators() -> None:
    profile = load_profile(SANMING)
    dataset = open_dataset(ensure_demo(SANMING, settings().demo_dir), profile.liability_codes,
                           insured_elsewhere=profile.insured_elsewhere)  # as the app opens it
    assert dataset.default_as_of is not None
    with member_links.connect(dataset) as con:
        figures = indicators(con, dataset.default_as_of)
    at = _app(SANMING)
    year = int(at.sidebar.selectbox[1].value)
    at.switch_page("dashboard/app_pages/participation.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    renewal = next(r for r in figures.renewal if (r.policy_year, r.county_code) == (year, None))
    account = next(r for r in figures.personal_account
                   if (r.policy_year, r.county_code) == (year, None))
    assert renewal.rate is not None and account.share is not None
    assert shown["续保率"] == percent(renewal.rate)
    assert shown["个人账户缴费占比"] == percent(account.share)
    at.switch_page("dashboard/app_pages/claims.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    paid = next(r for r in figures.claimants if r.policy_year == year)
    preexisting = next(r for r in figures.preexisting if r.policy_year == year)
    assert shown["赔付人数"] == people(paid.claimants)
    assert shown["人均赔付"] == yuan(paid.payout_per_claimant)
    assert shown["既往症人群赔付件数占比"] == percent(preexisting.claims_share)
    assert shown["既往症人群赔付金额占比"] == percent(preexisting.payout_share)
    one_stop = next(f.value for f in at.dataframe if "一站式结算件数占比" in f.value.columns)
    assert set(one_stop["保险责任"]) == {"全部责任", *(item.name_zh for item in
                                                   profile.liabilities)}


def test_a_county_supervisor_sees_her_own_renewal_rate_not_another_countys() -> None:
    profile = load_profile(SANMING)
    dataset = open_dataset(ensure_demo(SANMING, settings().demo_dir), profile.liability_codes)
    as_of = dataset.default_as_of
    assert as_of is not None
    with member_links.connect(dataset) as con:
        whole = indicators(con, as_of)
    with scoped_connection(dataset.store, scope_for("county_supervisor", [YOUXI])) as con:
        hers = indicators(con, as_of)
    at = signed_in("demo-county")
    at.query_params.update({"j": SANMING, "county": "350404"})  # another county, by URL
    at.run()
    year = int(at.sidebar.selectbox[1].value)
    at.switch_page("dashboard/app_pages/participation.py").run()
    assert not at.exception, [e.value for e in at.exception]
    rates = {r.county_code: r.rate for r in whole.renewal if r.policy_year == year}
    assert {r.county_code for r in hers.renewal} <= {None, YOUXI}
    own = next(r.rate for r in hers.renewal if (r.policy_year, r.county_code) == (year, None))
    assert own == rates[YOUXI] and own != rates["350404"] and own != rates[None]
    assert {m.label: m.value for m in at.metric}["续保率"] == percent(own)
    table = next(f.value for f in at.dataframe if "续保率" in f.value.columns)
    assert set(table["区划代码"].astype(str)) == {YOUXI}


def test_a_download_and_an_acknowledgement_are_audited(downloads: Downloads) -> None:
    at = signed_in("demo-county")
    at.query_params["j"] = SANMING
    at.run()
    at.switch_page("dashboard/app_pages/participation.py").run()
    assert any(b.key == "csv-participation" for b in at.get("download_button"))
    downloads.click(PARTICIPATION_CSV)
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


def test_an_alert_on_a_local_parameter_says_so_in_the_app() -> None:
    """温州's 5 % margin is the working group's, not the document's: the alerts table flags it,
    the alert says whose number it is, and the overview's summary carries the flag too."""
    at = _app("wenzhou-2021")
    at.switch_page("dashboard/app_pages/alerts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert "本地参数" in table.columns
    surplus = alert_id("wenzhou-2021", "excess_surplus", Scope(policy_year=2022))
    at.selectbox(key="alert").set_value(surplus).run()
    captions = "\n".join(c.value for c in at.caption)
    assert "本地参数（非文件规定）" in captions and "local parameter" in captions


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


def test_another_jurisdictions_rulebook_is_an_error_box_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """三明's data under 湖南's rulebook is refused in the app as on the command line."""
    folder = write_folder(tmp_path, basic_insured=[basic_insured_row("350404", 100)],
                          enrollment=[enrollment_row(county_code="350404")])
    monkeypatch.setenv("HMB_DATA_DIR", str(folder))
    monkeypatch.setenv("HMB_PROFILE", "hunan-2024")
    users = auth.UserStore()
    user = users.get("bureau-admin") or users.add(
        "bureau-admin", "admin", (), "a bureau's own long password"
    )
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[TOKEN_KEY] = users.issue_token(user)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(e.value for e in at.error)
    assert "湖南省" in shown and "350404" in shown and "basic_insured" in shown


PARTICIPATION_CSV = "participation_sanming-2024_2024.csv"


def test_a_download_is_made_on_click_for_the_signed_in_session_only(
        downloads: Downloads) -> None:
    """A county supervisor's CSV is not at a /media/ address before she clicks, is gone when she
    signs out, and a click on a button left on the page after that makes nothing."""
    at = signed_in("demo-county")
    at.query_params["j"] = SANMING
    at.run()
    at.switch_page("dashboard/app_pages/participation.py").run()
    assert not downloads.stored, downloads.stored  # drawing the page stored no file
    assert PARTICIPATION_CSV in {name for _, _, name in downloads.buttons}
    url = downloads.click(PARTICIPATION_CSV)
    content = downloads.served(url)
    assert content is not None and "尤溪县" in content.decode("utf-8-sig")
    event = _trail().read(actions=("download",))[-1]
    assert (event.username, event.details["file"]) == ("demo-county", PARTICIPATION_CSV)
    at.sidebar.button(key="sign_out").click().run()
    assert downloads.served(url) is None  # fetched without a cookie: 404
    with pytest.raises(MediaFileStorageError):
        downloads.click(PARTICIPATION_CSV)  # the button left on the page: nothing is made
    assert _trail().read(actions=("download",))[-1].seq == event.seq  # nothing made or recorded


def test_a_download_left_behind_is_deleted_once_fetched(downloads: Downloads,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser closed without signing out: the file still goes, once it could be fetched."""
    monkeypatch.setattr(dashboard.downloads, "FETCH_WINDOW", 0.05)
    at = signed_in("demo-city")
    at.query_params["j"] = SANMING
    at.run()
    at.switch_page("dashboard/app_pages/participation.py").run()
    url = downloads.click(PARTICIPATION_CSV)
    assert downloads.served(url) is not None
    deadline = time.monotonic() + 10
    while downloads.served(url) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert downloads.served(url) is None


def _form_errors(at: AppTest, username: str, password: str) -> list[str]:
    at.text_input(key="signin_username").set_value(username)
    at.text_input(key="signin_password").set_value(password)
    at.button[0].click().run()
    return [e.value for e in at.error]


@pytest.fixture
def fresh_failures() -> Iterator[None]:
    """The back-off counts failures per name and address: every form test here comes from the
    same (unknown) address, so each test starts and ends with none counted."""
    def forget() -> None:
        with sqlite3.connect(auth.default_user_store()) as con:
            con.execute("delete from sign_in_failures")
    auth.UserStore().ensure_demo_users()
    forget()
    yield
    forget()


@pytest.mark.usefixtures("fresh_failures")
def test_an_unknown_and_a_backed_off_account_get_the_same_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Failing again and again as the administrator reads exactly as failing as nobody does,
    and does not keep her out: she signs in from her own address."""
    answers = {}
    for name in ("demo-admin", "no-such-user"):
        at = AppTest.from_file(APP, default_timeout=180).run()
        answers[name] = [_form_errors(at, name, "not the password")
                         for _ in range(auth.FREE_ATTEMPTS + 2)]
    assert answers["demo-admin"] == answers["no-such-user"]
    assert answers["demo-admin"][0] == ["用户名或密码不正确。"]
    assert answers["demo-admin"][-1] == ["登录失败次数过多，请 1 分钟后再试。"]
    monkeypatch.setattr(session, "origin", lambda: Origin("10.20.0.15", "her browser"))
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert _form_errors(at, "demo-admin", auth.DEMO_PASSWORD) == []
    assert at.metric  # the overview


@pytest.mark.usefixtures("fresh_failures")
def test_a_huge_user_name_is_not_stored_whole() -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert _form_errors(at, "x" * 200_000, "p" * 5_000) == ["用户名或密码不正确。"]
    event = _trail().read(actions=("sign_in_failed",))[-1]
    assert event.username == "x" * auth.MAX_USERNAME_LENGTH
    assert len(json.dumps(event.details)) < 200


def test_an_overlong_comment_is_not_stored_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """The form keeps what it sends to MAX_COMMENT_LENGTH characters; a handler given more by
    another way refuses it."""
    _app(SANMING)  # the alerts of 三明 are recorded
    at = signed_in("demo-city")
    at.query_params["j"] = SANMING
    at.run()
    at.switch_page("dashboard/app_pages/alerts.py").run()
    at.text_area(key="ack_comment").set_value("长" * 50_000)
    next(b for b in at.button if b.label == "确认").click().run()
    assert not at.exception
    event = _trail().read(actions=("alert_ack",))[-1]
    assert len(event.details["comment"]) == alert_actions.MAX_COMMENT_LENGTH
    record = AlertStore(default_alert_store()).get(event.details["alert"])
    assert record is not None
    assert len(record.acknowledged_comment or "") == alert_actions.MAX_COMMENT_LENGTH

    users = auth.UserStore()
    monkeypatch.setattr(session, "current_user", lambda: users.require("demo-city"))
    monkeypatch.setattr(alert_actions.st, "error", lambda *a, **k: None)
    done = alert_actions.acknowledge(AlertStore(default_alert_store()), event.details["alert"],
                                     scope_for("city_supervisor", []), "长" * 2_001, lang="zh")
    assert not done
    refused = _trail().read(actions=("alert_refused",))[-1]
    assert refused.details["reason"] == "too_long" and refused.details["length"] == 2_001


@pytest.mark.parametrize(
    ("username", "role"),
    [("demo-admin", "admin"), ("demo-city", "city_supervisor"),
     ("demo-county", "county_supervisor"), ("demo-finance", "financial_regulator"),
     ("demo-leader", "leadership")],
)
def test_the_overview_offers_each_role_the_brief_of_its_scope(
        username: str, role: str, downloads: Downloads) -> None:
    at = signed_in(username)
    at.query_params["j"] = SANMING
    at.run()
    assert not at.exception
    assert any(b.key == "brief_download" for b in at.get("download_button"))
    name = next(n for _, _, n in downloads.buttons if n.startswith("brief-"))
    pdf = downloads.served(downloads.click(name))
    assert pdf is not None and pdf.startswith(b"%PDF")
    text = "".join("\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
                   .split())
    assert "工作专班简报" in text
    if role == "county_supervisor":
        assert "尤溪县" in text
        leaked = {other for other in OTHER_SANMING if other in text}
        assert not leaked, leaked
    else:
        assert "三元区" in text and "尤溪县" in text  # the whole city's ranking
    event = _trail().read(actions=("export",))[-1]
    assert (event.username, event.role) == (username, role)
    assert event.details["kind"] == "brief" and event.details["file"] == name
    assert event.details["counties"] == ([YOUXI] if role == "county_supervisor" else None)
