"""Rulebooks: every profile validates, every quoted sentence is in its seed document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard.view import participation_bands
from hmb.core.settings import settings
from hmb.judge.rules import OBSERVERS
from hmb.rulebook.profiles import Profile, ProfileError, available_profiles, load_profile

PROFILES = ("hunan-2024", "nantong-2021", "sanming-2024", "shenyang-2021", "wenzhou-2021")


def _normalised(text: str) -> str:
    # The seeds are text extracted from PDFs: line breaks and spaces fall anywhere.
    return re.sub(r"\s+", "", text)


def test_the_five_jurisdictions_ship() -> None:
    assert tuple(available_profiles()) == PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_every_quote_is_in_the_seed_document(name: str) -> None:
    profile = load_profile(name)
    seed = _normalised((settings().seeds_dir / profile.document.seed).read_text(encoding="utf-8"))
    assert _normalised(profile.document.number) in seed
    for key, parameter in profile.parameters:
        if parameter is not None and parameter.quote:
            assert _normalised(parameter.quote) in seed, f"{name}: {key} quotes text not in seed"


@pytest.mark.parametrize("name", PROFILES)
def test_every_parameter_is_cited_or_marked_local(name: str) -> None:
    for _, parameter in load_profile(name).parameters:
        if parameter is not None:
            assert parameter.local or (parameter.clause and parameter.quote)


def test_margins_match_the_documents() -> None:
    assert load_profile("sanming-2024").margin(2024) == 0.03
    assert load_profile("hunan-2024").margin(2025) == 0.05
    assert load_profile("nantong-2021").margin(2022) == 0.10
    assert load_profile("shenyang-2021").margin(2021) is None
    assert load_profile("hunan-2024").keeps_pool(2024)
    assert not load_profile("sanming-2024").keeps_pool(2024)


def test_a_misspelt_key_fails_loudly(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "data/rulebooks/sanming-2024.toml").read_text()
    (tmp_path / "sanming-2024.toml").write_text(text.replace("[parameters.premium]",
                                                             "[parameters.premuim]"))
    load_profile.cache_clear()
    with pytest.raises(ProfileError, match="premuim"):
        load_profile("sanming-2024", tmp_path)
    load_profile.cache_clear()


def test_an_uncited_number_is_refused() -> None:
    raw = load_profile("sanming-2024").model_dump()
    raw["parameters"]["premium"] = {"value": 160}
    with pytest.raises(ValueError, match="clause and quote"):
        Profile.model_validate(raw)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="sanming-2024"):
        load_profile("atlantis-2030")


@pytest.mark.parametrize("name", PROFILES)
def test_every_rule_quotes_its_seed_and_names_a_metric_that_exists(name: str) -> None:
    profile = load_profile(name)
    seed = _normalised((settings().seeds_dir / profile.document.seed).read_text(encoding="utf-8"))
    for rule in profile.rules:
        assert rule.metric in OBSERVERS, (
            f"{name}: rule {rule.id} names unknown metric {rule.metric}"
        )
        assert rule.citation.quote, f"{name}: rule {rule.id} quotes nothing"
        assert _normalised(rule.citation.quote) in seed, f"{name}: {rule.id} misquotes the seed"
    for duty in profile.not_checked:
        assert duty.citation.quote and _normalised(duty.citation.quote) in seed, duty.id
        assert duty.needs_data


def test_a_misquoted_rule_would_be_caught() -> None:
    """The quote check is not vacuous: a sentence the document does not contain fails it."""
    seed_file = settings().seeds_dir / load_profile("hunan-2024").document.seed
    seed = _normalised(seed_file.read_text())
    assert _normalised("综合成本率不高于90%") not in seed
    assert _normalised("综合成本率不高于95%") in seed


def test_participation_bands_come_from_the_jurisdictions_own_rulebook() -> None:
    """Only 三明 sets a county participation floor and aim (三（七）1: 20 %, 30 %); every other
    jurisdiction gets none, never 三明's numbers."""
    bands = {name: participation_bands(load_profile(name)) for name in available_profiles()}
    assert bands.pop("sanming-2024") == (0.20, 0.30)
    assert bands and all(b == (None, None) for b in bands.values())


# -- a rulebook that would switch a rule off, or crash the check, is refused at load ------------

RULEBOOKS = Path(__file__).resolve().parent.parent / "data" / "rulebooks"


def _altered(tmp_path: Path, old: str, new: str, name: str = "sanming-2024") -> Path:
    """A copy of a shipped rulebook with the first ``old`` replaced by ``new``."""
    text = (RULEBOOKS / f"{name}.toml").read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# (what the operator wrote, what it replaces, the rule or parameter the message must name, the
# field it must name). The first "critical = 0.20" etc. are the rule county_participation's.
BROKEN_RULES = {
    "critical nan": ("critical = 0.20", "critical = nan", "county_participation", "critical"),
    "critical inf": ("critical = 0.20", "critical = inf", "county_participation", "critical"),
    "critical -inf": ("critical = 0.20", "critical = -inf", "county_participation", "critical"),
    "critical true": ("critical = 0.20", "critical = true", "county_participation", "critical"),
    "critical as text": ("critical = 0.20", 'critical = "0.20"', "county_participation",
                         "critical"),
    "critical in percent": ("critical = 0.20", "critical = 20", "county_participation",
                            "critical"),
    "warning nan": ("warning = 0.30", "warning = nan", "county_participation", "warning"),
    "recovery inf": ("recovery = 0.205", "recovery = inf", "county_participation", "recovery"),
    "recovery on the breaching side": ("recovery = 0.205", "recovery = 0.19",
                                       "county_participation", "recovery"),
    "warning before critical": ("warning = 0.30", "warning = 0.10", "county_participation",
                                "warning"),
    "unknown metric": ('metric = "participation_rate"', 'metric = "participation_rte"',
                       "county_participation", "metric"),
    "unknown key": ("recovery = 0.205", "recovery = 0.205\nrecovry = 0.21",
                    "county_participation", "recovry"),
    "scope the metric has not": ('scope = "county"', 'scope = "insurer"',
                                 "county_participation", "scope"),
    "unit the metric has not": ('unit = "rate"', 'unit = "count"', "county_participation",
                                "unit"),
    "year as text": ("recovery = 0.205", 'recovery = 0.205\nyears = ["2024"]',
                     "county_participation", "years"),
    "year true": ("recovery = 0.205", "recovery = 0.205\nyears = [true]",
                  "county_participation", "years"),
    "unknown group": ('groups = ["tekun"', 'groups = ["tekunn"', "subsidised_groups_enrolled",
                      "groups"),
    "groups on another metric": ("recovery = 0.205", 'recovery = 0.205\ngroups = ["dibao"]',
                                 "county_participation", "groups"),
    "unknown timing": ('when = "campaign"', 'when = "sometimes"',
                       "county_participation_projection", "when"),
    "unknown projection": ('projection = "run_rate_14d"', 'projection = "crystal_ball"',
                           "county_participation_projection", "projection"),
    "projection dropped": ('projection = "run_rate_14d"\n', "",
                           "county_participation_projection", "projection"),
    "unknown comparison": ('comparison = "at_least"', 'comparison = "above"',
                           "county_participation", "comparison"),
    "unknown parameter": ("[parameters.premium]", "[parameters.premuim]", "premuim", "premuim"),
    "margin as a percent string": ("value = 0.03", 'value = "3%"', "surplus_margin", "value"),
    "margin nan": ("value = 0.03", "value = nan", "surplus_margin", "value"),
    "margin above one": ("value = 0.03", "value = 3", "surplus_margin", "value"),
    "premium true": ("value = 150", "value = true", "premium", "value"),
    "premium as text": ("value = 150", 'value = "150"', "premium", "value"),
    "premium inf": ("value = 150", "value = inf", "premium", "value"),
    "keeps_pool as text": ("value = false", 'value = "no"', "keeps_pool", "value"),
    "keeps_pool as a number": ("value = false", "value = 0", "keeps_pool", "value"),
    "pool balance -inf": ("[parameters.pool_opening_balance]\nvalue = 0",
                          "[parameters.pool_opening_balance]\nvalue = -inf",
                          "pool_opening_balance", "value"),
    "unknown destination": ('value = "health_management_fund"', 'value = "health_fund"',
                            "surplus_destination", "value"),
    "deadline that is no date": ('value = "12-31"', 'value = "12-32"', "campaign_deadline",
                                 "value"),
    "deadline 29 February": ('value = "12-31"', 'value = "02-29"', "campaign_deadline",
                             "value"),
    "local as text": ("local = true", 'local = "yes"', "pool_opening_balance", "local"),
}


@pytest.mark.parametrize("case", BROKEN_RULES, ids=list(BROKEN_RULES))
def test_a_rulebook_that_would_switch_a_rule_off_is_refused_naming_the_rule(
    tmp_path: Path, case: str
) -> None:
    old, new, where, field = BROKEN_RULES[case]
    path = _altered(tmp_path, old, new)
    load_profile.cache_clear()
    try:
        with pytest.raises(ProfileError) as caught:
            load_profile("sanming-2024", tmp_path)
    finally:
        load_profile.cache_clear()
    message = str(caught.value)
    assert path.name in message
    assert where in message and field in message, message
    assert re.search(r"[\u4e00-\u9fff]", message), "the message starts in Chinese"
    assert "Traceback" not in message and "pydantic.dev" not in message


def test_every_error_of_a_rulebook_is_listed_once(tmp_path: Path) -> None:
    text = (RULEBOOKS / "sanming-2024.toml").read_text(encoding="utf-8")
    text = text.replace("critical = 0.20", "critical = nan").replace("value = 0.03", 'value = "3%"')
    (tmp_path / "sanming-2024.toml").write_text(text, encoding="utf-8")
    load_profile.cache_clear()
    with pytest.raises(ProfileError) as caught:
        load_profile("sanming-2024", tmp_path)
    load_profile.cache_clear()
    message = str(caught.value)
    assert "county_participation" in message and "city_participation_tier" in message
    assert "surplus_margin" in message
    assert message.count("'county_participation'") == 1  # one line per error, not per type


def test_an_equal_rule_takes_one_threshold_and_no_recovery(tmp_path: Path) -> None:
    _altered(tmp_path, "critical = 5", "critical = 5\nwarning = 4", name="wenzhou-2021")
    load_profile.cache_clear()
    with pytest.raises(ProfileError, match="five_insurers"):
        load_profile("wenzhou-2021", tmp_path)
    load_profile.cache_clear()


def test_the_thresholds_and_parameters_of_the_shipped_rulebooks_are_numbers() -> None:
    for name in PROFILES:
        profile = load_profile(name)
        for rule in profile.rules:
            for value in (rule.critical, rule.warning, rule.recovery):
                assert value is None or type(value) is float, (name, rule.id, value)
    # An integer in the file is a number like any other: 5 insurers, 0 late enrolments.
    assert load_profile("wenzhou-2021").rules[-1].critical == 5.0
    assert load_profile("sanming-2024").premium(2024) == 150.0


def test_the_metrics_a_rule_may_name_are_exactly_the_engine_s() -> None:
    """The rulebook layer cannot import the rule engine above it, so it keeps its own list of
    the metrics a rule may name; this holds the two equal, and every one has a name."""
    from hmb.core.labels import METRICS  # noqa: PLC0415
    from hmb.judge.rules import PROJECTION_EN, PROJECTION_ZH  # noqa: PLC0415
    from hmb.rulebook.profiles import RULE_METRICS  # noqa: PLC0415

    assert set(RULE_METRICS) == set(OBSERVERS)
    assert set(RULE_METRICS) <= set(METRICS)
    projections = {form.projection for form in RULE_METRICS.values()} - {None}
    assert projections <= set(PROJECTION_ZH) & set(PROJECTION_EN)


# -- a rulebook is named, never given by path, in --profile and HMB_PROFILE --------------------

@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", str(RULEBOOKS / "sanming-2024"), "../rulebooks/sanming-2024",
     "rulebooks/../sanming-2024", "sub/sanming-2024", "sanming-2024.toml", "..", ".", "",
     "sanming-2024/", "Sanming-2024", "sanming-2024\x00"],
)
def test_a_profile_name_that_is_a_path_is_refused(name: str) -> None:
    with pytest.raises(ProfileError, match="名称") as caught:
        load_profile(name)
    assert "sanming-2024" in str(caught.value)  # the names that may be given


def test_a_symlinked_rulebook_name_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    text = (RULEBOOKS / "sanming-2024.toml").read_text(encoding="utf-8")
    (elsewhere / "evil.toml").write_text(text.replace('name = "sanming-2024"', 'name = "evil"'))
    shelf = tmp_path / "rulebooks"
    shelf.mkdir()
    (shelf / "evil.toml").symlink_to(elsewhere / "evil.toml")
    (shelf / "sanming-2024.toml").write_text(text)
    load_profile.cache_clear()
    with pytest.raises(ProfileError, match="evil"):
        load_profile("evil", shelf)
    assert available_profiles(shelf) == ["sanming-2024"]
    load_profile.cache_clear()


def test_a_rulebook_file_of_ones_own_loads_as_strictly(tmp_path: Path) -> None:
    from hmb.rulebook.profiles import load_rulebook  # noqa: PLC0415

    text = (RULEBOOKS / "sanming-2024.toml").read_text(encoding="utf-8")
    own = tmp_path / "sanming-local.toml"
    own.write_text(text.replace('name = "sanming-2024"', 'name = "sanming-local"'))
    profile = load_rulebook(own)
    assert profile.name == "sanming-local"
    assert [r.id for r in profile.rules] == [r.id for r in load_profile("sanming-2024").rules]
    assert len(profile.version) == 12 and profile.version != load_profile("sanming-2024").version
    own.write_text(text.replace('name = "sanming-2024"', 'name = "sanming-local"')
                   .replace("critical = 0.20", "critical = nan"))
    with pytest.raises(ProfileError, match="county_participation"):
        load_rulebook(own)
    # A rulebook of one's own cannot pass for a shipped one (alerts are recorded by name).
    shadow = tmp_path / "sanming-2024.toml"
    shadow.write_text(text)
    with pytest.raises(ProfileError, match="sanming-2024"):
        load_rulebook(shadow)
    with pytest.raises(ProfileError, match="nowhere"):
        load_rulebook(tmp_path / "nowhere.toml")


def test_a_rulebook_that_cannot_be_read_is_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hmb.rulebook.profiles import load_rulebook  # noqa: PLC0415

    own = tmp_path / "sanming-local.toml"
    own.write_text("name = \"sanming-local\"\n")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ProfileError, match="Permission denied"):
        load_rulebook(own)
    with pytest.raises(ProfileError, match="not a file"):
        load_rulebook(tmp_path)


# -- what the document governs, and how it words each rule -------------------------------------

PERIOD = "[document.in_force]\nfirst_year = 2024\nlast_year = 2024\nvalid_to = 2024-12-31\n"

HOSTILE_PERIODS = {
    "missing": (PERIOD, "", "in_force"),
    "inverted": (PERIOD, "[document.in_force]\nfirst_year = 2024\nlast_year = 2023\n", "last_year"),
    "open-ended, not said to be local": (
        PERIOD, "[document.in_force]\nfirst_year = 2024\n", "local = true"
    ),
    "valid to a day of another year": (
        PERIOD, "[document.in_force]\nfirst_year = 2024\nlast_year = 2024\nvalid_to = 2026-12-31\n",
        "valid_to",
    ),
    "first year as text": (PERIOD, PERIOD.replace("first_year = 2024", 'first_year = "2024"'),
                           "first_year"),
}


@pytest.mark.parametrize("case", HOSTILE_PERIODS, ids=list(HOSTILE_PERIODS))
def test_a_rulebook_without_a_sound_period_of_force_is_refused(tmp_path: Path, case: str) -> None:
    old, new, says = HOSTILE_PERIODS[case]
    _altered(tmp_path, old, new)
    load_profile.cache_clear()
    try:
        with pytest.raises(ProfileError) as caught:
            load_profile("sanming-2024", tmp_path)
    finally:
        load_profile.cache_clear()
    assert says in str(caught.value)


@pytest.mark.parametrize("name", PROFILES)
def test_every_period_of_force_quotes_its_seed_or_says_it_is_local(name: str) -> None:
    profile = load_profile(name)
    period = profile.document.in_force
    seed = _normalised((settings().seeds_dir / profile.document.seed).read_text(encoding="utf-8"))
    if period.quote:
        assert _normalised(period.quote) in seed
    assert period.local or (period.clause and period.quote)
    assert period.last_year is not None or period.local


def test_the_periods_of_force_are_the_documents() -> None:
    sanming = load_profile("sanming-2024").document.in_force  # 有效期至2024年12月31日
    assert (sanming.first_year, sanming.last_year, str(sanming.valid_to)) == (2024, 2024,
                                                                             "2024-12-31")
    assert not sanming.local
    nantong = load_profile("nantong-2021").document.in_force  # 项目试行时间三年
    assert (nantong.first_year, nantong.last_year, nantong.local) == (2021, 2023, False)
    for name, first in (("wenzhou-2021", 2021), ("shenyang-2021", 2021), ("hunan-2024", 2024)):
        period = load_profile(name).document.in_force
        assert (period.first_year, period.last_year, period.local) == (first, None, True), name


HOSTILE_WORDING = {
    "an aim that is critical": ('kind = "duty_with_aim"', 'kind = "aim"', "aim"),
    "a duty with an aim but no aim": ("warning = 0.30\nrecovery = 0.205",
                                      "recovery = 0.205", "duty_with_aim"),
    "a local threshold the rule lacks": ('local_thresholds = ["recovery"]',
                                         'local_thresholds = ["recovery", "info"]',
                                         "local_thresholds"),
    "an unknown kind": ('kind = "condition"', 'kind = "tier"', "kind"),
}


@pytest.mark.parametrize("case", HOSTILE_WORDING, ids=list(HOSTILE_WORDING))
def test_a_rule_worded_against_its_thresholds_is_refused(tmp_path: Path, case: str) -> None:
    old, new, says = HOSTILE_WORDING[case]
    _altered(tmp_path, old, new)
    load_profile.cache_clear()
    try:
        with pytest.raises(ProfileError) as caught:
            load_profile("sanming-2024", tmp_path)
    finally:
        load_profile.cache_clear()
    assert says in str(caught.value)


def test_local_thresholds_need_a_local_citation() -> None:
    raw = load_profile("wenzhou-2021").model_dump()
    (window,) = [r for r in raw["rules"] if r["id"] == "enrolment_window"]
    window["citation"]["local"] = False
    window["citation"]["note"] = None
    with pytest.raises(ValueError, match="local thresholds need local = true"):
        Profile.model_validate(raw)


def test_every_number_the_documents_do_not_state_is_local() -> None:
    """The margins, readings and hysteresis the product adds are flagged as its own."""
    hunan = load_profile("hunan-2024")
    assert hunan.parameters.surplus_margin.local  # 5 % = 1 − the 95 % ceiling: a reading
    wenzhou = {r.id: r for r in load_profile("wenzhou-2021").rules}
    assert wenzhou["excess_surplus"].is_local(0.05)
    assert wenzhou["enrolment_window"].is_local(62)  # "2 个月" read as 62 days
    sanming = {r.id: r for r in load_profile("sanming-2024").rules}
    assert sanming["county_participation"].is_local(0.205)  # the recovery threshold
    assert not sanming["county_participation"].is_local(0.20)  # 不低于 20 %: the document's
    assert sanming["county_participation"].kind == "duty_with_aim"  # 力争达到 30 %
    assert sanming["city_participation_tier"].kind == "condition"  # 三（六）3


# -- the benefit table (contract §6) ----------------------------------------------------------

@pytest.mark.parametrize("name", PROFILES)
def test_every_cell_of_a_benefit_table_quotes_its_seed_or_is_a_local_reading(name: str) -> None:
    profile = load_profile(name)
    if profile.benefit_table is None:
        return
    seed = _normalised((settings().seeds_dir / profile.document.seed).read_text(encoding="utf-8"))
    table = profile.benefit_table
    cells = [cell for row in table.rows for _, cell in row.cells()]
    for cell in [*cells, *([table.assisted] if table.assisted else [])]:
        assert cell.local or (cell.clause and cell.quote)
        if cell.quote:
            assert _normalised(cell.quote) in seed, f"{name}: {cell.quote} is not in the seed"
        if cell.local:
            assert cell.note


def test_the_tables_of_the_documents_that_have_one() -> None:
    sanming = load_profile("sanming-2024").benefit_table
    nantong = load_profile("nantong-2021").benefit_table
    assert sanming is not None and nantong is not None
    rows = {r.liability: r for r in sanming.rows}
    assert rows["inpatient_in_area"].deductible.basis == "annual"
    assert rows["inpatient_out_of_area"].ratio_assisted_preexisting is not None
    assert rows["inpatient_out_of_area"].ratio_assisted_preexisting.value == 0.8
    assert rows["inpatient_in_area"].cap_preexisting.local  # the empty cell, read
    assert sanming.assisted is not None and sanming.assisted.local
    assert {r.liability for r in nantong.rows} == {
        "inpatient_copay", "inpatient_self_pay", "special_cancer_drugs", "rare_disease"}
    for name in ("wenzhou-2021", "shenyang-2021", "hunan-2024"):
        assert load_profile(name).benefit_table is None  # their documents set no table


BROKEN_TABLES = {
    "ratio in percent": ("value = 1.0", "value = 100", "inpatient_in_area", "ratio_healthy"),
    "ratio as text": ("value = 1.0", 'value = "100%"', "inpatient_in_area", "ratio_healthy"),
    "ratio nan": ("value = 1.0", "value = nan", "inpatient_in_area", "ratio_healthy"),
    "deductible negative": ("value = 5000", "value = -5000", "inpatient_in_area",
                            "deductible"),
    "deductible true": ("value = 5000", "value = true", "inpatient_in_area", "deductible"),
    "unknown basis": ('basis = "annual"', 'basis = "yearly"', "inpatient_in_area", "basis"),
    "misspelt key": ('basis = "annual"', 'bassis = "annual"', "inpatient_in_area", "bassis"),
    "cap inf": ("value = 1500000", "value = inf", "inpatient_in_area", "cap_healthy"),
    "cell neither cited nor local": ('quote = "赔偿比例 健康人群 100% 70% 70%"\n', "",
                                     "inpatient_in_area", "ratio_healthy"),
    "unknown assisted group": ('groups = ["tekun", "dibao", "dibian"',
                               'groups = ["tekun", "dibaoo", "dibian"', "assisted", "groups"),
    "assisted group twice": ('groups = ["tekun", "dibao", "dibian"',
                             'groups = ["tekun", "tekun", "dibian"', "assisted", "groups"),
    "undefined liability": ('liability = "inpatient_in_area"',
                            'liability = "inpatient_inarea"', "inpatient_inarea",
                            "liabilities"),
    "liability twice": ('liability = "inpatient_out_of_area"',
                        'liability = "inpatient_in_area"', "inpatient_in_area", "twice"),
    "exception without groups": ("[benefit_table.assisted]\n", "[benefit_table.assistance]\n",
                                 "assistance", "assistance"),
}


@pytest.mark.parametrize("case", BROKEN_TABLES, ids=list(BROKEN_TABLES))
def test_a_broken_benefit_table_is_refused_naming_the_row_and_field(
    tmp_path: Path, case: str
) -> None:
    old, new, where, field = BROKEN_TABLES[case]
    text = (RULEBOOKS / "sanming-2024.toml").read_text(encoding="utf-8")
    start = text.index("# Benefit table")
    assert old in text[start:], old
    path = tmp_path / "sanming-2024.toml"
    path.write_text(text[:start] + text[start:].replace(old, new, 1), encoding="utf-8")
    load_profile.cache_clear()
    try:
        with pytest.raises(ProfileError) as caught:
            load_profile("sanming-2024", tmp_path)
    finally:
        load_profile.cache_clear()
    message = str(caught.value)
    assert where in message and field in message, message
    assert "Traceback" not in message and "pydantic.dev" not in message


def test_an_assisted_ratio_needs_the_groups_and_groups_need_a_ratio() -> None:
    raw = load_profile("sanming-2024").model_dump()
    without_groups = {**raw, "benefit_table": {**raw["benefit_table"], "assisted": None}}
    with pytest.raises(ValueError, match="assisted"):
        Profile.model_validate(without_groups)
    rows = [{**row, "ratio_assisted_preexisting": None} for row in raw["benefit_table"]["rows"]]
    without_ratio = {**raw, "benefit_table": {**raw["benefit_table"], "rows": rows}}
    with pytest.raises(ValueError, match="ratio_assisted_preexisting"):
        Profile.model_validate(without_ratio)
