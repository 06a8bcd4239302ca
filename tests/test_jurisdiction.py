"""A rulebook meets only the data of its jurisdiction (issue: wrong rulebook accepted).

The counties of the basic_insured table (the denominator of participation) decide, and the
``demo.json`` that ``hmb demo`` writes beside a folder: a rulebook of another jurisdiction is
refused with exit 2 and a message in both languages naming the rulebook's jurisdiction and the
data's counties, wherever a rulebook meets a folder. Members enrolled from outside the
jurisdiction (the enrollment table) never decide it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hmb.ingest.dataset import check_jurisdiction, open_dataset
from hmb.ingest.loading import InputError
from hmb.rulebook.profiles import load_profile
from tests.builders import basic_insured_row, enrollment_row, run_cli, write_folder

SANMING_COUNTIES = ("350404", "350426")  # 三元区, 尤溪县
CHANGSHA = "430102"  # 湖南 芙蓉区


def _sanming_folder(root: Path, *, extra_county: str | None = None,
                    demo_profile: str | None = None, name: str = "data") -> Path:
    counties = [*SANMING_COUNTIES, *([extra_county] if extra_county else [])]
    folder = write_folder(
        root,
        name=name,
        basic_insured=[basic_insured_row(code, 100) for code in counties],
        enrollment=[enrollment_row(county_code=code) for code in SANMING_COUNTIES],
    )
    if demo_profile is not None:
        (folder / "demo.json").write_text(json.dumps({"profile": demo_profile}))
    return folder


@pytest.mark.parametrize("command", ["check", "metrics", "development", "validate"])
def test_another_jurisdictions_rulebook_is_refused(tmp_path: Path, command: str) -> None:
    folder = _sanming_folder(tmp_path)
    dated = () if command == "validate" else ("--as-of", "2024-06-30")
    result = run_cli(command, folder, "--profile", "hunan-2024", *dated)
    assert result.code == 2, result.text
    assert "Traceback" not in result.text
    assert "湖南省" in result.err and "430000" in result.err  # the rulebook's jurisdiction
    assert "350404" in result.err  # a county of the data
    assert "basic_insured" in result.err
    assert "--profile sanming-2024" in result.err  # what to do
    assert "governs" in result.err  # and in English


def test_a_folder_mixing_two_jurisdictions_is_refused(tmp_path: Path) -> None:
    folder = _sanming_folder(tmp_path, extra_county=CHANGSHA)
    result = run_cli("check", folder, "--profile", "sanming-2024", "--as-of", "2024-06-30")
    assert result.code == 2, result.text
    assert "430102" in result.err
    assert "1 of the 3 counties" in result.err


def test_a_demo_folder_written_for_another_rulebook_is_refused(tmp_path: Path) -> None:
    # The counties would pass for 湖南 if they were 湖南's; demo.json says the folder is 三明's.
    folder = write_folder(tmp_path, basic_insured=[basic_insured_row(CHANGSHA, 100)],
                          enrollment=[enrollment_row(county_code=CHANGSHA, premium=129.0)])
    (folder / "demo.json").write_text(json.dumps({"profile": "sanming-2024"}))
    result = run_cli("metrics", folder, "--profile", "hunan-2024", "--as-of", "2024-06-30")
    assert result.code == 2, result.text
    assert "demo.json" in result.err and "sanming-2024" in result.err


def test_members_enrolled_from_outside_do_not_refuse_the_rulebook(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row(code, 100) for code in SANMING_COUNTIES],
        enrollment=[enrollment_row(county_code="350404"),
                    enrollment_row(county_code=CHANGSHA)],  # insured elsewhere
    )
    check_jurisdiction(open_dataset(folder), load_profile("sanming-2024"))  # no error
    result = run_cli("metrics", folder, "--profile", "sanming-2024", "--as-of", "2024-06-30")
    assert result.code == 0, result.text


def test_the_right_rulebook_and_its_own_demo_pass(tmp_path: Path) -> None:
    folder = _sanming_folder(tmp_path, demo_profile="sanming-2024")
    check_jurisdiction(open_dataset(folder), load_profile("sanming-2024"))
    with pytest.raises(InputError, match="湖南省"):
        check_jurisdiction(open_dataset(folder), load_profile("hunan-2024"))


def test_a_province_holds_the_counties_of_its_cities(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, basic_insured=[basic_insured_row(CHANGSHA, 100),
                                                   basic_insured_row("431002", 100)])  # 郴州 北湖区
    check_jurisdiction(open_dataset(folder), load_profile("hunan-2024"))
    with pytest.raises(InputError):
        check_jurisdiction(open_dataset(folder), load_profile("sanming-2024"))
