"""Headless Chromium for the browser tests (JupyterLab in test_browser.py, the website in test_site.py).

Debian's chromium and chromium-driver (`bash scripts/install_browser.sh`; .ci/run calls it), driven by
Selenium with the system chromedriver, so nothing is downloaded. Outside CI a test that needs them is
skipped when they are missing; in CI (CI=true) it fails instead.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("COURSE_CHROMEDRIVER", "/usr/bin/chromedriver")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The background-networking flags matter: this machine has no network, and a learner's may be offline.
CHROME_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} not found: run `bash scripts/install_browser.sh` (Debian's chromium, chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: run `python scripts/course.py setup`"
    return None


def require_browser() -> None:
    reason = missing_browser()
    if reason and IN_CI:
        pytest.fail(f"CI must run the browser tests, but {reason}")
    if reason:
        pytest.skip(reason)


@contextmanager
def chrome(profile_dir: Path, console_log: bool = False):
    """A headless Chromium with a fresh profile; console_log keeps the page's console for get_log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS + [f"--user-data-dir={profile_dir / 'chrome-profile'}"]:
        options.add_argument(flag)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, log_output=str(profile_dir / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def wait(what: str, condition, timeout: float, poll: float = 0.5):
    """condition()'s first truthy value, or TimeoutError naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)
