"""The real app in a real browser: a Streamlit server started once per session, driven by
Debian's chromium through pytest-playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (apt packages
``chromium chromium-driver fonts-noto-cjk fonts-wqy-microhei``). Without it the browser tests are
skipped on a workstation, but fail under CI (``CI`` set), where skipping would hide them.

The server keeps its alert store and query caches in temporary folders (``HMB_STATE_DIR``,
``HMB_CACHE_DIR``), never in the checkout; the demo folders in data/demo are reused, or generated
once before the server starts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hmb.core.paths import PROJECT_ROOT
from hmb.core.settings import settings
from hmb.tools.demo import ensure_demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The jurisdictions the browser tests open: generated before the server starts, so no wait in
# the browser includes writing a demo folder.
DEMO_PROFILES_USED = ("sanming-2024", "hunan-2024")
STARTUP_TIMEOUT_S = 60.0
PORT_ATTEMPTS = 3
VIEWPORT = {"width": 1600, "height": 1100}


def _require_chromium() -> None:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    reason = (
        f"{CHROMIUM} is missing: the browser tests drive Debian's chromium "
        "(apt-get install chromium chromium-driver fonts-noto-cjk fonts-wqy-microhei; "
        ".ci/run installs them)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must not skip them", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200 and response.read().strip() == b"ok")
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 60) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _logs(stderr_log: Path, stdout_log: Path) -> str:
    return f"--- stderr ---\n{_tail(stderr_log)}\n--- stdout ---\n{_tail(stdout_log)}"


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app's base URL: ``streamlit run streamlit_app.py`` on a free port, stopped at the end."""
    _require_chromium()
    for profile in DEMO_PROFILES_USED:
        ensure_demo(profile, settings().demo_dir)
    root = tmp_path_factory.mktemp("browser-app")
    env = {
        **os.environ,
        "HMB_STATE_DIR": str(root / "state"),
        "HMB_CACHE_DIR": str(root / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
    # A bureau's own folder in the environment would become the default source: leave it out.
    for name in ("HMB_DATA_DIR", "HMB_PROFILE"):
        env.pop(name, None)
    process, url = _start(env, root)
    try:
        yield url
    finally:
        _stop(process)


def _start(env: dict[str, str], root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server and wait for its health check; a port taken between choosing it and
    binding it is tried again with another."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        stdout_log, stderr_log = root / f"streamlit-{port}.out", root / f"streamlit-{port}.err"
        command = [
            sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
            "--server.port", str(port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
        ]
        with stdout_log.open("wb") as out, stderr_log.open("wb") as err:
            process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None:
                if "is not available" in _tail(stderr_log) and attempt < PORT_ATTEMPTS:
                    break  # the port was taken meanwhile: another one
                pytest.fail(
                    f"the app exited with code {process.returncode} before answering "
                    f"{url}/_stcore/health\n{_logs(stderr_log, stdout_log)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                _stop(process)
                pytest.fail(
                    f"the app did not answer {url}/_stcore/health within "
                    f"{STARTUP_TIMEOUT_S:.0f} s\n{_logs(stderr_log, stdout_log)}",
                    pytrace=False,
                )
            time.sleep(0.25)
        else:
            return process, url
    raise AssertionError("unreachable")  # every attempt returns, retries or fails


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium, headless and offline; Playwright's own browsers are not installed."""
    _require_chromium()
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(app_server: str) -> str:
    return app_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai", "accept_downloads": True}
