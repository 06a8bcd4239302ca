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
