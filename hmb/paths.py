"""Where the project keeps its files. Everything is found relative to the checkout."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = PROJECT_ROOT / "queries"
RULEBOOKS_DIR = PROJECT_ROOT / "data" / "rulebooks"
SEEDS_DIR = Path(os.environ.get("HMB_SEEDS_DIR", PROJECT_ROOT / "data" / "seeds"))
DEMO_DIR = Path(os.environ.get("HMB_DEMO_DIR", PROJECT_ROOT / "data" / "demo"))
