"""Where the project keeps its own files, found relative to the checkout. No setting changes
these; the folders an operator may move (cache, state, demo data, ...) are in hmb.core.settings.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
QUERIES_DIR = PROJECT_ROOT / "queries"
RULEBOOKS_DIR = PROJECT_ROOT / "data" / "rulebooks"
