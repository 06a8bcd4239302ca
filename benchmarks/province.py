"""Province scale: the product against a pandas baseline and the floor, on the same data.

    uv run python benchmarks/province.py [--sizes city,province] [--repeat 3]
        [--data-dir benchmarks/data] [--out benchmarks/results]

For each size it generates the demo data (or reuses it when ``demo.json`` in the folder shows the
same profile, scale, seed and generator) and measures, each in its own child process (wall time with
``time.perf_counter``, peak RSS of that child from ``os.wait4``):

- ``hmb metrics DIR --profile P --format json`` and ``hmb check ...``: **cold** with an empty
  ``$HMB_CACHE_DIR`` (the validated store is built), **warm** with the store already there
  (each the median of ``--repeat`` runs; every cold run starts from an empty cache);
- ``hmb ingest DIR --profile P`` **cold** (contract §8: the build when an export arrives), and
  ``hmb metrics`` after it (the store it left; issue 22's aim: under 0.5 s at province scale);
- the cold build (``hmb metrics`` on an empty cache) on one core and on two (``taskset -c``),
  the speed-up and the serial share it implies (the aim: a speed-up of at least 1.8);
- ``hmb development DIR --profile P --format json`` (claims development, contract §5), **warm**
  on the store ``hmb metrics`` built;
- ``hmb claims-audit DIR --profile P --format json`` (contract §6), its first run on that store
  and then **warm** (湖南 has no benefit table: measure it on a 三明 size, ``sanming-2024:SCALE``);
- ``hmb brief DIR --profile P --out FILE.pdf`` (the meeting brief, contract §7): **cold** with an
  empty cache and **warm** on the store ``hmb metrics`` built;
- the pandas baseline (``benchmarks/pandas_baseline.py``), the same metrics in plain pandas;
- the **floor**: one DuckDB scan, no grouping, of (a) the columns the metric values need and
  (b) every column that decides whether a row is accepted (contract §2) as well;
- each dashboard page as the app shows it after a restart: one child per page that imports the
  app, signs in and opens the page (benchmarks/dashboard_pages.py drives the real app with
  Streamlit's AppTest) with empty caches on the already built store, then changes the county
  filter; the heaviest page's first view and filter change are issue 5's page targets;
- the queries behind each page (:data:`PAGES`) on their own, one child per page, to show how
  much of a page's time is the database's.

It prints a table, writes it with the machine and versions to ``OUT/province.json``, and compares
the product's metrics JSON with the baseline's: money to the fen, counts exactly, ratios within
1e-9. Any difference is printed and the exit code is 1. Sizes: ``city`` (温州 wenzhou-2021 at
full size), ``province`` (湖南 hunan-2024 at full size, about 37.8 million enrolment rows) or
``PROFILE:SCALE`` (for instance ``sanming-2024:0.2``, as the test suite does).

The operating system's file cache is not dropped (that needs root and slows everyone else on a
shared machine): every measurement sees the parquet files already in memory, after one unmeasured
scan that reads them all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BASELINE = PROJECT_ROOT / "benchmarks" / "pandas_baseline.py"
ROW_ERRORS = PROJECT_ROOT / "benchmarks" / "row_errors.py"
ROW_ERRORS_RECORD = "row_errors.json"  # written by row_errors.py into the folder
HMB = Path(sys.executable).parent / "hmb"  # the console script itself: uv is not timed

SIZES: dict[str, tuple[str, float]] = {
    "city": ("wenzhou-2021", 50.0),  # 温州 at its real size (scale 50)
    "province": ("hunan-2024", 50.0),  # 湖南: about 10 million enrolments a year, three years
}
SEED = 0

# The floor's columns. (a) what the metric values are computed from, including the dates that
# set the default as-of date; (b) adds every column a §2 row rule reads: all contract columns but
# birth_year (sex is in: hmb/core/schema.py gives it an enumeration that quarantines a row).
METRIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "enrollment": ("policy_year", "county_code", "premium", "refund_amount", "enroll_date",
                   "status"),
    "claims": ("policy_year", "status", "paid_amount", "settle_date", "report_date"),
    "basic_insured": ("policy_year", "county_code", "insured_count"),
    "insurers": ("policy_year", "insurer_id", "insurer_name", "share"),
    "expenses": ("policy_year", "insurer_id", "amount"),
}
ACCEPTANCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "enrollment": ("policy_year", "member_id", "county_code", "scheme", "health_status",
                   "subsidy_group", "premium", "subsidy_amount", "channel", "enroll_date",
                   "status", "refund_amount", "sex"),
    "claims": ("claim_id", "member_id", "policy_year", "county_code", "liability", "in_area",
               "service_date", "report_date", "settle_date", "total_cost", "basic_paid",
               "critical_paid", "assistance_paid", "eligible_amount", "paid_amount", "status",
               "one_stop"),
    "basic_insured": ("policy_year", "county_code", "scheme", "insured_count"),
    "insurers": ("policy_year", "insurer_id", "insurer_name", "role", "share"),
    "expenses": ("policy_year", "insurer_id", "category", "amount"),
}
FLOORS = {"metric_columns": METRIC_COLUMNS, "acceptance_columns": ACCEPTANCE_COLUMNS}


class Call(NamedTuple):
    """One thing a page asks for: a named query of queries/ (``kind`` "query"), or
    hmb.measure.metrics.participation / finance, hmb.measure.development.development
    ("development"), hmb.measure.claims_audit.claims_audit ("claims_audit"),
    hmb.judge.rules.evaluate ("check"), or the quarantined rows kept in the store
    ("quarantine")."""

    kind: str
    name: str = ""
    as_of: bool = True


# What each page of dashboard/app_pages/ runs (through dashboard/data.py), after the sidebar.
SIDEBAR = (Call("query", "written_premium"), Call("participation"))  # years and counties
PAGES: dict[str, tuple[Call, ...]] = {
    "overview": (Call("participation"), Call("finance"), Call("check"), Call("development")),
    "participation": (Call("participation"), Call("query", "enrolment_by_day"),
                      Call("query", "subsidy_coverage")),
    "claims": (Call("finance"), Call("query", "claims_by_month"),
               Call("query", "claims_by_liability"), Call("query", "claims_by_county"),
               Call("query", "written_premium_by_county"), Call("query", "settlement_speed"),
               Call("query", "settlement_lag_distribution"),
               Call("query", "claim_size_distribution")),
    "development": (Call("development"),),  # by year, as the page first shows it
    "claims_audit": (Call("claims_audit"),),  # every settled claim against the benefit table
    "costs": (Call("finance"), Call("query", "expenses_by_category", as_of=False)),
    "alerts": (Call("check"),),  # evaluated at the data's latest date, then recorded
    # The report is in the store; the downloads are the store's quarantined rows (the exports'
    # exact text is hmb validate --quarantine-dir's, on the server).
    "data_quality": (Call("quarantine"),),
    "rulebook": (),  # rendered from the rulebook file
}


# --- measuring a child process --------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    wall_s: float
    peak_rss_mb: float


class BenchmarkError(Exception):
    """A child process failed: the message has its command and the end of its stderr."""


def measure(argv: Sequence[str | Path], *, env: dict[str, str] | None = None,
            stdout: Path | None = None) -> Run:
    """Run ``argv`` as a child; its wall time and peak resident memory (ru_maxrss, KB)."""
    command = [str(a) for a in argv]
    with (open(stdout or os.devnull, "wb") as out,
          tempfile.TemporaryFile() as err):
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err,
                                 env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-3000:]
            raise BenchmarkError(f"{' '.join(command)} exited {child.returncode}:\n{tail}")
    return Run(round(wall, 3), round(usage.ru_maxrss / 1024, 1))


def median_run(runs: Sequence[Run]) -> Run:
    return Run(round(statistics.median(r.wall_s for r in runs), 3),
               round(statistics.median(r.peak_rss_mb for r in runs), 1))


# --- data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    name: str
    profile: str
    scale: float


def parse_sizes(text: str) -> list[Size]:
    sizes = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        if item in SIZES:
            sizes.append(Size(item, *SIZES[item]))
        elif ":" in item:
            profile, scale = item.split(":", 1)
            sizes.append(Size(f"{profile}-x{float(scale):g}", profile, float(scale)))
        else:
            raise argparse.ArgumentTypeError(
                f"unknown size {item!r}: give {', '.join(SIZES)} or PROFILE:SCALE")
    return sizes


def demo_data(
    size: Size, data_dir: Path, *, row_errors: bool = True
) -> tuple[Path, dict[str, Any]]:
    """The size's folder, generated unless it already holds the same demo, with rows that break
    the contract's rules planted in it (benchmarks/row_errors.py) unless ``row_errors`` is
    false; the generation's wall time and peak memory (kept beside the folder, so a reused
    folder still reports them)."""
    from hmb.tools.demo import generator_stamp  # noqa: PLC0415 (the children import the rest)

    folder = data_dir / size.name
    record = data_dir / f"{size.name}.generation.json"
    summary_file = folder / "demo.json"
    reused = False
    if summary_file.is_file():
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        reused = (summary["profile"], float(summary["scale"]), summary["seed"],
                  summary.get("generator")) == (
            size.profile, size.scale, SEED, generator_stamp(size.profile)
        )
    if reused:
        generation = json.loads(record.read_text()) if record.is_file() else {}
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        generation = asdict(measure([HMB, "demo", "--out", folder, "--profile", size.profile,
                                     "--scale", f"{size.scale:g}", "--seed", str(SEED)]))
        record.write_text(json.dumps(generation))
    planted = folder / ROW_ERRORS_RECORD
    if planted.is_file() and not row_errors:
        measure([sys.executable, ROW_ERRORS, folder, "--remove"])
    elif row_errors and subprocess.run([sys.executable, ROW_ERRORS, folder, "--current"],
                                       check=False).returncode != 0:
        if planted.is_file():  # planted by an earlier version of the script
            measure([sys.executable, ROW_ERRORS, folder, "--remove"])
        measure([sys.executable, ROW_ERRORS, folder, "--seed", str(SEED)])
    rows = dict(json.loads(summary_file.read_text(encoding="utf-8"))["row_counts"])
    errors: dict[str, int] = {}
    if row_errors:
        for file, kinds in json.loads(planted.read_text(encoding="utf-8"))["files"].items():
            table = file.split("/", 1)[0]
            errors[table] = errors.get(table, 0) + sum(kinds.values())
            rows[table] += sum(kinds.values())
    return folder, {**generation, "reused": reused, "rows": rows, "planted_row_errors": errors}


def a_new_export_of_one_year(folder: Path) -> str:
    """Make the last enrolment file look re-exported (same rows, a newer modification time), as
    when a bureau sends this year's export again: the store's fingerprint changes, and only that
    file's policy year has to be validated again (the other years' segments are reused)."""
    file = table_files(folder, "enrollment")[-1]
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, max(stat.st_mtime_ns, time.time_ns()) + 10**9))
    return str(file.relative_to(folder).parent)


def table_files(folder: Path, table: str) -> list[Path]:
    """A table's parquet files as the contract finds them: NAME.parquet and NAME/**."""
    files = [folder / f"{table}.parquet"] if (folder / f"{table}.parquet").is_file() else []
    if (folder / table).is_dir():
        files += sorted((folder / table).rglob("*.parquet"))
    return files


# --- the floor (run as a child: province.py floor DIR --columns NAME) -----------------------------


def floor_scan(folder: Path, columns: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """One DuckDB scan per table of exactly ``columns``: every value is read, nothing grouped."""
    from hmb.core import duckdb_files  # noqa: PLC0415 (only the child needs it)

    con = duckdb_files.connect()
    result: dict[str, Any] = {}
    for table, names in columns.items():
        files = table_files(folder, table)
        hive = any("=" in part for f in files for part in f.relative_to(folder).parts[:-1])
        reads = ", ".join(f'max("{c}")' for c in names)
        row = con.execute(
            f"select count(*), {reads} from read_parquet($files, hive_partitioning = {hive},"
            " union_by_name = true)",
            {"files": [str(f) for f in files]},
        ).fetchall()[0]
        result[table] = [str(v) for v in row]
    return result


# --- the pages (run as children: province.py page / queries DIR --profile P --page NAME) ----------


def stores(cache: Path) -> set[Path]:
    """The validated stores in a cache folder: one that appears while a child runs was built by
    it, so the store was not warm (the data or the engine's code changed during the run)."""
    return set(cache.glob("*.duckdb"))


def page_timings(folder: Path, profile_name: str, page: str) -> dict[str, Any]:
    """The app after a restart, in this new process, showing ``folder`` as its data source: its
    imports, then ``page`` opened by its address (first view, the same again, then another
    county chosen in the sidebar)."""
    os.environ["HMB_DATA_DIR"], os.environ["HMB_PROFILE"] = str(folder), profile_name
    # Streamlit itself is loaded when the server starts, before anyone connects.
    from streamlit.testing.v1 import AppTest  # noqa: PLC0415, F401

    begin = time.perf_counter()
    import dashboard.app  # noqa: PLC0415, F401 (streamlit_app.py's import, on its first run)

    imports = time.perf_counter() - begin
    import dashboard_pages  # noqa: PLC0415 (the script's own folder)

    from hmb.ingest.dataset import default_cache_dir  # noqa: PLC0415

    before = stores(default_cache_dir())
    county = dashboard_pages.first_county(profile_name)
    assert county, f"{profile_name} has no counties to choose"
    timings = dashboard_pages.view_after_restart(page, f"local-{profile_name}", county)
    return {"page": page, "imports_s": round(imports, 3),
            **{key: round(value, 3) for key, value in timings.items()},
            "first_view_s": round(imports + timings["first_s"], 3), "county": county,
            "store_built": bool(stores(default_cache_dir()) - before)}


def warm_up(folder: Path, profile_name: str) -> None:
    """Every page viewed once in one process, untimed: the state a restart finds when the app
    has run before (its throw-away administrator, the recorded alerts, the simplified county
    boundaries kept beside the stores)."""
    os.environ["HMB_DATA_DIR"], os.environ["HMB_PROFILE"] = str(folder), profile_name
    import dashboard_pages  # noqa: PLC0415 (the script's own folder)

    county = dashboard_pages.first_county(profile_name)
    assert county, f"{profile_name} has no counties to choose"
    for page in PAGES:
        dashboard_pages.view_after_restart(page, f"local-{profile_name}", county)


def page_query_timings(folder: Path, profile_name: str, page: str) -> dict[str, Any]:
    """Open the dataset (warm store) and run the page's calls as dashboard/data.py does on a
    cache miss: first, and again."""
    import polars  # noqa: PLC0415, F401 (loaded with the app, before any query runs)
    import pyarrow  # noqa: PLC0415, F401 (what DuckDB hands results to Polars through)

    import queries  # noqa: PLC0415
    from hmb.ingest.dataset import default_cache_dir, open_dataset  # noqa: PLC0415
    from hmb.judge import rules  # noqa: PLC0415
    from hmb.measure import claims_audit, metrics  # noqa: PLC0415
    from hmb.measure.development import development  # noqa: PLC0415
    from hmb.rulebook.profiles import load_profile  # noqa: PLC0415

    before = stores(default_cache_dir())
    start = time.perf_counter()
    profile = load_profile(profile_name)
    dataset = open_dataset(
        folder, profile.liability_codes, insured_elsewhere=profile.insured_elsewhere
    )
    as_of = dataset.default_as_of or date.today()
    opened = time.perf_counter() - start
    store_built = bool(stores(default_cache_dir()) - before)

    def run(call: Call) -> Any:  # noqa: PLR0911 (one answer per kind of call)
        with dataset.connect() as con:  # the app opens a connection per uncached call
            if call.kind == "quarantine":  # as dashboard/data.py's quarantine()
                return [
                    con.cursor().sql(
                        f"select * exclude (_errors) from quarantine_{name} order by _file, _row"
                    ).pl()
                    for name, info in dataset.report["tables"].items() if info["rows_quarantined"]
                ]
            if call.kind == "query":
                return queries.run(con, call.name, **({"as_of": as_of} if call.as_of else {}))
            if call.kind == "participation":
                return metrics.participation(con, as_of)
            if call.kind == "finance":
                return metrics.finance(con, profile, as_of)
            if call.kind == "development":
                return development(con, profile, as_of)
            if call.kind == "claims_audit":
                return claims_audit.claims_audit(con, profile, as_of)
            return rules.evaluate(con, profile, as_of)

    def view() -> float:
        begin = time.perf_counter()
        for call in (*SIDEBAR, *PAGES[page]):
            run(call)
        return time.perf_counter() - begin

    first = view()
    again = view()
    return {"page": page, "open_s": round(opened, 3), "first_s": round(first, 3),
            "again_s": round(again, 3), "store_built": store_built,
            "calls": [c.name or c.kind for c in (*SIDEBAR, *PAGES[page])]}


# --- comparing the product with the baseline ------------------------------------------------------


MONEY = ("written_premium", "earned_premium", "claims_paid", "expenses", "profit",
         "excess_surplus", "pool_open", "pool_draw", "pool_close")
COUNTS = ("policy_year", "enrolled", "insured_base")
RATIOS = ("rate", "loss_ratio", "combined_ratio", "profit_rate", "share")


def compare(product: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Every difference between two metrics JSON objects: money to the fen, counts exactly,
    ratios within 1e-9, everything else equal."""
    differences = [
        f"{key}: product {product.get(key)!r}, baseline {baseline.get(key)!r}"
        for key in ("profile", "as_of") if product.get(key) != baseline.get(key)
    ]
    for section, code in (("participation", "county_code"), ("finance", "insurer_id")):
        ours = {(r["policy_year"], r[code]): r for r in product.get(section, [])}
        theirs = {(r["policy_year"], r[code]): r for r in baseline.get(section, [])}
        differences += [f"{section} {key}: only in the product" for key in ours.keys() - theirs]
        differences += [f"{section} {key}: only in the baseline" for key in theirs.keys() - ours]
        for key in sorted(ours.keys() & theirs, key=str):
            for field in sorted(ours[key].keys() | theirs[key].keys()):
                a, b = ours[key].get(field), theirs[key].get(field)
                if not _same(field, a, b):
                    differences.append(
                        f"{section} {key} {field}: product {a!r}, baseline {b!r}")
    return differences


def _same(field: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if field in MONEY:
        return bool(round(a * 100) == round(b * 100))
    if field in RATIOS:
        return bool(abs(a - b) <= 1e-9)
    return bool(a == b)  # counts, codes and names exactly


# --- the whole benchmark --------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip()
                for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or None)
    mem_kb = next((int(line.split()[1]) for line in _read_lines("/proc/meminfo")
                   if line.startswith("MemTotal:")), None)
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "ram_gb": None if mem_kb is None else round(mem_kb / 1024**2, 1)}


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("duckdb", "pandas", "pyarrow", "polars", "numpy"):
        found[package] = metadata.version(package)
    found["hmb"] = _git_revision()
    return found


def _git_revision() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "hmb", "queries"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + (" + uncommitted changes to hmb/ or queries/" if dirty else "")


def bench_size(size: Size, *, data_dir: Path, out: Path, repeat: int, row_errors: bool,  # noqa: PLR0915
               say: Callable[[str], None]) -> dict[str, Any]:
    say(f"{size.name}: demo data ({size.profile}, scale {size.scale:g})")
    folder, generation = demo_data(size, data_dir, row_errors=row_errors)
    me = [sys.executable, __file__]
    measure([*me, "floor", folder, "--columns", "acceptance_columns"])  # files into the OS cache

    runs: dict[str, Any] = {"generate": generation}
    with tempfile.TemporaryDirectory(prefix="hmb-bench-") as tmp:
        for command in ("metrics", "check"):
            cache, state = Path(tmp) / f"{command}-cache", Path(tmp) / f"{command}-state"
            env = {"HMB_CACHE_DIR": str(cache), "HMB_STATE_DIR": str(state)}
            argv = [HMB, command, folder, "--profile", size.profile, "--format", "json"]
            say(f"{size.name}: hmb {command}, cold ×{repeat} then warm ×{repeat}")
            # Each cold run starts from an empty cache; the last one's store stays for the rest.
            colds = []
            for _ in range(repeat):
                shutil.rmtree(cache, ignore_errors=True)
                colds.append(measure(argv, env=env, stdout=out / f"{size.name}.{command}.json"))
            runs[f"{command}_cold"] = asdict(median_run(colds))
            runs[f"{command}_warm"] = asdict(median_run([
                measure(argv, env=env, stdout=out / f"{size.name}.{command}.warm.json")
                for _ in range(repeat)
            ]))
            if command == "metrics":
                changed = a_new_export_of_one_year(folder)
                say(f"{size.name}: hmb metrics after a new export of {changed}")
                runs["metrics_year_changed"] = asdict(
                    measure(argv, env=env, stdout=out / f"{size.name}.metrics.changed.json"))
        runs |= ingest_runs(size, folder, Path(tmp), out, repeat=repeat, say=say)
        cores = cores_speedup(size, folder, Path(tmp), repeat, say)
        # Claims development (contract §5) on the store hmb metrics left warm.
        say(f"{size.name}: hmb development, warm ×{repeat}")
        env = {"HMB_CACHE_DIR": str(Path(tmp) / "metrics-cache"),
               "HMB_STATE_DIR": str(Path(tmp) / "metrics-state")}
        argv = [HMB, "development", folder, "--profile", size.profile, "--format", "json"]
        runs["development_warm"] = asdict(median_run([
            measure(argv, env=env, stdout=out / f"{size.name}.development.json")
            for _ in range(repeat)
        ]))
        # The claims audit (contract §6) on the same store: its first run, then warm. 湖南's
        # document has no benefit table: size the audit with a 三明 demo (PROFILE:SCALE).
        say(f"{size.name}: hmb claims-audit, first run then warm ×{repeat}")
        argv = [HMB, "claims-audit", folder, "--profile", size.profile, "--format", "json"]
        runs["claims_audit_cold"] = asdict(
            measure(argv, env=env, stdout=out / f"{size.name}.claims_audit.json"))
        runs["claims_audit_warm"] = asdict(median_run([
            measure(argv, env=env, stdout=out / f"{size.name}.claims_audit.json")
            for _ in range(repeat)
        ]))
        # The meeting brief (contract §7): cold on an empty cache (the store is built), warm on
        # the store hmb metrics built. Issue 21's targets: under 10 s cold, under 3 s warm.
        say(f"{size.name}: hmb brief, cold ×{repeat} then warm ×{repeat}")
        pdf = Path(tmp) / "brief.pdf"
        argv = [HMB, "brief", folder, "--profile", size.profile, "--out", pdf]
        brief_cache = Path(tmp) / "brief-cache"
        colds = []
        for _ in range(repeat):
            shutil.rmtree(brief_cache, ignore_errors=True)
            colds.append(measure(argv, env={**env, "HMB_CACHE_DIR": str(brief_cache)}))
        runs["brief_cold"] = asdict(median_run(colds))
        runs["brief_warm"] = asdict(median_run([measure(argv, env=env) for _ in range(repeat)]))
        say(f"{size.name}: pandas baseline")
        runs["pandas"] = asdict(measure(
            [sys.executable, BASELINE, folder, "--profile", size.profile],
            stdout=out / f"{size.name}.pandas.json"))
        for floor in FLOORS:
            say(f"{size.name}: floor, {floor} ×{repeat}")
            runs[f"floor_{floor}"] = asdict(median_run([
                measure([*me, "floor", folder, "--columns", floor]) for _ in range(repeat)
            ]))
        # The pages read the store hmb metrics built.
        app_env = {"HMB_CACHE_DIR": str(Path(tmp) / "metrics-cache"),
                   "HMB_STATE_DIR": str(Path(tmp) / "app-state")}
        say(f"{size.name}: the app viewed once before the restarts")
        measure([*me, "warm-up", folder, "--profile", size.profile], env=app_env)
        pages, page_queries = [], []
        for page in PAGES:
            say(f"{size.name}: page {page}, the app then its queries alone")
            for child, found in (("page", pages), ("queries", page_queries)):
                timings = out / f"{size.name}.{child}.{page}.json"
                run = measure([*me, child, folder, "--profile", size.profile, "--page", page],
                              env=app_env, stdout=timings)
                found.append({**json.loads(timings.read_text()), "process_s": run.wall_s,
                              "peak_rss_mb": run.peak_rss_mb})
                timings.unlink()

    product = json.loads((out / f"{size.name}.metrics.json").read_text(encoding="utf-8"))
    warm = json.loads((out / f"{size.name}.metrics.warm.json").read_text(encoding="utf-8"))
    baseline = json.loads((out / f"{size.name}.pandas.json").read_text(encoding="utf-8"))
    differences = compare(product, baseline)
    differences += [f"warm run: {d}" for d in compare(product, warm)]
    changed = json.loads((out / f"{size.name}.metrics.changed.json").read_text(encoding="utf-8"))
    differences += [f"after one year's new export: {d}" for d in compare(product, changed)]
    ingested = json.loads(
        (out / f"{size.name}.metrics.ingested.json").read_text(encoding="utf-8"))
    differences += [f"after hmb ingest: {d}" for d in compare(product, ingested)]
    cold = runs["metrics_cold"]
    ratios = {
        f"metrics_cold_over_{other}": {
            "wall": _ratio(cold["wall_s"], runs[other]["wall_s"]),
            "peak_rss": _ratio(cold["peak_rss_mb"], runs[other]["peak_rss_mb"]),
        }
        for other in ("pandas", "floor_metric_columns", "floor_acceptance_columns")
    }
    return {
        "size": size.name, "profile": size.profile, "scale": size.scale, "seed": SEED,
        "folder": str(folder), "rows": generation["rows"], "runs": runs, "ratios": ratios,
        "cores": cores,
        "pages": pages, "heaviest_page": heaviest(pages), "page_queries": page_queries,
        "comparison": {"equal": not differences, "differences": differences,
                       "participation_rows": len(product["participation"]),
                       "finance_rows": len(product["finance"])},
    }


def ingest_runs(size: Size, folder: Path, tmp: Path, out: Path, *, repeat: int,
                say: Callable[[str], None]) -> dict[str, Any]:
    """Contract §8: the build at the moment an export arrives (``hmb ingest``, cold: validation,
    store, quarantine, register), then ``hmb metrics`` on the store it left."""
    runs: dict[str, Any] = {}
    cache, state = tmp / "ingest-cache", tmp / "ingest-state"
    env = {"HMB_CACHE_DIR": str(cache), "HMB_STATE_DIR": str(state)}
    say(f"{size.name}: hmb ingest, cold ×{repeat}, then hmb metrics after it ×{repeat}")
    colds = []
    for _ in range(repeat):
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
        colds.append(measure([HMB, "ingest", folder, "--profile", size.profile, "--format",
                              "json"], env=env))
    runs["ingest_cold"] = asdict(median_run(colds))
    argv = [HMB, "metrics", folder, "--profile", size.profile, "--format", "json"]
    runs["metrics_after_ingest"] = asdict(median_run([
        measure(argv, env=env, stdout=out / f"{size.name}.metrics.ingested.json")
        for _ in range(repeat)
    ]))
    return runs


def cores_speedup(size: Size, folder: Path, tmp: Path, repeat: int,
                  say: Callable[[str], None]) -> dict[str, Any]:
    """The cold build (``hmb metrics`` on an empty cache) on one core and on two (``taskset``),
    the speed-up and the serial share it implies (Amdahl: s = 2 / speed-up - 1 on two cores).
    Empty where ``taskset`` or a second core is missing."""
    taskset = shutil.which("taskset")
    if taskset is None or (os.cpu_count() or 1) < 2:
        return {"one_core_s": None, "two_cores_s": None, "speedup": None, "serial_share": None}
    cache = tmp / "cores-cache"
    env = {"HMB_CACHE_DIR": str(cache), "HMB_STATE_DIR": str(tmp / "cores-state")}
    argv = [HMB, "metrics", folder, "--profile", size.profile, "--format", "json"]
    walls = {}
    for cpus in ("0", "0,1"):
        say(f"{size.name}: hmb metrics, cold on cores {cpus} ×{repeat}")
        colds = []
        for _ in range(repeat):
            shutil.rmtree(cache, ignore_errors=True)
            colds.append(measure([taskset, "-c", cpus, *argv], env=env))
        walls[cpus] = median_run(colds).wall_s
    speedup = _ratio(walls["0"], walls["0,1"])
    return {"one_core_s": walls["0"], "two_cores_s": walls["0,1"], "speedup": speedup,
            "serial_share": None if speedup is None else round(2 / speedup - 1, 3)}


# The issue's aim: the one-core to two-core speed-up of the cold build.
CORES_SPEEDUP_TARGET = 1.8


# Issue 5: the heaviest page at province scale, on first view after a restart with a warm
# cache and on filter changes.
FIRST_VIEW_TARGET_S = 2.0
FILTER_CHANGE_TARGET_S = 0.5


def heaviest(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """The page slowest to show first after a restart, with its figures against the targets."""
    page = max(pages, key=lambda p: p["first_view_s"])
    return {"page": page["page"], "first_view_s": page["first_view_s"],
            "county_s": page["county_s"],
            "first_view_met": page["first_view_s"] < FIRST_VIEW_TARGET_S,
            "county_met": page["county_s"] < FILTER_CHANGE_TARGET_S}


def _ingest_ratio(runs: dict[str, Any]) -> float | None:
    return _ratio(runs["ingest_cold"]["wall_s"], runs["metrics_cold"]["wall_s"])


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


LABELS = {
    "generate": "generate demo data",
    "metrics_cold": "hmb metrics, cold",
    "metrics_warm": "hmb metrics, warm",
    "metrics_year_changed": "hmb metrics, one year's enrolment re-exported",
    "check_cold": "hmb check, cold",
    "ingest_cold": "hmb ingest, cold",
    "metrics_after_ingest": "hmb metrics after hmb ingest",
    "check_warm": "hmb check, warm",
    "development_warm": "hmb development, warm",
    "claims_audit_cold": "hmb claims-audit, first run on the store",
    "claims_audit_warm": "hmb claims-audit, warm",
    "brief_cold": "hmb brief, cold",
    "brief_warm": "hmb brief, warm",
    "pandas": "pandas baseline",
    "floor_metric_columns": "floor (a) metric columns",
    "floor_acceptance_columns": "floor (b) acceptance columns",
}


def report(result: dict[str, Any]) -> str:
    """The printed table: one pair of columns (wall s, peak RSS MB) per size."""
    sizes = result["sizes"]
    m, v = result["machine"], result["versions"]
    lines = [
        f"惠民保 benchmark · {result['measured_at']} · {m['platform']}",
        f"{m['cpu']} · {m['cores']} cores · {m['ram_gb']} GB RAM",
        " · ".join(f"{k} {val}" for k, val in v.items()),
        "",
        f"{'':<46}" + "".join(f"{s['size']:>28}" for s in sizes),
        f"{'profile × scale':<46}" + "".join(
            f"{s['profile'] + ' ×' + format(s['scale'], 'g'):>28}" for s in sizes),
        f"{'enrolment rows':<46}" + "".join(f"{s['rows']['enrollment']:>28,}" for s in sizes),
        f"{'claim rows':<46}" + "".join(f"{s['rows']['claims']:>28,}" for s in sizes),
        f"{'of which planted row errors (enrolment, claims)':<46}" + "".join(
            f"{_planted(s['runs']['generate']):>28}" for s in sizes),
        f"{'':<46}" + "".join(f"{'wall s':>16}{'peak MB':>12}" for _ in sizes),
    ]
    for key, label in LABELS.items():
        cells = ""
        for s in sizes:
            run = s["runs"][key]
            wall, rss = run.get("wall_s"), run.get("peak_rss_mb")
            cells += f"{_num(wall, '.2f'):>16}{_num(rss, ',.0f'):>12}"
        suffix = " (reused)" if key == "generate" and any(
            s["runs"]["generate"].get("reused") for s in sizes) else ""
        suffix = f" (median of {result['repeat']})" if key.endswith(("warm", "cold")) or (
            key.startswith("floor")) else suffix
        lines.append(f"{label + suffix:<46}{cells}")
    lines.append("")
    for other, label in (("pandas", "pandas"), ("floor_metric_columns", "floor (a)"),
                         ("floor_acceptance_columns", "floor (b)")):
        cells = "".join(
            f"{_num(s['ratios'][f'metrics_cold_over_{other}']['wall'], '.3f'):>16}"
            f"{_num(s['ratios'][f'metrics_cold_over_{other}']['peak_rss'], '.2f'):>12}"
            for s in sizes)
        lines.append(f"{'ratio cold metrics / ' + label:<46}{cells}")
    lines.append(f"{'ratio hmb ingest cold / hmb metrics cold':<46}" + "".join(
        f"{_num(_ingest_ratio(s['runs']), '.3f'):>16}{'':>12}" for s in sizes))
    for s in sizes:
        c = s["cores"]
        met = c["speedup"] is not None and c["speedup"] >= CORES_SPEEDUP_TARGET
        lines.append(
            f"{s['size']}: cold build on 1 core {_num(c['one_core_s'], '.2f')} s, on 2 cores"
            f" {_num(c['two_cores_s'], '.2f')} s: speed-up {_num(c['speedup'], '.2f')}"
            f" (aim ≥ {CORES_SPEEDUP_TARGET:g}: {'met' if met else 'NOT met'}), serial share"
            f" {_num(c['serial_share'], '.2f')}")
    rebuilt = "  store rebuilt: engine code or data changed"
    lines += ["", "Dashboard pages after a restart: a new process imports the app, then opens the"
              " page with empty caches (first),", "shows it again (again) and after another"
              " county is chosen (county); view = imports + first (s)",
              f"{'size':<20}{'page':<15}{'imports':>8}{'first':>8}{'view':>8}{'again':>8}"
              f"{'county':>8}{'process':>9}{'peak MB':>9}"]
    for s in sizes:
        for p in s["pages"]:
            lines.append(f"{s['size']:<20}{p['page']:<15}{p['imports_s']:>8.2f}"
                         f"{p['first_s']:>8.2f}{p['first_view_s']:>8.2f}{p['again_s']:>8.2f}"
                         f"{p['county_s']:>8.2f}{p['process_s']:>9.2f}{p['peak_rss_mb']:>9,.0f}"
                         + (rebuilt if p["store_built"] else ""))
    for s in sizes:
        h = s["heaviest_page"]
        lines.append(
            f"{s['size']}: heaviest page {h['page']}: first view after a restart"
            f" {h['first_view_s']:.2f} s (target < {FIRST_VIEW_TARGET_S:g} s:"
            f" {'met' if h['first_view_met'] else 'NOT met'}), after a county change"
            f" {h['county_s']:.2f} s (target < {FILTER_CHANGE_TARGET_S:g} s:"
            f" {'met' if h['county_met'] else 'NOT met'})")
    lines += ["", "The same pages' queries alone: a new process opens the store (open), runs the"
              " sidebar's and the page's queries (first), and again (s)",
              f"{'size':<20}{'page':<15}{'open':>8}{'first':>8}{'again':>8}"
              f"{'process':>9}{'peak MB':>9}"]
    for s in sizes:
        for p in s["page_queries"]:
            lines.append(f"{s['size']:<20}{p['page']:<15}{p['open_s']:>8.2f}{p['first_s']:>8.2f}"
                         f"{p['again_s']:>8.2f}{p['process_s']:>9.2f}{p['peak_rss_mb']:>9,.0f}"
                         + (rebuilt if p["store_built"] else ""))
    lines.append("")
    for s in sizes:
        c = s["comparison"]
        if c["equal"]:
            lines.append(f"{s['size']}: hmb metrics equals the pandas baseline (to the fen;"
                         f" {c['participation_rows']} participation and {c['finance_rows']}"
                         " finance rows)")
        else:
            lines.append(f"{s['size']}: {len(c['differences'])} DIFFERENCES between hmb metrics"
                         " and the pandas baseline:")
            lines += [f"  {d}" for d in c["differences"][:50]]
    return "\n".join(lines)


def _planted(generation: dict[str, Any]) -> str:
    errors = generation.get("planted_row_errors") or {}
    return f"{errors.get('enrollment', 0):,}, {errors.get('claims', 0):,}" if errors else "none"


def _num(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def run_benchmark(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "repeat": args.repeat,
        "sizes": [],
    }
    for size in args.sizes:
        result["sizes"].append(bench_size(
            size, data_dir=args.data_dir, out=args.out, repeat=args.repeat,
            row_errors=not args.clean,
            say=lambda text: print(f"… {text}", file=sys.stderr, flush=True),
        ))
    path = args.out / "province.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(report(result))
    print(f"\nwritten to {path}")
    return 0 if all(s["comparison"]["equal"] for s in result["sizes"]) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("city,province"),
                        help="comma-separated: city, province or PROFILE:SCALE")
    parser.add_argument("--repeat", type=int, default=3,
                        help="cold and warm runs and floors: median of N")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / "benchmarks" / "data")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results")
    parser.add_argument("--clean", action="store_true",
                        help="measure the demo as generated, without planted row errors")
    children = parser.add_subparsers(dest="child", help="one measurement, run as a child")
    floor = children.add_parser("floor", help="the floor scan of one folder")
    floor.add_argument("folder", type=Path)
    floor.add_argument("--columns", choices=FLOORS, required=True)
    for name, text in (("page", "one dashboard page after a restart"),
                       ("queries", "one dashboard page's queries")):
        page = children.add_parser(name, help=text)
        page.add_argument("folder", type=Path)
        page.add_argument("--profile", required=True)
        page.add_argument("--page", choices=PAGES, required=True)
    warm = children.add_parser("warm-up", help="every page once, untimed")
    warm.add_argument("folder", type=Path)
    warm.add_argument("--profile", required=True)
    args = parser.parse_args(argv)
    if args.child == "floor":
        print(json.dumps(floor_scan(args.folder, FLOORS[args.columns])))
        return 0
    if args.child in ("page", "queries"):
        timings = page_timings if args.child == "page" else page_query_timings
        print(json.dumps(timings(args.folder, args.profile, args.page)))
        return 0
    if args.child == "warm-up":
        warm_up(args.folder, args.profile)
        return 0
    try:
        return run_benchmark(args)
    except BenchmarkError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
