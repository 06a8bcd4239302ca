"""The app as a user sees it: signing in through the form (a county supervisor then sees her
county only, on the map and in the tables), every page through the top navigation and by direct
link, the sidebar kept in the URL, acknowledging an alert, a CSV download, the English switch
and a deep link. Every page load is a new session, so each one signs in (demo accounts). Each
page is saved as a screenshot in tests/artifacts/ (and, with HMB_UPDATE_SCREENSHOTS=1,
in docs/screenshots/ for docs/app.md).

Waits are on the app being idle (the script finished, nothing stale, charts drawn), never on a
fixed sleep; every wait is bounded.
"""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Locator, Page, expect

from dashboard.app import PAGES
from dashboard.data import Source
from dashboard.i18n import LANGS, Lang, t
from hmb.access.auth import DEMO_PASSWORD
from hmb.core.counties import counties, county_name
from hmb.core.labels import label
from hmb.core.paths import PROJECT_ROOT
from hmb.rulebook.profiles import load_profile

pytestmark = pytest.mark.browser

SANMING = "sanming-2024"
HUNAN = "hunan-2024"
YOUXI = "350426"  # 尤溪县, a county of 三明
PAGE_NAMES = [name for name, _, _ in PAGES]
TITLE_KEYS = {name: label for name, label, _ in PAGES}
ARTIFACTS_DIR = PROJECT_ROOT / "tests" / "artifacts"  # gitignored
SCREENSHOTS_DIR = PROJECT_ROOT / "docs" / "screenshots"  # shown in docs/app.md
VIEWPORT_W = 1600  # the context is 1600×1100 (conftest)
IDLE_TIMEOUT_MS = 60_000
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# Anything not served by the app itself: a bureau's network is closed, so is the test's.
EXTERNAL = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)[:/])[a-z]+://")

# Idle: the script has finished, the connection is up, no element is left stale from the run
# before, every Plotly chart has drawn; and all of it held for a short quiet period, so a rerun
# that a click has only just requested is not mistaken for the end of the last one.
_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  const idle = !!app
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]')
    && charts.every(c => c.querySelector('.main-svg'));
  const now = performance.now();
  if (!idle) { window.__hmbIdleSince = undefined; return false; }
  if (window.__hmbIdleSince === undefined) { window.__hmbIdleSince = now; }
  return now - window.__hmbIdleSince >= 400;
}"""


@pytest.fixture(autouse=True)
def _offline_and_no_script_errors(page: Page) -> Iterator[None]:
    """Requests leaving the machine are refused; an uncaught JavaScript error fails the test."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.context.route(EXTERNAL, lambda route: route.abort())
    page.set_default_timeout(30_000)
    yield
    assert not errors, f"JavaScript errors in the page: {errors}"


def wait_idle(page: Page) -> None:
    page.evaluate("window.__hmbIdleSince = undefined")
    page.wait_for_function(_IDLE_JS, polling=100, timeout=IDLE_TIMEOUT_MS)


def open_app(page: Page, path: str = "/", user: str = "demo-city", **params: str) -> None:
    """Open ``path?params``, signing in as ``user`` on the form it shows first; the address
    (path and query) survives signing in."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page.goto(f"{path}?{query}" if query else path)
    wait_idle(page)
    sign_in(page, user)


def sign_in(page: Page, user: str, password: str = DEMO_PASSWORD) -> None:
    form = page.get_by_test_id("stForm")
    expect(page.get_by_test_id("stMain").locator("h1").first).to_contain_text("登录")
    form.locator(".st-key-signin_username input").fill(user)
    form.locator(".st-key-signin_password input").fill(password)
    form.get_by_role("button", name="登录").click()
    wait_idle(page)
    expect(page.locator(".st-key-sign_out")).to_be_visible()
    session_cookie(page)  # the page has exchanged its ticket: a reload stays signed in


def session_cookie(page: Page) -> dict[str, Any]:
    """The session cookie of the page's browser, once the server has set it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [c for c in page.context.cookies() if c["name"] == "hmb_session"]
        if found:
            return dict(found[0])
        time.sleep(0.1)
    raise AssertionError("no session cookie 10 s after signing in")


def goto(page: Page, path: str = "/", **params: str) -> None:
    """Open ``path?params`` in a browser that is signed in already (the session cookie)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page.goto(f"{path}?{query}" if query else path)
    wait_idle(page)
    expect(page.locator(".st-key-sign_out")).to_be_visible()


def query(page: Page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def heading(page: Page) -> Locator:
    return page.get_by_test_id("stMain").locator("h1").first


def expected_title(name: str, lang: Lang = "zh", profile: str = SANMING) -> str:
    if name == "overview":
        place = load_profile(profile).jurisdiction
        return place.name_zh if lang == "zh" else place.name_en
    return t(TITLE_KEYS[name], lang)


def assert_page_ok(page: Page, name: str, lang: Lang = "zh", profile: str = SANMING) -> None:
    errors = page.locator(ERRORS)
    assert errors.count() == 0, f"{name}: {errors.all_inner_texts()}"
    expect(heading(page)).to_contain_text(expected_title(name, lang, profile))


def sidebar_select(page: Page, key: str, option: str) -> None:
    """Pick ``option`` (its shown text) in the sidebar selectbox with widget key ``key``."""
    selectbox(page, key).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def selectbox(page: Page, key: str) -> Locator:
    """The input of the selectbox with widget key ``key``; its value is the option shown."""
    return page.locator(f".st-key-{key}").get_by_role("combobox")


def cells(grid: Locator, *texts: str) -> Locator:
    """The cells of a dataframe showing exactly one of ``texts``. The grid is drawn on a canvas;
    its accessible table (inside the canvas, so never "visible") holds the rows it has drawn,
    which is why the grid is scrolled into view first."""
    grid.scroll_into_view_if_needed()
    exact = re.compile("^(" + "|".join(re.escape(text) for text in texts) + ")$")
    return grid.locator('[role="gridcell"]', has_text=exact)


def screenshot(page: Page, name: str) -> None:
    page.evaluate("document.fonts.ready.then(() => true)")
    page.mouse.move(VIEWPORT_W - 4, 600)  # over the empty right margin: no hover effect
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    image = page.screenshot(animations="disabled", caret="hide")
    (ARTIFACTS_DIR / f"{name}.png").write_bytes(image)
    # The pictures of docs/app.md are refreshed on request only, so a test run never dirties git:
    # HMB_UPDATE_SCREENSHOTS=1 uv run pytest tests/browser
    if os.environ.get("HMB_UPDATE_SCREENSHOTS"):
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS_DIR / f"{name}.png").write_bytes(image)


def nav_link(page: Page, title: str) -> Locator:
    """The navigation link titled exactly ``title`` ("Claims", not "Claims development")."""
    return page.get_by_test_id("stTopNavLink").and_(page.get_by_role("link", name=title,
                                                                     exact=True))


def test_every_page_by_navigation_and_by_url(page: Page) -> None:
    open_app(page, j=SANMING)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    assert page.get_by_test_id("stMetric").count() >= 8
    assert_page_ok(page, "overview")
    assert query(page)["j"] == SANMING
    view = query(page)  # the view the sidebar settled on, kept while moving between pages

    links = page.get_by_test_id("stTopNavLink")
    assert links.count() == len(PAGE_NAMES)
    for name in [*PAGE_NAMES[1:], PAGE_NAMES[0]]:
        nav_link(page, t(TITLE_KEYS[name], "zh")).click()
        expect(page).to_have_url(re.compile(rf"/{'' if name == 'overview' else name}\?"))
        wait_idle(page)
        assert_page_ok(page, name)
        assert query(page) == view, name
        screenshot(page, name)

    for name in PAGE_NAMES:  # typed into the address bar: still signed in
        goto(page, "/" if name == "overview" else f"/{name}", **view)
        assert_page_ok(page, name)
        assert urlparse(page.url).path == ("/" if name == "overview" else f"/{name}")
        assert query(page) == view, name


def test_sidebar_jurisdiction_and_county_are_kept_in_the_url(page: Page) -> None:
    open_app(page, j=SANMING)
    hunan = load_profile(HUNAN).jurisdiction.name_zh
    sidebar_select(page, "j", Source(HUNAN, HUNAN, None).label("zh"))  # 湖南省 · 演示数据
    expect(page).to_have_url(re.compile(rf"[?&]j={HUNAN}(&|$)"))
    expect(selectbox(page, "j")).to_have_value(Source(HUNAN, HUNAN, None).label("zh"))
    expect(heading(page)).to_contain_text(hunan)
    assert_page_ok(page, "overview", profile=HUNAN)

    sidebar_select(page, "j", Source(SANMING, SANMING, None).label("zh"))
    expect(page).to_have_url(re.compile(rf"[?&]j={SANMING}(&|$)"))
    expect(heading(page)).to_contain_text(expected_title("overview"))
    youxi = county_name(YOUXI)
    assert youxi == "尤溪县"
    sidebar_select(page, "county", f"{youxi} {YOUXI}")
    expect(page).to_have_url(re.compile(rf"[?&]county={YOUXI}(&|$)"))
    expect(selectbox(page, "county")).to_have_value(f"{youxi} {YOUXI}")

    nav_link(page, t("page_participation", "zh")).click()
    expect(page).to_have_url(re.compile(r"/participation\?"))
    wait_idle(page)
    assert_page_ok(page, "participation")
    assert query(page)["county"] == YOUXI
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name=t("county_detail", "zh"))).to_be_visible()
    # The county table holds that one county only.
    grid = main.get_by_test_id("stDataFrame").last
    expect(cells(grid, youxi)).to_have_count(1)
    expect(grid.locator('tbody [role="row"]')).to_have_count(1)


def test_acknowledging_an_alert_is_recorded_in_its_history(page: Page) -> None:
    open_app(page, "/alerts", j=SANMING)
    assert_page_ok(page, "alerts")
    form = page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name=t("acknowledge", "zh"))
    )
    form.locator(".st-key-ack_comment textarea").fill("已督促县医保局")
    form.get_by_role("button", name=t("acknowledge", "zh")).click()
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stAlertContentSuccess")).to_contain_text(t("done", "zh"))
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()

    history = main.get_by_test_id("stDataFrame").last
    # An "acknowledged" row: the raw state, or its label should the page translate it.
    acknowledged = [label("alert_state", "acknowledged", lang) for lang in LANGS]
    expect(cells(history, "acknowledged", *acknowledged).first).to_be_attached()
    expect(cells(history, "demo-city")).to_have_count(1)  # the signed-in user, not a typed name
    expect(cells(history, "已督促县医保局")).to_have_count(1)


def test_csv_download_has_chinese_headers(page: Page, tmp_path: Path) -> None:
    open_app(page, "/participation", j=SANMING)
    button = page.locator(".st-key-csv-participation").get_by_role("button")
    expect(button).to_have_text(t("download_csv", "zh"))
    with page.expect_download(timeout=30_000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    text = target.read_bytes().decode("utf-8-sig")
    header = text.splitlines()[0]
    assert "保险年度" in header and "参保率" in header, header
    assert len(text.splitlines()) > 1
    wait_idle(page)
    assert page.locator(ERRORS).count() == 0


def test_a_downloaded_file_is_gone_once_she_signs_out(page: Page) -> None:
    """A county supervisor's CSV is served at a /media/ address that needs no cookie: once she
    has signed out, fetching that address again gives nothing."""
    open_app(page, "/participation", user="demo-county", j=SANMING)
    button = page.locator(".st-key-csv-participation").get_by_role("button")
    with page.expect_download(timeout=30_000) as info:
        button.click()
    url = info.value.url
    assert "/media/" in urlparse(url).path, url
    wait_idle(page)
    page.locator(".st-key-sign_out").get_by_role("button").click()
    wait_idle(page)
    expect(heading(page)).to_contain_text("登录")
    deadline = time.monotonic() + 10  # bounded; the sign-out deletes it at once
    while (status := fetch_without_cookies(url)) != 404 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 404, (url, status)


def fetch_without_cookies(url: str) -> int:
    """The HTTP status of ``url`` fetched as a stranger would: no cookie, no session."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_english_switch(page: Page) -> None:
    open_app(page, j=SANMING)
    page.locator(".st-key-lang").get_by_role("radio", name="English").click()
    expect(page).to_have_url(re.compile(r"[?&]lang=en(&|$)"))
    wait_idle(page)
    assert_page_ok(page, "overview", lang="en")
    main = page.get_by_test_id("stMain")
    loss_ratio = {lang: label("metric", "loss_ratio", lang) for lang in LANGS}
    expect(main.get_by_test_id("stMetricLabel").filter(has_text=loss_ratio["en"])) \
        .to_be_visible()
    expect(main.get_by_test_id("stMetricLabel").filter(has_text=loss_ratio["zh"])) \
        .to_have_count(0)
    expect(nav_link(page, t("page_claims", "en"))).to_be_visible()


def test_deep_link_selects_year_and_county(page: Page) -> None:
    open_app(page, "/participation", j=SANMING, year="2023", county=YOUXI)
    assert_page_ok(page, "participation")
    expect(selectbox(page, "year")).to_have_value("2023")
    expect(selectbox(page, "county")).to_have_value(f"{county_name(YOUXI)} {YOUXI}")
    expect(heading(page)).to_contain_text("2023")
    assert query(page)["year"] == "2023" and query(page)["county"] == YOUXI


_MAP_DRAWN_JS = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .some(plot => (plot.data || []).some(trace => trace.type === 'choroplethmap'))"""


def map_locations(page: Page) -> list[str]:
    """The county codes drawn by the choropleth map on the page."""
    return list(page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .flatMap(plot => (plot.data || []).filter(trace => trace.type === 'choroplethmap'))
        .flatMap(trace => trace.locations || [])"""))


def test_a_county_supervisor_signs_in_and_sees_her_county_only(page: Page) -> None:
    others = [c.name_zh for c in counties("350400") if c.code != YOUXI]
    youxi = county_name(YOUXI)
    # A link to the whole of 三明 and to another county: signing in narrows it to 尤溪县.
    open_app(page, "/participation", user="demo-county", j=SANMING, county="350404")
    assert_page_ok(page, "participation")
    assert urlparse(page.url).path == "/participation"
    expect(page.locator(".st-key-sign_out")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("demo-county")
    assert query(page).get("county") in (None, YOUXI)
    page.wait_for_function(_MAP_DRAWN_JS)  # the map is drawn after the page says it is idle
    assert map_locations(page) == [YOUXI]
    main = page.get_by_test_id("stMain")
    grids = main.get_by_test_id("stDataFrame")
    expect(grids.first).to_be_visible()  # the tables render after the map
    for i in range(grids.count()):
        expect(cells(grids.nth(i), *others)).to_have_count(0)
    expect(cells(grids.last, youxi or YOUXI)).to_have_count(1)
    # Her county in the selector, nothing else; no costs page for her role.
    selectbox(page, "county").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert set(options) == {"全部", f"{youxi} {YOUXI}"}, options
    nav = page.get_by_test_id("stTopNavLink")
    assert t("page_costs", "zh") not in nav.all_inner_texts()
    screenshot(page, "county_supervisor")


def test_a_reload_and_a_new_tab_keep_her_signed_in(page: Page) -> None:
    """The session lives in an HttpOnly, SameSite=Strict cookie the page's scripts cannot read:
    a reload, a link opened in a new tab or typed into the address bar stay signed in."""
    open_app(page, "/participation", j=SANMING)
    jar = session_cookie(page)
    assert jar["httpOnly"] is True and jar["sameSite"] == "Strict" and jar["path"] == "/"
    assert "hmb_session" not in page.evaluate("document.cookie")
    page.reload()
    wait_idle(page)
    expect(page.locator(".st-key-sign_out")).to_be_visible()
    assert_page_ok(page, "participation")
    other = page.context.new_page()
    other.goto(f"/claims?j={SANMING}")
    wait_idle(other)
    expect(other.locator(".st-key-sign_out")).to_be_visible()
    assert_page_ok(other, "claims")
    other.close()


def test_signing_out_in_one_tab_signs_out_the_others(page: Page) -> None:
    open_app(page, j=SANMING)
    stolen = session_cookie(page)  # what someone who copied the cookie would hold
    other = page.context.new_page()
    other.goto(f"/participation?j={SANMING}")
    wait_idle(other)
    expect(other.locator(".st-key-sign_out")).to_be_visible()

    page.locator(".st-key-sign_out").get_by_role("button").click()
    wait_idle(page)
    expect(heading(page)).to_contain_text("登录")
    # The other tab, without a reload: its next step finds the session ended.
    nav_link(other, t("page_claims", "zh")).click()
    wait_idle(other)
    expect(heading(other)).to_contain_text("登录")
    expect(other.get_by_test_id("stMain")).to_contain_text(t("ended_signed_out", "zh"))
    other.close()
    # The cookie is gone from the browser, and a copy put back is refused by the server.
    deadline = time.monotonic() + 10
    while any(c["name"] == "hmb_session" for c in page.context.cookies()):
        assert time.monotonic() < deadline, "the cookie outlived the sign-out"
        time.sleep(0.1)
    page.context.add_cookies([{k: stolen[k] for k in ("name", "value", "domain", "path")}])
    page.goto(f"/?j={SANMING}")
    wait_idle(page)
    expect(heading(page)).to_contain_text("登录")


def test_a_forged_cookie_signs_nobody_in(page: Page) -> None:
    page.goto("/")
    wait_idle(page)
    host = urlparse(page.url).hostname or "localhost"
    for value in ("forged", "eyJ1IjoiZGVtby1hZG1pbiJ9.AAAA.BBBB"):
        page.context.add_cookies([{"name": "hmb_session", "value": value, "domain": host,
                                   "path": "/"}])
        page.reload()
        wait_idle(page)
        expect(heading(page)).to_contain_text("登录")
        expect(page.locator(".st-key-sign_out")).to_have_count(0)
