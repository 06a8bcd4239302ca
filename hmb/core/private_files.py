"""Files and folders that only the operating-system account running the product can read.

The validated stores hold every claim row with its member's ID, the state folder the accounts'
password hashes, the session key, the alert history and the audit trail: another local account
that could read them would read around the roles (docs/access.md). So, whatever the umask of the
shell that started it:

- the commands and the app set the process umask to 0o077 first (:func:`restrict_umask`), so
  every file the process creates, the journals and WAL files SQLite and DuckDB make beside a
  database included, is 0600 and every folder 0700;
- every folder and file the product makes is also set to 0700 or 0600 when it is made
  (:func:`private_dir`, :func:`private_file`), so the promise holds when the package is used
  from another program (a test, a notebook) that keeps its own umask;
- a folder, store or key of the product's found with looser modes (made by an earlier version,
  or copied in) is tightened and said once on standard error, naming it: the product owns these
  files, nothing of its own needs them shared, and an operator who shared them on purpose (a
  backup account's group) learns why that stopped. A file the operator owns and only hands to
  a command, such as the pseudonymisation key, is not changed but reported with the command that
  tightens it (:func:`warn_if_shared`).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

PRIVATE_UMASK = 0o077  # no permission for the group or for others
# What SQLite and DuckDB write beside a database while it is open.
COMPANIONS = ("-wal", "-shm", "-journal", ".wal")


def restrict_umask() -> None:
    """Make every file and folder this process creates from now on private to its account.

    The umask is the process's: the new value never loosens the current one, and the value set
    in between is already the private one, so a file another thread creates meanwhile is private
    too."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can enter; the folders it makes on the way are too."""
    made = [folder for folder in (path, *path.parents) if not folder.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for folder in made:
        _tighten(folder, report=False)
    _tighten(path, report=path not in made)
    return path


def private_file(path: Path, *, found: bool = False) -> Path:
    """Take the group's and others' permissions off ``path`` and the journal files beside it.
    ``found``: the file was there before this process opened it, so a change is said."""
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
        _tighten(candidate, report=found)
    return path


def private_tree(path: Path) -> Path:
    """``path`` and every folder and file under it, private to their owner (a folder the product
    has just written, such as a pseudonymised export or the quarantined rows)."""
    _tighten(path, report=False)
    for inner in path.rglob("*"):
        _tighten(inner, report=False)
    return path


def is_shared(path: Path) -> bool:
    """Whether another account may read, write or enter ``path`` by its modes."""
    return bool(stat.S_IMODE(path.stat().st_mode) & PRIVATE_UMASK)


def warn_if_shared(path: Path, what: str) -> bool:
    """Say on standard error that ``path`` (a key the operator owns) is readable by others, with
    the command that fixes it; the file is left as it is. True if it was said."""
    try:
        shared = is_shared(path)
    except OSError:
        return False
    if shared:
        _say(
            f"hmb: {what} {path} 可被其他账户读取 can be read by other accounts"
            f" (mode {_mode(path)}): chmod 600 {path}"
        )
    return shared


def _tighten(path: Path, *, report: bool) -> None:
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:
        return
    if path.is_symlink() or not mode & PRIVATE_UMASK:
        return
    try:
        os.chmod(path, mode & ~PRIVATE_UMASK)
    except OSError as error:  # another account's file: only its owner can change it
        _say(
            f"hmb: {path} 可被其他账户读取 can be read by other accounts (mode {oct(mode)[2:]})"
            f" and could not be restricted ({error.strerror}): chmod"
            f" {'700' if path.is_dir() else '600'} {path}"
        )
        return
    if report:
        _say(
            f"hmb: {path} 权限已收紧 was readable by other accounts (mode {oct(mode)[2:]}):"
            f" now {oct(mode & ~PRIVATE_UMASK)[2:]}, readable by its owner only"
        )


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))[2:]


def _say(message: str) -> None:
    if message in _said:
        return
    _said.add(message)
    print(message, file=sys.stderr)


_said: set[str] = set()
