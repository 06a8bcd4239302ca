"""Shared test setup: stores go to a temporary cache, never into the checkout."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("HMB_CACHE_DIR", tempfile.mkdtemp(prefix="hmb-test-cache-"))
