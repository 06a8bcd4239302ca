"""What the user is looking at: jurisdiction, policy year, as-of date, county and language.

The sidebar keeps the URL in step (``/claims?j=sanming-2024&year=2024&as_of=2024-06-30&county=
350426&lang=zh``) with stable codes rather than labels, so a link in an e-mail opens the same view
in either language; the page itself is the URL path.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import cast

import polars as pl
import streamlit as st

from dashboard import data
from dashboard.i18n import LANGS, Lang, t
from hmb.access.scoping import DataScope, may_open_jurisdiction
from hmb.core.counties import county_name
from hmb.core.labels import label
from hmb.ingest.dataset import Dataset
from hmb.ingest.loading import InputError
from hmb.measure.development import GRAINS
from hmb.rulebook.profiles import Profile, ProfileError, load_profile
from hmb.state.exports import ExportEntry, ExportGone

VIEW_KEY = "_view"
ALL_COUNTIES = ""  # the county selector's "all" option (None would show as no selection)


@dataclass(frozen=True)
class View:
    lang: Lang
    profile: Profile
    folder: Path
    dataset: Dataset
    year: int
    as_of: date
    county: str | None
    scope: DataScope  # what the signed-in user may see: every query goes through it
    source: str = ""  # the jurisdiction's key in the sidebar (the URL's j=)
    export: ExportEntry | None = None  # the registered export shown (hmb.state.exports)

    @property
    def fingerprint(self) -> str:
        return self.dataset.fingerprint

    @property
    def store(self) -> str:
        return str(self.dataset.store)

    @property
    def filters(self) -> dict[str, str | int | None]:
        """What the page is showing, as recorded in the audit trail."""
        return {"j": self.source, "year": self.year, "as_of": self.as_of.isoformat(),
                "county": self.county, "lang": self.lang}

    def county_label(self, code: str | None) -> str:
        if code is None:
            return t("all_counties", self.lang)
        return f"{county_name(code) or code}（{code}）" if self.lang == "zh" else (
            f"{county_name(code) or code} ({code})"
        )


def sidebar(scope: DataScope) -> View | None:
    """Draw the sidebar; return the view, or None after explaining why there is nothing.

    Only the jurisdictions and counties of the user's scope are offered, so a URL naming
    another one (``?j=`` or ``?county=``) falls back to the first allowed, never widens it."""
    _seed_from_url()
    lang = cast(
        Lang,
        st.sidebar.segmented_control(
            "语言 Language", LANGS, default="zh", key="lang",
            format_func=lambda code: "中文" if code == "zh" else "English",
        ) or "zh",
    )
    choices = []
    for s in data.sources():
        try:
            adcode = load_profile(s.profile).jurisdiction.adcode
        except ProfileError as exc:  # HMB_PROFILE is not a shipped rulebook's name, or it is broken
            st.error(t("bad_rulebook" if s.folder is None else "bad_local_rulebook", lang)
                     + "\n\n" + str(exc))
            continue
        if may_open_jurisdiction(scope, adcode):
            choices.append(s)
    if not choices:
        st.warning(t("no_jurisdiction", lang))
        return None
    by_key = {s.key: s for s in choices}
    if st.session_state.get("j") not in by_key:
        st.session_state["j"] = choices[0].key
    source_key = st.sidebar.selectbox(
        t("jurisdiction", lang), list(by_key), key="j",
        format_func=lambda key: by_key[key].label(lang),
    )
    source = by_key[source_key]
    profile = load_profile(source.profile)
    export = _export(source, lang)
    folder = Path(export.folder) if export is not None else data.source_folder(source)
    try:
        ds = data.export_dataset(export) if export is not None else data.dataset(
            folder, profile.name)
    except InputError as exc:
        st.error(t("fatal_input", lang) + "\n\n" + "\n\n".join(p.message for p in exc.problems))
        return None
    except ExportGone as exc:
        st.error(t("export_gone", lang) + "\n\n" + str(exc))
        return None
    latest = ds.default_as_of
    if latest is None:
        st.info(t("no_data", lang))
        return None
    if not isinstance(st.session_state.get("as_of"), date):
        st.session_state["as_of"] = latest
    as_of = st.sidebar.date_input(t("as_of", lang), key="as_of")
    as_of = as_of if isinstance(as_of, date) else latest
    years = _policy_years(ds, as_of, scope)
    if st.session_state.get("year") not in years:
        st.session_state["year"] = years[_default_year_index(years, as_of)]
    year = st.sidebar.selectbox(label("column", "policy_year", lang), years, key="year")
    counties = _counties(ds, as_of, scope)
    if st.session_state.get("county") not in counties:
        st.session_state["county"] = ALL_COUNTIES
    chosen = st.sidebar.selectbox(
        label("column", "county", lang), [ALL_COUNTIES, *counties], key="county",
        format_func=lambda c: t("all_counties", lang) if c == ALL_COUNTIES else (
            f"{county_name(c) or c} {c}"
        ),
    )
    county = chosen if chosen != ALL_COUNTIES else None
    st.sidebar.caption(
        f"{t('document', lang)}：{profile.document.number}" if lang == "zh"
        else f"{t('document', lang)}: {profile.document.number}"
    )
    view = View(lang, profile, folder, ds, int(year), as_of, county, scope, source.key, export)
    _write_url(view, source.key)
    st.session_state[VIEW_KEY] = view
    return view


URL_KEYS = ("lang", "j", "as_of", "year", "county")


def _export(source: data.Source, lang: Lang) -> ExportEntry | None:
    """The registered export to show: the jurisdiction's current one, or an earlier one chosen
    in the sidebar (the data-quality page lists them all)."""
    register = data.export_register()
    if source.export is None or register is None:
        return None
    accepted = [e for e in reversed(register.entries(source.profile)) if e.result == "accepted"]
    by_id = {e.id: e for e in accepted}
    key, seen = f"export-{source.profile}", f"export-{source.profile}-current"
    # A new export registered since this session last looked: shown at once, no restart.
    if st.session_state.get(key) not in by_id or st.session_state.get(seen) != accepted[0].id:
        st.session_state[key] = accepted[0].id
    st.session_state[seen] = accepted[0].id
    chosen = st.sidebar.selectbox(
        t("export_version", lang), list(by_id), key=key,
        format_func=lambda i: f"#{i} · {by_id[i].ingested_at_cst}"
        + (f" · {t('export_current', lang)}" if i == accepted[0].id else ""),
    )
    return by_id.get(chosen, accepted[0])


def _seed_from_url() -> None:
    """On a session's first run, take the view from the URL (a link someone sent)."""
    if st.session_state.get("_seeded"):
        return
    st.session_state["_seeded"] = True
    params = st.query_params
    if params.get("lang") in LANGS:
        st.session_state["lang"] = params["lang"]
    if params.get("j"):
        st.session_state["j"] = params["j"]
    if params.get("as_of"):
        # A mistyped date in a link falls back to the data's latest date.
        with contextlib.suppress(ValueError):
            st.session_state["as_of"] = date.fromisoformat(params["as_of"])
    if (params.get("year") or "").isdigit():
        st.session_state["year"] = int(params["year"])
    if params.get("county"):
        st.session_state["county"] = params["county"]
    if params.get("grain") in GRAINS:  # the development page's period (its own widget)
        st.session_state["grain"] = params["grain"]


def _write_url(view: View, source_key: str) -> None:
    """Keep the URL in step with the view, with stable codes (not labels) as values."""
    wanted = {"lang": view.lang, "j": source_key, "as_of": view.as_of.isoformat(),
              "year": str(view.year)}
    if view.county:
        wanted["county"] = view.county
    current = {key: st.query_params.get(key) for key in URL_KEYS}
    if current != {key: wanted.get(key) for key in URL_KEYS}:
        st.query_params.from_dict(wanted)


def participation_bands(profile: Profile) -> tuple[float | None, float | None]:
    """The floor and the aim of county participation as the jurisdiction's rulebook sets them
    (三明 三（七）1: 20 %, aiming at 30 %); (None, None) where it sets none: no jurisdiction
    is drawn against another's numbers."""
    rule = profile.rule_on("participation_rate", "county")
    return (rule.critical, rule.warning) if rule is not None else (None, None)


def rule_value(profile: Profile, metric: str) -> float | None:
    """The threshold of the jurisdiction's rule on ``metric`` (a line to draw), if it has one."""
    rule = profile.rule_on(metric)
    if rule is None:
        return None
    return rule.critical if rule.critical is not None else rule.warning


def current() -> View | None:
    """The view the sidebar set for this run (pages call this)."""
    view = st.session_state.get(VIEW_KEY)
    return view if isinstance(view, View) else None


def _policy_years(ds: Dataset, as_of: date, scope: DataScope) -> list[int]:
    frame = data.query(ds.fingerprint, str(ds.store), "written_premium", as_of, scope)
    years = sorted(int(y) for y in frame["policy_year"].to_list())
    return years or [as_of.year]


def _default_year_index(years: list[int], as_of: date) -> int:
    """The policy year in force on the as-of date, else the latest one before it."""
    eligible = [i for i, y in enumerate(years) if y <= as_of.year]
    return eligible[-1] if eligible else 0


def _counties(ds: Dataset, as_of: date, scope: DataScope) -> list[str]:
    frame = data.participation(ds.fingerprint, str(ds.store), as_of, scope)
    codes = frame.filter(pl.col("county_code").is_not_null())["county_code"].unique().sort()
    return [str(c) for c in codes.to_list()]
