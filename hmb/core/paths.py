"""Where the project keeps its files. Everything is found relative to the checkout."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
QUERIES_DIR = PROJECT_ROOT / "queries"
RULEBOOKS_DIR = PROJECT_ROOT / "data" / "rulebooks"
# An empty setting counts as unset (not as the current folder).
SEEDS_DIR = Path(os.environ.get("HMB_SEEDS_DIR") or PROJECT_ROOT / "data" / "seeds")
DEMO_DIR = Path(os.environ.get("HMB_DEMO_DIR") or PROJECT_ROOT / "data" / "demo")


def state_dir() -> Path:
    """Where the alert store and the audit trail live: $HMB_STATE_DIR, or data/state."""
    return Path(os.environ.get("HMB_STATE_DIR") or PROJECT_ROOT / "data" / "state")


def default_alert_store() -> Path:
    return state_dir() / "alerts.sqlite"
