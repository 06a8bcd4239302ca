"""Shared test setup: stores and the alert store go to temporary folders, never into the
checkout (the demo folders in data/demo are reused: they are deterministic)."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("HMB_CACHE_DIR", tempfile.mkdtemp(prefix="hmb-test-cache-"))
    os.environ.setdefault("HMB_STATE_DIR", tempfile.mkdtemp(prefix="hmb-test-state-"))
