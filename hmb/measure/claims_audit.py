"""The claims audit (contract §6): what each settled claim should have paid under the benefit table.

The arithmetic runs in DuckDB, in window functions over the stored claims
(queries/claims_audit.sql): per member, policy year and liability, in order of service date then
claim id, the deductible is consumed, the ratio of the member's health status applies (with the
document's exception for assisted persons), and the annual cap limits the running total of
payables, each rounded to the fen half up in DECIMAL. Only what a reader needs comes to Python:
the mispaid claims, the totals per policy year, county and liability, and the count of claims on
liabilities the audit cannot recompute. docs/claims_audit.md says how each cell is read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import queries
from hmb.measure.metrics import ratio as safe_ratio
from hmb.measure.metrics import to_fen

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from hmb.rulebook.profiles import Citation, Profile, TableRow

FEN = Decimal("0.01")
ZERO = Decimal(0)

@dataclass(frozen=True)
class AuditedClaim:
    """One audited claim whose payment differs from the table's payable, with its arithmetic."""

    claim_id: str
    member_id: str
    policy_year: int
    county_code: str
    liability: str
    service_date: date
    status: str
    health_status: str
    assisted: bool
    eligible: Decimal
    deductible: Decimal
    annual_deductible: bool
    deductible_applied: Decimal
    ratio: Decimal
    cap: Decimal
    cap_room: Decimal
    uncapped: Decimal
    paid_amount: Decimal
    payable: Decimal
    difference: Decimal
    reason: str
    clause: str = ""

    @property
    def overpaid(self) -> bool:
        return self.difference > 0

    def as_json(self) -> dict[str, Any]:
        """The fields contract §6 prints, and no member id."""
        return {
            "claim_id": self.claim_id,
            "policy_year": self.policy_year,
            "liability": self.liability,
            "status": self.status,
            "paid_amount": float(self.paid_amount),
            "payable": float(self.payable),
            "difference": float(self.difference),
            "reason": self.reason,
        }

    def arithmetic(self, lang: str = "zh") -> str:
        """The payable written out: (eligible − deductible) × ratio, the cap where it binds,
        and what was paid."""
        ratio = f"{(self.ratio * 100).normalize():f}%"
        deductible = _amount(self.deductible_applied)
        if lang == "zh":
            taken = "年免赔额剩余" if self.annual_deductible else "每次免赔额"
            text = (f"可赔 = (合规费用 {_amount(self.eligible)} − {taken} {deductible}) × {ratio}"
                    f" = {self.uncapped:,.2f} 元")
            if self.payable < self.uncapped:
                text += f"，年度保额余额 {self.cap_room:,.2f} 元，可赔 {self.payable:,.2f} 元"
            return text + f"；实付 {self.paid_amount:,.2f} 元，差额 {self.difference:+,.2f} 元"
        taken = "annual deductible left" if self.annual_deductible else "per-claim deductible"
        text = (f"payable = (eligible {_amount(self.eligible)} − {taken} {deductible}) × {ratio}"
                f" = {self.uncapped:,.2f} yuan")
        if self.payable < self.uncapped:
            text += (f"; annual cap left {self.cap_room:,.2f} yuan, payable"
                     f" {self.payable:,.2f} yuan")
        return text + (f"; paid {self.paid_amount:,.2f} yuan, difference"
                       f" {self.difference:+,.2f} yuan")


@dataclass(frozen=True)
class AuditCell:
    """Audited claims of one policy year, county and liability, and what was mispaid."""

    policy_year: int
    county_code: str | None
    liability: str | None
    claims_audited: int
    paid_amount: Decimal
    overpaid_count: int
    overpaid_amount: Decimal
    underpaid_count: int
    underpaid_amount: Decimal

    @property
    def mispaid_amount(self) -> Decimal:
        return self.overpaid_amount + self.underpaid_amount

    @property
    def mispaid_share(self) -> float | None:
        """Mispaid amount (over- and under-payments added) / amount paid; None if nothing paid."""
        return safe_ratio(self.mispaid_amount, self.paid_amount)

    def as_json(self) -> dict[str, Any]:
        """A row of contract §6's summary."""
        return {
            "policy_year": self.policy_year,
            "county_code": self.county_code,
            "claims_audited": self.claims_audited,
            "overpaid_count": self.overpaid_count,
            "overpaid_amount": float(self.overpaid_amount),
            "underpaid_count": self.underpaid_count,
            "underpaid_amount": float(self.underpaid_amount),
        }


@dataclass(frozen=True)
class NotAuditedRow:
    liability: str
    claims: int
    clause: str | None
    reason_zh: str
    reason_en: str

    def as_json(self) -> dict[str, Any]:
        return {"liability": self.liability, "claims": self.claims,
                "reason": f"{self.reason_zh} {self.reason_en}"}


@dataclass(frozen=True)
class ClaimsAudit:
    profile: str
    as_of: date
    claims: tuple[AuditedClaim, ...]  # the mispaid, by policy year and claim id
    cells: tuple[AuditCell, ...]  # by policy year, county and liability
    not_audited: tuple[NotAuditedRow, ...]

    @property
    def summary(self) -> tuple[AuditCell, ...]:
        """One row per policy year and county, then the year's whole-jurisdiction row
        (``county_code`` None), as contract §6 lists them."""
        rows = _totals(self.cells, lambda c: (c.policy_year, c.county_code))
        rows += _totals(self.cells, lambda c: (c.policy_year, None))
        return tuple(sorted(rows, key=lambda r: (r.policy_year, r.county_code is None,
                                                 r.county_code or "")))

    def by_liability(self) -> tuple[AuditCell, ...]:
        """One row per policy year and liability, all counties."""
        rows = _totals(self.cells, lambda c: (c.policy_year, None), liability=True)
        return tuple(sorted(rows, key=lambda r: (r.policy_year, r.liability or "")))

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "as_of": self.as_of.isoformat(),
            "claims": [claim.as_json() for claim in self.claims],
            "summary": [row.as_json() for row in self.summary],
            "not_audited": [row.as_json() for row in self.not_audited],
        }


def claims_audit(con: duckdb.DuckDBPyConnection, profile: Profile, as_of: date) -> ClaimsAudit:
    """Audit the store's settled claims against the profile's benefit table (contract §6)."""
    table = profile.benefit_table
    rows = table.rows if table is not None else ()
    settled = {
        r["liability"]: int(r["claims"])
        for r in queries.rows(con, "claims_settled_by_liability", as_of=as_of)
    }
    not_audited = _not_audited(profile, settled)
    if not rows:
        return ClaimsAudit(profile.name, as_of, (), (), not_audited)
    cursor = con.cursor()
    try:
        audited = cursor.sql(queries.load("claims_audit"), params=parameters(profile, as_of))
        mispaid = audited.filter("abs(difference) >= 0.01").order("policy_year, claim_id")
        columns = mispaid.columns
        claims = tuple(
            _with_clause(AuditedClaim(**dict(zip(columns, values, strict=True))), profile)
            for values in mispaid.fetchall()
        )
        cells = audited.aggregate(
            "policy_year, county_code, liability,"
            " count(*) as claims_audited,"
            " sum(paid_amount) as paid_amount,"
            " count(*) filter (where difference >= 0.01) as overpaid_count,"
            " coalesce(sum(difference) filter (where difference >= 0.01), 0)"
            " as overpaid_amount,"
            " count(*) filter (where difference <= -0.01) as underpaid_count,"
            " coalesce(-sum(difference) filter (where difference <= -0.01), 0)"
            " as underpaid_amount",
            "policy_year, county_code, liability",
        ).order("policy_year, county_code, liability")
        names = cells.columns
        audit_cells = tuple(
            AuditCell(**dict(zip(names, values, strict=True))) for values in cells.fetchall()
        )
    finally:
        cursor.close()
    return ClaimsAudit(profile.name, as_of, claims, audit_cells, not_audited)


def parameters(profile: Profile, as_of: date) -> dict[str, Any]:
    """The bind parameters of queries/claims_audit.sql: the as-of date and the rulebook's
    benefit table, one list element per row."""
    table = profile.benefit_table
    assert table is not None
    rows = table.rows

    def assisted_ratio(row: TableRow) -> float | None:
        cell = row.ratio_assisted_preexisting
        return None if cell is None else float(cell.value)

    return {
        "as_of": as_of,
        "liabilities": [r.liability for r in rows],
        "deductibles": [float(r.deductible.value) for r in rows],
        "annual": [r.deductible.basis == "annual" for r in rows],
        "ratios_healthy": [float(r.ratio_healthy.value) for r in rows],
        "ratios_preexisting": [float(r.ratio_preexisting.value) for r in rows],
        "ratios_assisted_preexisting": [assisted_ratio(r) for r in rows],
        "caps_healthy": [float(r.cap_healthy.value) for r in rows],
        "caps_preexisting": [float(r.cap_preexisting.value) for r in rows],
        "assisted_groups": list(table.assisted.groups) if table.assisted else [],
    }


def cells_used(row: TableRow, health_status: str, assisted: bool) -> tuple[Citation, ...]:
    """The cells of the table a claim's payable reads: deductible, ratio, cap."""
    preexisting = health_status == "preexisting"
    ratio = row.ratio_healthy
    if preexisting:
        exception = row.ratio_assisted_preexisting
        ratio = exception if assisted and exception is not None else row.ratio_preexisting
    cap = row.cap_preexisting if preexisting else row.cap_healthy
    return (row.deductible, ratio, cap)


def _with_clause(claim: AuditedClaim, profile: Profile) -> AuditedClaim:
    assert profile.benefit_table is not None
    row = next(r for r in profile.benefit_table.rows if r.liability == claim.liability)
    clauses = dict.fromkeys(
        c.clause for c in cells_used(row, claim.health_status, claim.assisted) if c.clause
    )
    return AuditedClaim(**{**claim.__dict__, "clause": "、".join(clauses)})


NO_TABLE = (
    "规则配置没有编码该文件的赔付表：文件未规定免赔额、赔付比例和保额（由承保机构的产品确定），无从核查。",
    "The rulebook encodes no benefit table: the document sets no deductible, ratio or cap (the"
    " insurers' product does), so there is nothing to audit against.",
)
UNDEFINED = (
    "规则配置未定义该责任代码，无从核查。",
    "The rulebook does not define this liability code, so there is no table row to audit"
    " against.",
)


def _not_audited(profile: Profile, settled: dict[str, int]) -> tuple[NotAuditedRow, ...]:
    """Liabilities (or parts of one) the audit cannot recompute, with the claims on each."""
    table = profile.benefit_table
    encoded = {r.liability for r in table.rows} if table else set()
    listed = [
        NotAuditedRow(n.liability, settled.get(n.liability, 0), n.clause, n.reason_zh,
                      n.reason_en)
        for n in (table.not_audited if table else ())
    ]
    explained = {row.liability for row in listed}
    for item in profile.liabilities:
        if item.code not in encoded and item.code not in explained:
            listed.append(NotAuditedRow(item.code, settled.get(item.code, 0), None, *NO_TABLE))
    for code in sorted(set(settled) - profile.liability_codes):
        listed.append(NotAuditedRow(code, settled[code], None, *UNDEFINED))
    return tuple(listed)


def _totals(cells: tuple[AuditCell, ...], key: Any, liability: bool = False) -> list[AuditCell]:
    groups: dict[tuple[Any, ...], list[AuditCell]] = defaultdict(list)
    for cell in cells:
        groups[(*key(cell), cell.liability if liability else None)].append(cell)
    return [
        AuditCell(
            policy_year=year,
            county_code=county,
            liability=code,
            claims_audited=sum(c.claims_audited for c in members),
            paid_amount=sum((c.paid_amount for c in members), ZERO),
            overpaid_count=sum(c.overpaid_count for c in members),
            overpaid_amount=sum((c.overpaid_amount for c in members), ZERO),
            underpaid_count=sum(c.underpaid_count for c in members),
            underpaid_amount=sum((c.underpaid_amount for c in members), ZERO),
        )
        for (year, county, code), members in groups.items()
    ]


def _amount(value: Decimal) -> str:
    """12000 → '12,000'; 12000.5 → '12,000.50' (whole yuan as the documents write them)."""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


# -- the frames the claims audit page shows --------------------------------------------------------


def cells_frame(rows: tuple[AuditCell, ...]) -> pl.DataFrame:
    """Audit totals (summary, by county or by liability) with the mispaid share."""
    import polars as pl  # noqa: PLC0415 (the command line does without Polars)

    return pl.DataFrame(
        [{
            "policy_year": r.policy_year, "county_code": r.county_code, "liability": r.liability,
            "claims_audited": r.claims_audited, "overpaid_count": r.overpaid_count,
            "overpaid_amount": float(r.overpaid_amount), "underpaid_count": r.underpaid_count,
            "underpaid_amount": float(r.underpaid_amount),
            "mispaid_share": r.mispaid_share,
        } for r in rows],
        schema={"policy_year": pl.Int64, "county_code": pl.String, "liability": pl.String,
                "claims_audited": pl.Int64, "overpaid_count": pl.Int64,
                "overpaid_amount": pl.Float64, "underpaid_count": pl.Int64,
                "underpaid_amount": pl.Float64, "mispaid_share": pl.Float64},
    )


def by_insurer(audit: ClaimsAudit, insurers: list[dict[str, Any]]) -> pl.DataFrame:
    """Over- and under-paid amounts of each year split by the insurers' shares (contract §3:
    claims are split by share)."""
    import polars as pl  # noqa: PLC0415

    totals = {r.policy_year: r for r in audit.summary if r.county_code is None}
    rows = [
        {
            "policy_year": i["policy_year"], "insurer_id": i["insurer_id"],
            "insurer_name": i["insurer_name"], "share": float(i["share"]),
            "overpaid_amount": float(to_fen(totals[i["policy_year"]].overpaid_amount
                                            * Decimal(str(i["share"])))),
            "underpaid_amount": float(to_fen(totals[i["policy_year"]].underpaid_amount
                                             * Decimal(str(i["share"])))),
        }
        for i in insurers if i["policy_year"] in totals
    ]
    return pl.DataFrame(rows, schema={
        "policy_year": pl.Int64, "insurer_id": pl.String, "insurer_name": pl.String,
        "share": pl.Float64, "overpaid_amount": pl.Float64, "underpaid_amount": pl.Float64})


def mispaid_frame(claims: tuple[AuditedClaim, ...], lang: str) -> pl.DataFrame:
    """The mispaid claims, largest difference first, with the reason, clause and arithmetic;
    ``member_id`` as the reader's connection shows it (masked, or null for a role without
    member IDs)."""
    import polars as pl  # noqa: PLC0415

    from hmb.core.labels import label  # noqa: PLC0415

    ordered = sorted(claims, key=lambda c: (-abs(c.difference), c.claim_id))
    return pl.DataFrame(
        [{
            "claim_id": c.claim_id, "member_id": c.member_id, "policy_year": c.policy_year,
            "county_code": c.county_code, "liability": c.liability, "status": c.status,
            "paid_amount": float(c.paid_amount), "payable": float(c.payable),
            "difference": float(c.difference),
            "reason": label("audit_reason", c.reason, "zh" if lang == "zh" else "en"),
            "clause": c.clause, "arithmetic": c.arithmetic(lang),
        } for c in ordered],
        schema={"claim_id": pl.String, "member_id": pl.String, "policy_year": pl.Int64,
                "county_code": pl.String, "liability": pl.String, "status": pl.String,
                "paid_amount": pl.Float64, "payable": pl.Float64, "difference": pl.Float64,
                "reason": pl.String, "clause": pl.String, "arithmetic": pl.String},
    )
