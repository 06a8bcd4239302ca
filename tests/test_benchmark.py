"""The province benchmark (benchmarks/province.py) and its pandas baseline.

The baseline is pinned down on a golden folder whose answers are worked out by hand, including a
duplicated enrolment, a claim without an enrolment and a row for every other ERROR rule of
contract §2; on the same folder the product must give the same figures. A reduced run of the
whole benchmark proves it completes, writes every figure and finds the product equal to the
baseline. Timings are recorded, never asserted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hmb.core.paths import PROJECT_ROOT
from hmb.ingest.dataset import open_dataset
from hmb.rulebook.profiles import load_profile
from tests.builders import (
    basic_insured_row,
    claim_row,
    enrollment_row,
    expense_row,
    finance_row,
    insurer_row,
    metrics_json,
    participation_row,
    run_cli,
    write_folder,
)

BENCHMARKS = PROJECT_ROOT / "benchmarks"


def load(name: str) -> ModuleType:
    """A script of benchmarks/ as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


baseline = load("pandas_baseline")
province = load("province")
row_errors = load("row_errors")


def ratio(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def golden_folder(root: Path) -> Path:
    """湖南 (5 % margin, carry-forward pool), 2024 and 2025, insurers I1 0.6 and I2 0.4 in 2024.

    Every premium is 129. Accepted 2024 enrolments: E1, E2 (430102), E3, E4 (430103) active; C1
    cancelled in 430102 with a refund of 100. D1 is enrolled twice (both copies quarantined),
    X1 in a county without a basic-insurance base, and one row for every other ERROR rule; each
    would change a figure if it were counted. 2025: E1 again, 430102 only.
    """
    code = {"county_code": "430102"}
    bad_enrolments = [
        enrollment_row(member_id="D1", **code), enrollment_row(member_id="D1", **code),
        enrollment_row(member_id="X1", county_code="430199"),
        enrollment_row(member_id=None, **code),
        enrollment_row(member_id="  ", **code),
        enrollment_row(member_id="B1", county_code="43010"),
        enrollment_row(member_id="B2", channel="fax", **code),
        enrollment_row(member_id="B3", status="paused", **code),
        enrollment_row(member_id="B4", subsidy_group="vip", **code),
        enrollment_row(member_id="B5", sex="X", **code),
        enrollment_row(member_id="B6", scheme="other", **code),
        enrollment_row(member_id="B7", health_status=None, **code),
        enrollment_row(member_id="B8", premium=-129.0, **code),
        enrollment_row(member_id="B9", refund_amount=-1.0, **code),
        enrollment_row(member_id="B10", enroll_date=None, **code),
    ]
    paid = {"liability": "in_scope_copay", "county_code": "430102"}
    bad_claims = [
        claim_row(member_id="D1", claim_id="K2", paid_amount=1000.0, **paid),
        claim_row(member_id="ZZ", claim_id="K3", paid_amount=500.0, **paid),
        claim_row(member_id="E3", claim_id="K5", report_date="2024-03-25", **paid),
        claim_row(member_id="E4", claim_id="K6", paid_amount=10.0, **paid),
        claim_row(member_id="E4", claim_id="K6", paid_amount=10.0, **paid),
        claim_row(member_id="E1", claim_id="K8", service_date="2023-12-30",
                  report_date="2024-01-02", **paid),
        claim_row(member_id="E1", claim_id="K9", report_date="2024-02-01", **paid),
        claim_row(member_id="E1", claim_id="K10", settle_date=None, **paid),
        claim_row(member_id="E1", claim_id="K11", status="denied", paid_amount=5.0, **paid),
        claim_row(member_id="E1", claim_id="K12", status="lost", **paid),
        claim_row(member_id="E1", claim_id="K13", total_cost=-1.0, **paid),
        claim_row(member_id="E1", claim_id="K14", county_code="abc",
                  liability="in_scope_copay"),
        claim_row(member_id="E1", claim_id="K15", in_area=None, **paid),
        claim_row(member_id="E1", claim_id=None, **paid),
    ]
    return write_folder(
        root,
        basic_insured=[
            basic_insured_row("430102", 60),
            basic_insured_row("430102", 40, scheme="employee"),
            basic_insured_row("430103", 50),
            basic_insured_row("430102", 100, policy_year=2025),
        ],
        enrollment=[
            {**row, "premium": 129.0 if row["premium"] == 150.0 else row["premium"]}
            for row in [
                enrollment_row(member_id="E1", **code),
                enrollment_row(member_id="E2", **code),
                enrollment_row(member_id="E3", county_code="430103"),
                enrollment_row(member_id="E4", county_code="430103"),
                enrollment_row(member_id="C1", status="cancelled", refund_amount=100.0, **code),
                enrollment_row(member_id="E1", policy_year=2025, enroll_date="2024-12-01",
                               **code),
                *bad_enrolments,
            ]
        ],
        claims=[
            claim_row(member_id="E1", claim_id="K1", paid_amount=300.0, **paid),
            claim_row(member_id="E2", claim_id="K4", status="pending", settle_date=None,
                      paid_amount=0.0, **paid),
            claim_row(member_id="E1", claim_id="K7", policy_year=2025, service_date="2025-01-10",
                      report_date="2025-01-12", settle_date="2025-02-01", paid_amount=200.0,
                      **paid),
            *bad_claims,
        ],
        insurers=[
            insurer_row("I1", 0.6, role="lead"),
            insurer_row("I2", 0.4),
            insurer_row("I1", 1.0, role="lead", policy_year=2025),
        ],
        expenses=[expense_row("I1", 20.0), expense_row("I2", 5.5, category="it")],
    )


def test_baseline_golden_year_end(tmp_path: Path) -> None:
    folder = golden_folder(tmp_path)
    result = baseline.metrics(folder, load_profile("hunan-2024"), date(2025, 12, 31))

    assert participation_row(result, 2024, "430102") == {
        "policy_year": 2024, "county_code": "430102", "enrolled": 2, "insured_base": 100,
        "rate": ratio(0.02),  # E1, E2 of 60 + 40; C1 is cancelled, D1 and the rest quarantined
    }
    assert participation_row(result, 2024, "430103")["enrolled"] == 2  # E3, E4 of 50
    assert participation_row(result, 2024, None) == {
        "policy_year": 2024, "county_code": None, "enrolled": 4, "insured_base": 150,
        "rate": ratio(4 / 150),
    }
    assert participation_row(result, 2025, None)["rate"] == ratio(0.01)
    assert [r["county_code"] for r in result["participation"]] == [
        None, "430102", "430103", None, "430102"
    ]

    total = finance_row(result, 2024)
    assert total["written_premium"] == 545.0  # 4 × 129 + (129 − 100)
    assert total["earned_premium"] == 545.0  # the whole year has run
    assert total["claims_paid"] == 300.0  # K1 only: K2 (D1), K3 (no enrolment) and K5–K15 out
    assert total["expenses"] == 25.5
    assert total["loss_ratio"] == ratio(300 / 545)
    assert total["combined_ratio"] == ratio(325.5 / 545)
    assert total["profit"] == 219.5  # 545 − 300 − 25.5
    assert total["excess_surplus"] == 192.25  # 219.5 − 5 % × 545
    assert (total["pool_open"], total["pool_draw"], total["pool_close"]) == (0.0, 0.0, 192.25)

    first = finance_row(result, 2024, "I1")
    assert (first["written_premium"], first["claims_paid"], first["expenses"]) == (
        327.0, 180.0, 20.0)  # 60 % of 545 and of 300; its own expenses
    assert first["profit"] == 127.0
    assert first["excess_surplus"] == 110.65  # 127 − 5 % × 327
    assert first["pool_open"] is None
    second = finance_row(result, 2024, "I2")
    assert (second["profit"], second["excess_surplus"]) == (92.5, 81.6)  # 218 − 120 − 5.5

    later = finance_row(result, 2025)
    assert (later["written_premium"], later["claims_paid"], later["profit"]) == (
        129.0, 200.0, -71.0)
    assert later["excess_surplus"] == 0.0
    # The pool tops up the shortfall 5 % × 129 − (−71) = 77.45 from 192.25.
    assert (later["pool_open"], later["pool_draw"], later["pool_close"]) == (
        192.25, 77.45, 114.8)


def test_baseline_golden_part_year(tmp_path: Path) -> None:
    folder = golden_folder(tmp_path)
    result = baseline.metrics(folder, load_profile("hunan-2024"), date(2024, 3, 31))

    total = finance_row(result, 2024)
    assert total["earned_premium"] == 135.51  # 545 × 91 / 366 = 135.5054…
    assert total["profit"] == -189.99  # 135.5054… − 300 − 25.5 = −189.9945…
    assert total["loss_ratio"] == ratio(300 / (545 * 91 / 366))
    assert total["excess_surplus"] == 0.0
    assert finance_row(result, 2025)["earned_premium"] == 0.0  # 2025 has not begun
    assert finance_row(result, 2025)["loss_ratio"] is None


def test_baseline_default_as_of_is_the_latest_accepted_date(tmp_path: Path) -> None:
    result = baseline.metrics(golden_folder(tmp_path), load_profile("hunan-2024"))
    assert result["as_of"] == "2025-02-01"  # K7's settlement; quarantined rows do not count


@pytest.mark.parametrize("as_of", ["2024-03-31", "2025-12-31", None])
def test_product_equals_baseline_on_the_golden_folder(tmp_path: Path, as_of: str | None) -> None:
    folder = golden_folder(tmp_path)
    product = metrics_json(folder, "hunan-2024", as_of)
    expected = baseline.metrics(
        folder, load_profile("hunan-2024"), date.fromisoformat(as_of) if as_of else None
    )
    assert province.compare(product, expected) == []


def test_compare_reports_a_fen(tmp_path: Path) -> None:
    folder = golden_folder(tmp_path)
    product = metrics_json(folder, "hunan-2024", "2025-12-31")
    changed = json.loads(json.dumps(product))
    changed["finance"][0]["claims_paid"] += 0.01
    changed["participation"][0]["rate"] += 1e-6
    assert len(province.compare(product, changed)) == 2


def test_the_benchmark_times_every_page_of_the_app() -> None:
    from dashboard.app import PAGES  # noqa: PLC0415 (Streamlit, for this test only)

    assert list(province.PAGES) == [name for name, _, _ in PAGES]


def test_a_page_child_says_whether_it_had_to_build_the_store(tmp_path: Path) -> None:
    folder = golden_folder(tmp_path / "data")
    env = {**os.environ, "HMB_CACHE_DIR": str(tmp_path / "cache")}

    def store_built() -> bool:
        done = subprocess.run(
            [sys.executable, str(BENCHMARKS / "province.py"), "queries", str(folder),
             "--profile", "hunan-2024", "--page", "rulebook"],
            env=env, capture_output=True, text=True, check=True, timeout=120,
        )
        built: bool = json.loads(done.stdout)["store_built"]
        return built

    assert store_built()  # an empty cache
    # Opening the store again touches it (it was used): that is no rebuild.
    assert not store_built()


@pytest.mark.slow
def test_reduced_benchmark_run(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "province.py"), "--sizes", "sanming-2024:0.1",
         "--repeat", "1", "--data-dir", str(tmp_path / "data"), "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "equals the pandas baseline" in done.stdout

    result = json.loads((out / "province.json").read_text(encoding="utf-8"))
    assert set(result["machine"]) == {"platform", "cpu", "cores", "ram_gb"}
    assert result["versions"]["duckdb"] and result["versions"]["pandas"]
    (size,) = result["sizes"]
    assert size["rows"]["enrollment"] > 0 and size["rows"]["claims"] > 0
    planted = size["runs"]["generate"]["planted_row_errors"]
    assert planted["enrollment"] > 0 and planted["claims"] > 0  # the export is not clean
    assert set(size["runs"]) == set(province.LABELS)
    for name, run in size["runs"].items():
        assert run["wall_s"] > 0 and run["peak_rss_mb"] > 0, name
    for ratios in size["ratios"].values():
        assert ratios["wall"] > 0 and ratios["peak_rss"] > 0
    # The app after a restart, page by page, on the store hmb metrics built.
    assert [p["page"] for p in size["pages"]] == list(province.PAGES)
    for page in size["pages"]:
        assert all(page[k] > 0 for k in ("imports_s", "first_s", "again_s", "county_s"))
        assert page["first_view_s"] == pytest.approx(page["imports_s"] + page["first_s"],
                                                     abs=0.002)
        assert page["county"] and page["store_built"] is False
        assert page["process_s"] > page["first_view_s"] and page["peak_rss_mb"] > 0
    heaviest = max(size["pages"], key=lambda p: p["first_view_s"])
    assert size["heaviest_page"]["page"] == heaviest["page"]
    assert size["heaviest_page"]["county_s"] == heaviest["county_s"]
    assert [p["page"] for p in size["page_queries"]] == list(province.PAGES)
    for page in size["page_queries"]:
        assert all(page[k] >= 0 for k in ("open_s", "first_s", "again_s"))
        assert page["store_built"] is False and page["peak_rss_mb"] > 0
    assert size["comparison"] == {
        "equal": True, "differences": [],
        "participation_rows": size["comparison"]["participation_rows"],
        "finance_rows": size["comparison"]["finance_rows"],
    }
    product = json.loads((out / f"{size['size']}.metrics.json").read_text(encoding="utf-8"))
    pandas = json.loads((out / f"{size['size']}.pandas.json").read_text(encoding="utf-8"))
    assert province.compare(product, pandas) == []
    assert product["finance"] and product["participation"]


def test_planted_row_errors_are_caught_by_their_rules(tmp_path: Path) -> None:
    """benchmarks/row_errors.py makes the benchmark's export realistic: each kind of planted row
    is quarantined by the rule it breaks, the rows that are valid once trimmed are accepted,
    the product still equals the baseline, and --remove gives the generated demo back."""
    from hmb.tools.demo import write_demo  # noqa: PLC0415

    folder = tmp_path / "demo"
    write_demo(folder, "sanming-2024", seed=0, scale=0.05)
    clean = metrics_json(folder)
    assert not row_errors.current(folder)
    planted = row_errors.plant(folder, seed=0)
    assert row_errors.current(folder)  # the benchmark reuses the folder as it is
    assert set(planted["files"]) == {
        f"{table}/policy_year={year}/part-errors.parquet"
        for table in ("enrollment", "claims") for year in (2022, 2023, 2024)
    }
    validated = run_cli("validate", folder, "--format", "json")
    assert validated.code == 0, validated.err
    report = validated.json()
    caught = {(e["table"], e["rule"]) for e in report["errors"]}
    assert caught >= {
        ("enrollment", "duplicate_key"), ("enrollment", "null_required"),
        ("enrollment", "unknown_county"), ("enrollment", "invalid_value"),
        ("enrollment", "negative_amount"), ("claims", "claim_without_enrollment"),
        ("claims", "duplicate_key"), ("claims", "report_before_service"),
        ("claims", "paid_without_settle_date"),
    }
    with open_dataset(folder).connect() as con:
        quarantined = {m for (m,) in con.execute(
            "select member_id from quarantine_enrollment where member_id like 'ERR-%'"
        ).fetchall()}
        accepted_padded = con.execute(
            "select count(*) from claims where claim_id like 'ERR-%'"
        ).fetchall()[0][0]
    kinds = planted["files"]["enrollment/policy_year=2024/part-errors.parquet"]
    # New IDs: unknown county, invalid channel, negative refund (quarantined); two padded kinds
    # (accepted). Each of the three years has its own.
    assert len(quarantined) == 3 * sum(
        kinds[k] for k in ("unknown_county", "invalid_channel", "negative_refund"))
    assert accepted_padded == 3 * planted["files"][
        "claims/policy_year=2024/part-errors.parquet"]["valid_padded_member"]
    product = metrics_json(folder)
    assert product != clean
    assert province.compare(product, baseline.metrics(folder, load_profile("sanming-2024"))) == []
    row_errors.remove(folder)
    assert not row_errors.current(folder)
    assert metrics_json(folder) == clean
