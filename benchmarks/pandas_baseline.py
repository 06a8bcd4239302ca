"""The contract's metrics in plain pandas: the baseline a bureau analyst would write.

    uv run python benchmarks/pandas_baseline.py DIR --profile NAME [--as-of YYYY-MM-DD]

Prints the same JSON object as ``hmb metrics DIR --profile NAME --format json`` (contract §4), so
the two can be compared figure by figure. It is written independently of the product: it reads
the parquet files with pandas, applies the row ERROR rules of contract §2 that decide which rows
count (every rule, every copy of a duplicated key), and computes contract §3 with boolean masks,
groupby and division. Only the rulebook parameters (margin, pool) come from
``hmb.rulebook.profiles``.

How it stays within memory at province scale (tens of millions of enrolment rows): it reads only
the columns the rules and metrics need, low-cardinality text as categoricals and amounts as
pyarrow decimals, and takes the enrolment table one policy year at a time (the enrolment key and
the claim-to-enrolment rule are both within a year). Each year's accepted enrolments are reduced
to daily totals per county, so the as-of date can be applied once all years are read.

Money is converted to integer fen (int64) before it is summed, and the few per-year figures are
combined as exact fractions, rounded half up to the fen at the end, so the results agree with the
product to the fen. A ratio with a zero denominator is null. Fatal problems (a missing table or
column, raw ID numbers) are out of scope: the product refuses such a folder, this script assumes
a folder the product accepts.
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hmb.core.counties import outside_counties  # the GB/T 2260 list: data, not a metric
from hmb.rulebook.profiles import Profile, load_profile

# Enumerations of contract §1 (and the product's sex codes, which it checks as well).
ALLOWED: dict[str, tuple[str, ...]] = {
    "scheme": ("employee", "resident"),
    "health_status": ("healthy", "preexisting"),
    "subsidy_group": (
        "tekun", "dibao", "dibian", "low_income_farmer", "wulao", "orphan", "other",
    ),
    "channel": (
        "wechat", "bank", "personal_account", "cash", "employer", "government", "app", "other",
    ),
    "enrollment_status": ("active", "cancelled"),
    "claim_status": ("paid", "denied", "pending"),
    "role": ("lead", "member"),
    "category": ("operations", "promotion", "it", "staff", "reinsurance", "other"),
    "sex": ("M", "F"),
}

ENROLLMENT_COLUMNS = (
    "policy_year", "member_id", "county_code", "scheme", "health_status", "subsidy_group",
    "premium", "subsidy_amount", "channel", "enroll_date", "status", "refund_amount", "sex",
)
ENROLLMENT_REQUIRED = (
    "policy_year", "member_id", "county_code", "scheme", "health_status", "premium", "channel",
    "enroll_date", "status",
)
ENROLLMENT_CATEGORICAL = (
    "county_code", "scheme", "health_status", "subsidy_group", "channel", "status", "sex",
)
CLAIM_AMOUNTS = (
    "total_cost", "basic_paid", "critical_paid", "assistance_paid", "eligible_amount",
    "paid_amount",
)
CLAIM_COLUMNS = (
    "claim_id", "member_id", "policy_year", "county_code", "liability", "in_area",
    "service_date", "report_date", "settle_date", *CLAIM_AMOUNTS, "status", "one_stop",
)
CLAIM_CATEGORICAL = ("county_code", "liability", "status")


# --- reading --------------------------------------------------------------------------------------


def table_paths(folder: Path, name: str) -> list[Path]:
    """``NAME.parquet`` and/or the folder ``NAME/`` (possibly hive-partitioned)."""
    return [p for p in (folder / f"{name}.parquet", folder / name) if p.exists()]


def read(
    folder: Path,
    name: str,
    columns: Sequence[str],
    *,
    categorical: Sequence[str] = (),
    year: int | None = None,
) -> pd.DataFrame:
    """The columns of a table that exist (absent optional ones come back as all-null)."""
    frames = []
    for path in table_paths(folder, name):
        present = set(pq.ParquetDataset(path).schema.names)
        wanted = [c for c in columns if c in present]
        table = pq.read_table(
            path,
            columns=wanted,
            filters=[("policy_year", "==", year)] if year is not None else None,
            read_dictionary=[c for c in categorical if c in wanted],
        )
        # Amounts stay exact (pyarrow decimals, not Python Decimal objects); dates become
        # datetime64 instead of Python date objects.
        frame = table.to_pandas(types_mapper=_decimal_as_arrow, date_as_object=False)
        for col in columns:
            if col not in frame.columns:
                frame[col] = pd.NA
        frames.append(frame[list(columns)])
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if "policy_year" in frame.columns:
        frame["policy_year"] = integers(frame["policy_year"])
    return frame


def _decimal_as_arrow(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(arrow_type) if pa.types.is_decimal(arrow_type) else None


def integers(series: pd.Series) -> pd.Series:
    """Whole numbers (a hive partition key arrives as a categorical); bad text is null."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(series.cat.categories.dtype)
    if pd.api.types.is_string_dtype(series.dtype):
        series = text(series)
    return pd.to_numeric(series, errors="coerce").astype("Int64")


def policy_years(folder: Path, name: str) -> list[int]:
    years = read(folder, name, ["policy_year"])["policy_year"].dropna().unique()
    return sorted(int(y) for y in years)


# --- cleaning: the typed value the rules look at --------------------------------------------------

# What the contract trims from either end of a text value (docs/tables.md): the Unicode space
# separators (category Zs: the space, the no-break space, the full-width space U+3000, ...) and
# the tab, line feed and carriage return. Not str.strip()'s broader idea of white space.
SPACES = (
    " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\t\n\r"
)


def text(series: pd.Series) -> pd.Series:
    """Trimmed text; blank is null."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.cat.rename_categories(lambda c: str(c).strip(SPACES)) if (
            series.cat.categories.str.strip(SPACES).is_unique
        ) else series.astype("str").str.strip(SPACES)
    elif len(series) and series.notna().any():
        series = series.astype("str").str.strip(SPACES)
    return series.mask(series.isna() | (series == ""))


def fen(series: pd.Series) -> pd.Series:
    """Yuan (decimal, double or text) as nullable integer fen."""
    if isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_decimal(series.dtype.pyarrow_dtype):
        return (series * 100).astype("int64[pyarrow]").astype("Int64")
    if pd.api.types.is_string_dtype(series.dtype) or isinstance(
        series.dtype, pd.CategoricalDtype
    ):
        series = text(series)
    numbers = pd.to_numeric(series, errors="coerce")
    return (numbers * 100).round().astype("Int64")


def dates(series: pd.Series) -> pd.Series:
    """DATE columns, or ISO text (dates and timestamps), as datetime64; bad text is NaT."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.dt.normalize()
    parsed = pd.to_datetime(text(series), format="ISO8601", errors="coerce")
    return parsed.dt.normalize()


def booleans(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series
    words = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}
    return text(series).str.lower().map(words)


def raw_blank(series: pd.Series) -> pd.Series:
    """Null, or text that is blank once trimmed (looked at before a cast hides it)."""
    if pd.api.types.is_string_dtype(series.dtype) or isinstance(
        series.dtype, pd.CategoricalDtype
    ):
        return text(series).isna()
    return series.isna()


class Errors:
    """Which rows break at least one ERROR rule of contract §2."""

    def __init__(self, index: pd.Index) -> None:
        self.broken = pd.Series(False, index=index)

    def add(self, mask: pd.Series) -> None:
        self.broken |= mask.fillna(False).astype(bool)

    @property
    def ok(self) -> pd.Series:
        return ~self.broken


def check_present(errors: Errors, raw: pd.DataFrame, typed: pd.DataFrame,
                  required: Iterable[str], text_columns: Iterable[str]) -> None:
    """null_required and unparseable_value. Text columns are already trimmed in ``typed``: a
    required one that is null there is blank; other columns are looked at raw, then cast."""
    texts = set(text_columns)
    for col in required:
        errors.add(typed[col].isna() if col in texts else raw_blank(raw[col]))
    for col in typed.columns:
        if col not in texts:
            errors.add(typed[col].isna() & ~raw_blank(raw[col]))


def six_digits(codes: pd.Series) -> pd.Series:
    """A county code of six digits (or null, which is another rule's business)."""
    if isinstance(codes.dtype, pd.CategoricalDtype):
        names = codes.cat.categories.astype("str")
        return codes.isna() | codes.isin(names[names.str.fullmatch(r"[0-9]{6}")])
    return codes.isna() | codes.astype("str").str.fullmatch(r"[0-9]{6}")


def check_allowed(errors: Errors, values: pd.Series, allowed: Sequence[str]) -> None:
    errors.add(values.notna() & ~values.isin(allowed))


def duplicated(frame: pd.DataFrame, key: list[str]) -> pd.Series:
    """Every copy of a key that appears more than once (rows with a null key part never count)."""
    complete = frame[key].notna().all(axis=1)
    return complete & frame.duplicated(key, keep=False)


# --- the small tables -----------------------------------------------------------------------------


def accepted_basic_insured(folder: Path) -> pd.DataFrame:
    raw = read(folder, "basic_insured", ["policy_year", "county_code", "scheme", "insured_count"])
    df = pd.DataFrame({
        "policy_year": raw["policy_year"],
        "county_code": text(raw["county_code"]),
        "scheme": text(raw["scheme"]),
        "insured_count": integers(raw["insured_count"]),
    })
    errors = Errors(df.index)
    check_present(errors, raw, df, df.columns, ["county_code", "scheme"])
    check_allowed(errors, df["scheme"], ALLOWED["scheme"])
    errors.add(~six_digits(df["county_code"]))
    errors.add(df["insured_count"] < 0)
    errors.add(duplicated(df, ["policy_year", "county_code", "scheme"]))
    return df[errors.ok].astype({"policy_year": "int64", "insured_count": "int64"})


def accepted_insurers(folder: Path) -> pd.DataFrame:
    raw = read(folder, "insurers", ["policy_year", "insurer_id", "insurer_name", "role", "share"])
    df = pd.DataFrame({
        "policy_year": raw["policy_year"],
        "insurer_id": text(raw["insurer_id"]),
        "insurer_name": text(raw["insurer_name"]),
        "role": text(raw["role"]),
        "share": pd.to_numeric(raw["share"], errors="coerce"),
    })
    errors = Errors(df.index)
    check_present(errors, raw, df, df.columns, ["insurer_id", "insurer_name", "role"])
    check_allowed(errors, df["role"], ALLOWED["role"])
    errors.add((df["share"] < 0) | (df["share"] > 1))
    errors.add(duplicated(df, ["policy_year", "insurer_id"]))
    return df[errors.ok].astype({"policy_year": "int64"})


def accepted_expenses(folder: Path) -> pd.DataFrame:
    raw = read(folder, "expenses", ["policy_year", "insurer_id", "category", "amount"])
    df = pd.DataFrame({
        "policy_year": raw["policy_year"],
        "insurer_id": text(raw["insurer_id"]),
        "category": text(raw["category"]),
        "amount": fen(raw["amount"]),
    })
    errors = Errors(df.index)
    check_present(errors, raw, df, df.columns, ["insurer_id", "category"])
    check_allowed(errors, df["category"], ALLOWED["category"])
    errors.add(df["amount"] < 0)
    return df[errors.ok].astype({"policy_year": "int64", "amount": "int64"})


# --- claims: every rule but "has an accepted enrolment", which is checked year by year ------------


def checked_claims(folder: Path) -> tuple[pd.DataFrame, Errors]:
    """The claims with the columns the metrics need, and the rows broken so far."""
    raw = read(folder, "claims", CLAIM_COLUMNS, categorical=CLAIM_CATEGORICAL)
    df = pd.DataFrame({
        "claim_id": text(raw["claim_id"]),
        "member_id": text(raw["member_id"]),
        "policy_year": raw["policy_year"],
        "county_code": text(raw["county_code"]),
        "liability": text(raw["liability"]),
        "in_area": booleans(raw["in_area"]),
        "service_date": dates(raw["service_date"]),
        "report_date": dates(raw["report_date"]),
        "settle_date": dates(raw["settle_date"]),
        **{col: fen(raw[col]) for col in CLAIM_AMOUNTS},
        "status": text(raw["status"]),
        "one_stop": booleans(raw["one_stop"]),
    })
    errors = Errors(df.index)
    check_present(errors, raw, df, [c for c in CLAIM_COLUMNS if c != "settle_date"],
                  ["claim_id", "member_id", "county_code", "liability", "status"])
    check_allowed(errors, df["status"], ALLOWED["claim_status"])
    errors.add(~six_digits(df["county_code"]))
    for col in CLAIM_AMOUNTS:
        errors.add(df[col] < 0)
    errors.add(duplicated(df, ["claim_id"]))
    # A comparison with a null is no hit, as in SQL.
    errors.add(df["service_date"].dt.year != df["policy_year"])
    errors.add(df["report_date"] < df["service_date"])
    errors.add(df["settle_date"] < df["report_date"])
    errors.add((df["status"] == "paid") & df["settle_date"].isna())
    errors.add(df["status"].isin(["denied", "pending"]) & (df["paid_amount"] > 0))
    kept = ["member_id", "policy_year", "report_date", "settle_date", "paid_amount", "status"]
    return df[kept], errors


# --- enrolment, one policy year at a time ---------------------------------------------------------


@dataclass
class EnrollmentYear:
    """What the metrics need from one year's accepted enrolments."""

    daily: pd.DataFrame  # per county_code and enroll_date: active members, written premium (fen)
    latest: pd.Timestamp | None
    rows: int
    covered: pd.Series  # claims of the year whose member has an accepted enrolment


ENROLLMENT_TEXT = ("member_id", *ENROLLMENT_CATEGORICAL)


def enrollment_year(folder: Path, year: int, counties: set[str], claims: pd.DataFrame,
                    elsewhere: frozenset[str] = frozenset()) -> EnrollmentYear:
    """Validate one policy year of enrolment (the key and the county rule are within a year)."""
    raw = read(folder, "enrollment", [c for c in ENROLLMENT_COLUMNS if c != "policy_year"],
               categorical=ENROLLMENT_CATEGORICAL, year=year)
    df = pd.DataFrame({
        **{col: text(raw[col]) for col in ENROLLMENT_TEXT},
        "premium": fen(raw["premium"]),
        "subsidy_amount": fen(raw["subsidy_amount"]),
        "refund_amount": fen(raw["refund_amount"]),
        "enroll_date": dates(raw["enroll_date"]),
    })
    errors = Errors(df.index)
    check_present(errors, raw, df, [c for c in ENROLLMENT_REQUIRED if c != "policy_year"],
                  ENROLLMENT_TEXT)
    del raw
    df["subsidy_amount"] = df["subsidy_amount"].fillna(0)  # optional, default 0
    df["refund_amount"] = df["refund_amount"].fillna(0)
    for col, allowed in (("scheme", "scheme"), ("health_status", "health_status"),
                         ("subsidy_group", "subsidy_group"), ("channel", "channel"),
                         ("status", "enrollment_status"), ("sex", "sex")):
        check_allowed(errors, df[col], ALLOWED[allowed])
    errors.add(~six_digits(df["county_code"]))
    for col in ("premium", "subsidy_amount", "refund_amount"):
        errors.add(df[col] < 0)
    errors.add(duplicated(df, ["member_id"]))  # the year is fixed: the key is the member
    # A county absent from basic_insured is an error, unless the rulebook accepts members
    # insured elsewhere (三明 三（二）) and it is a county outside the jurisdiction: those count
    # in finance, never in participation (which merges on basic_insured's counties).
    errors.add(df["county_code"].notna() & ~df["county_code"].isin(counties)
               & ~df["county_code"].isin(elsewhere))
    ok = df[errors.ok]
    del df

    of_year = claims["policy_year"] == year
    members = ok["member_id"]
    found = set(members[members.isin(claims.loc[of_year, "member_id"])])
    covered = of_year & claims["member_id"].isin(found)

    daily = (
        pd.DataFrame({
            "county_code": ok["county_code"].astype("str"),
            "enroll_date": ok["enroll_date"],
            "active": (ok["status"] == "active").astype("int64"),
            "written": (ok["premium"] - ok["refund_amount"]).astype("int64"),
        })
        .groupby(["county_code", "enroll_date"], as_index=False)[["active", "written"]]
        .sum()
    )
    latest = ok["enroll_date"].max() if len(ok) else None
    return EnrollmentYear(daily, latest, len(ok), covered.fillna(False).astype(bool))


# --- the metrics ----------------------------------------------------------------------------------


def half_up(fen_amount: Fraction) -> int:
    """Round an amount in fen to a whole fen, halves away from zero (ROUND_HALF_UP)."""
    whole = math.floor(abs(fen_amount) + Fraction(1, 2))
    return whole if fen_amount >= 0 else -whole


def yuan(fen_amount: Fraction | None) -> float | None:
    return None if fen_amount is None else half_up(fen_amount) / 100


def ratio(numerator: Fraction | int, denominator: Fraction | int) -> float | None:
    return None if denominator == 0 else float(Fraction(numerator) / Fraction(denominator))


def earned_fraction(year: int, as_of: date) -> Fraction:
    days = 366 if calendar.isleap(year) else 365
    elapsed = (as_of - date(year, 1, 1)).days + 1
    return Fraction(min(max(elapsed, 0), days), days)


MONEY = ("written_premium", "earned_premium", "claims_paid", "expenses", "profit",
         "excess_surplus", "pool_open", "pool_draw", "pool_close")


def finance_row(year: int, insurer: dict[str, Any] | None, *, written: Fraction,
                earned: Fraction, claims: Fraction, expenses: Fraction,
                margin: Fraction | None) -> dict[str, Any]:
    """One finance row, money in exact fen (rounded at the end)."""
    profit = earned - claims - expenses
    return {
        "policy_year": year,
        "insurer_id": insurer["insurer_id"] if insurer else None,
        "written_premium": written,
        "earned_premium": earned,
        "claims_paid": claims,
        "expenses": expenses,
        "loss_ratio": ratio(claims, earned),
        "combined_ratio": ratio(claims + expenses, earned),
        "profit": profit,
        "excess_surplus": None if margin is None else max(Fraction(0), profit - margin * earned),
        "pool_open": None,
        "pool_draw": None,
        "pool_close": None,
        "insurer_name": insurer["insurer_name"] if insurer else None,
        "share": float(insurer["share"]) if insurer else None,
        "profit_rate": ratio(profit, earned),
    }


def participation_rows(basic: pd.DataFrame, years: dict[int, EnrollmentYear],
                       cut: pd.Timestamp) -> list[dict[str, Any]]:
    """Enrolled (active, paid by D) against the basic-insurance base, per county and in all."""
    base = basic.groupby(["policy_year", "county_code"], as_index=False)["insured_count"].sum()
    enrolled = pd.DataFrame(
        [(year, county, int(active))
         for year, y in years.items()
         for county, active in y.daily[y.daily["enroll_date"] <= cut]
         .groupby("county_code")["active"].sum().items()],
        columns=["policy_year", "county_code", "enrolled"],
    )
    table = base.merge(enrolled, on=["policy_year", "county_code"], how="left")
    table["enrolled"] = table["enrolled"].fillna(0).astype("int64")
    rows: list[dict[str, Any]] = []
    for year, counties in table.sort_values(["policy_year", "county_code"]).groupby("policy_year"):
        total_enrolled = int(counties["enrolled"].sum())
        total_base = int(counties["insured_count"].sum())
        rows.append({"policy_year": int(year), "county_code": None, "enrolled": total_enrolled,
                     "insured_base": total_base, "rate": ratio(total_enrolled, total_base)})
        rows += [
            {"policy_year": int(year), "county_code": str(county), "enrolled": int(enrolled_),
             "insured_base": int(insured), "rate": ratio(int(enrolled_), int(insured))}
            for county, enrolled_, insured in zip(
                counties["county_code"], counties["enrolled"], counties["insured_count"],
                strict=True,
            )
        ]
    return rows


def finance_rows(profile: Profile, as_of: date, *, years: dict[int, EnrollmentYear],
                 claims: pd.DataFrame, insurers: pd.DataFrame,
                 expenses: pd.DataFrame) -> list[dict[str, Any]]:
    """Per policy year (in accepted enrolment or insurers): all insurers, then each insurer."""
    cut = pd.Timestamp(as_of)
    paid = claims[(claims["status"] == "paid") & (claims["settle_date"] <= cut)]
    claims_paid = paid.groupby("policy_year")["paid_amount"].sum()
    own_expenses = expenses.groupby(["policy_year", "insurer_id"])["amount"].sum()
    year_expenses = expenses.groupby("policy_year")["amount"].sum()
    policy_years_found = {y for y, e in years.items() if e.rows} | set(insurers["policy_year"])

    rows: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    for year in sorted(int(y) for y in policy_years_found):
        daily = years[year].daily if year in years else None
        written = Fraction(
            0 if daily is None else int(daily.loc[daily["enroll_date"] <= cut, "written"].sum())
        )
        earned = written * earned_fraction(year, as_of)
        margin_value = profile.margin(year)
        margin = None if margin_value is None else Fraction(str(margin_value))
        total = finance_row(
            year, None, written=written, earned=earned,
            claims=Fraction(int(claims_paid.get(year, 0))),
            expenses=Fraction(int(year_expenses.get(year, 0))), margin=margin,
        )
        totals.append(total)
        rows.append(total)
        group = insurers[insurers["policy_year"] == year].sort_values("insurer_id")
        for insurer in group.to_dict("records"):
            share = Fraction(repr(float(insurer["share"])))  # the share as written, in decimal
            own = Fraction(int(own_expenses.get((year, insurer["insurer_id"]), 0)))
            rows.append(finance_row(
                year, insurer, written=written * share, earned=earned * share,
                claims=total["claims_paid"] * share, expenses=own, margin=margin,
            ))

    # The carry-forward pool, for the jurisdiction only (湘政办发〔2024〕5号 三).
    if any(profile.keeps_pool(row["policy_year"]) for row in totals):
        balance = Fraction(str(profile.pool_opening_balance)) * 100
        for row in totals:
            margin = Fraction(str(profile.margin(row["policy_year"]) or 0))
            shortfall = max(Fraction(0), margin * row["earned_premium"] - row["profit"])
            draw = min(balance, shortfall)
            close = balance - draw + (row["excess_surplus"] or 0)
            row.update(pool_open=balance, pool_draw=draw, pool_close=close)
            balance = close

    for row in rows:
        row.update({key: yuan(row[key]) for key in MONEY})
    return rows


def metrics(folder: Path, profile: Profile, as_of: date | None = None) -> dict[str, Any]:
    """The JSON object of ``hmb metrics FOLDER --profile P [--as-of D] --format json``."""
    basic = accepted_basic_insured(folder)
    insurers = accepted_insurers(folder)
    expenses = accepted_expenses(folder)
    claims, claim_errors = checked_claims(folder)

    years: dict[int, EnrollmentYear] = {}
    covered = pd.Series(False, index=claims.index)
    elsewhere = frozenset(
        outside_counties(profile.insured_elsewhere) if profile.insured_elsewhere else ()
    )
    for year in policy_years(folder, "enrollment"):
        counties = set(basic.loc[basic["policy_year"] == year, "county_code"])
        years[year] = enrollment_year(folder, year, counties, claims, elsewhere)
        covered |= years[year].covered
    has_member = claims["member_id"].notna() & claims["policy_year"].notna()
    claim_errors.add(has_member & ~covered)
    claims = claims[claim_errors.ok]

    if as_of is None:
        found = [y.latest for y in years.values() if y.latest is not None and pd.notna(y.latest)]
        found += [d for d in (claims["report_date"].max(), claims["settle_date"].max())
                  if pd.notna(d)]
        if not found:
            raise SystemExit("没有被接受的日期 no accepted dates in the folder: give --as-of")
        as_of = max(found).date()
    return {
        "profile": profile.name,
        "as_of": as_of.isoformat(),
        "participation": participation_rows(basic, years, pd.Timestamp(as_of)),
        "finance": finance_rows(profile, as_of, years=years, claims=claims, insurers=insurers,
                                expenses=expenses),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD")
    args = parser.parse_args(argv)
    result = metrics(args.folder, load_profile(args.profile), args.as_of)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
