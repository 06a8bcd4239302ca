"""Nothing the product writes can be read by another local account, whatever the umask: the
validated stores and their segments, the alert store, the accounts and the session key, the audit
trail and its exports, the quarantined rows and a pseudonymised export are 0600 in folders of
0700; a store, folder or key found readable by others is tightened and said, and an operator's
key file is reported with the command that fixes it (hmb.core.private_files)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hmb.access.auth import UserStore
from hmb.core.private_files import restrict_umask
from hmb.ingest.dataset import open_dataset, write_quarantine
from hmb.ingest.pseudonymize import create_key, pseudonymize_folder, read_key
from hmb.state.alert_store import AlertStore
from hmb.state.audit import AuditTrail, export_csv
from tests.builders import clean_tables, enrollment_row, run_cli, write_folder


@pytest.fixture(autouse=True)
def shell_umask() -> Iterator[None]:
    """The umask of an ordinary shell: files 0644 and folders 0755 unless the product says
    otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def shared(root: Path) -> list[str]:
    """Everything at or under ``root`` that another account may read, write or enter."""
    return [f"{p} {oct(mode(p))}" for p in (root, *root.rglob("*")) if mode(p) & 0o077]


def test_the_validated_store_and_its_segments_are_private(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["enrollment"].append(enrollment_row(member_id="A1"))  # a duplicate: quarantined
    folder = write_folder(tmp_path, **tables)
    cache = tmp_path / "cache"
    dataset = open_dataset(folder, cache_dir=cache)
    assert dataset.store.exists() and list((cache / "segments").glob("*.duckdb"))
    assert shared(cache) == []
    written = write_quarantine(dataset, tmp_path / "state" / "quarantine")
    assert written
    assert shared(tmp_path / "state") == []


def test_the_state_folder_and_its_stores_are_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    AlertStore(state / "alerts.sqlite")
    trail = AuditTrail(state / "audit.sqlite")
    trail.record("sign_in", "someone", "admin")
    UserStore(state / "users.sqlite").ensure_demo_users()
    assert {p.name for p in state.iterdir()} >= {"alerts.sqlite", "audit.sqlite",
                                                "users.sqlite", "session.key"}
    assert shared(state) == []
    out = tmp_path / "audit.csv"
    export_csv(trail.read(), out)
    assert mode(out) == 0o600


def test_a_pseudonymised_export_is_private(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    (source / "claims").mkdir(parents=True)
    pq.write_table(pa.table({"member_id": ["350402199001011234"]}), source / "enrollment.parquet")
    pq.write_table(pa.table({"claim_id": ["C1"]}), source / "claims" / "part-0.parquet")
    key = tmp_path / "keys" / "bureau.key"
    create_key(key)
    assert mode(key) == 0o600
    out = tmp_path / "clean"
    pseudonymize_folder(source, out, read_key(key))
    assert shared(out) == []


def test_a_store_or_folder_found_readable_by_others_is_tightened_and_said(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_folder(tmp_path, **clean_tables())
    cache = tmp_path / "cache"
    store = open_dataset(folder, cache_dir=cache).store
    state = tmp_path / "state"
    AlertStore(state / "alerts.sqlite")
    UserStore(state / "users.sqlite")
    # As an earlier version, or a copy made under the shell's umask, left them.
    for path in (cache, state):
        path.chmod(0o755)
    for path in (store, state / "alerts.sqlite", state / "users.sqlite", state / "session.key"):
        path.chmod(0o644)
    capsys.readouterr()
    open_dataset(folder, cache_dir=cache)
    AlertStore(state / "alerts.sqlite")
    UserStore(state / "users.sqlite")
    assert shared(cache) == [] and shared(state) == []
    said = capsys.readouterr().err
    for path in (cache, state, store, state / "alerts.sqlite", state / "users.sqlite",
                 state / "session.key"):
        assert f"hmb: {path} " in said, (path, said)


def test_an_operators_key_readable_by_others_is_reported_with_the_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "bureau.key"
    create_key(key)
    key.chmod(0o644)
    read_key(key)
    said = capsys.readouterr().err
    assert str(key) in said and f"chmod 600 {key}" in said
    assert mode(key) == 0o644  # the operator's file: reported, not changed


def test_the_commands_make_what_they_write_private(tmp_path: Path) -> None:
    result = run_cli("users", "list")
    assert result.code == 0, result.text
    assert os.umask(0o022) & 0o077 == 0o077  # the umask the command left set
    out = tmp_path / "trail.csv"
    assert run_cli("audit", "export", out).code == 0
    assert mode(out) == 0o600


def test_restricting_the_umask_never_loosens_it() -> None:
    os.umask(0o027)
    restrict_umask()
    assert os.umask(0o022) == 0o077
    os.umask(0o277)
    restrict_umask()
    assert os.umask(0o022) == 0o277
