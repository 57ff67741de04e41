"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by Selenium.

The browser is never downloaded: the test set-up installs the Debian packages with apt-get when
they are missing (CI runs as root), and Selenium is given both paths, so Selenium Manager, which
would fetch a browser or driver of its own, never runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from apt_packages import ensure_packages

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PACKAGES = ["chromium", "chromium-driver"]

# Without the background-networking flags headless Chromium keeps dialling Google services that
# this network refuses; a fresh profile per session keeps runs independent.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1600,1000", "--lang=en-US"]


def ensure_chromium(log_path: Path) -> str | None:
    """Install Debian's chromium and chromium-driver if missing; None when ready, else why not."""
    return ensure_packages(PACKAGES, [CHROMIUM, CHROMEDRIVER], log_path)


class Browser:
    """One headless Chromium session."""

    def __init__(self, driver) -> None:  # noqa: ANN001 - selenium's WebDriver
        self.driver = driver

    def text(self) -> str:
        """The page's visible text (read in one script call: React re-renders make element handles stale)."""
        return self.driver.execute_script("return document.body ? document.body.innerText : ''") or ""

    def wait_for_text(self, wanted: list[str], timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            missing = [w for w in wanted if w not in text]
            if not missing:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"the page at {self.driver.current_url} does not show {missing}; it shows:\n"
                                     f"{text[:3000]}")
            time.sleep(1)

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what} at {self.driver.current_url}")
            time.sleep(0.5)

    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def log_in(self, base_url: str, next_path: str, username: str, password: str) -> None:
        """Open ``next_path``, which sends us to the simple auth manager's sign-in form, and sign in."""
        from selenium.webdriver.common.by import By

        self.driver.get(base_url + next_path)
        self.wait_until("the sign-in form", lambda: bool(self.driver.find_elements(By.NAME, "password")))
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
        self.wait_until("the sign-in to finish", lambda: "/auth/login" not in self.driver.current_url)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(path)):
            raise AssertionError(f"chromium could not save a screenshot to {path}")
        return path


@contextmanager
def chromium_session() -> Iterator[Browser]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # belt and braces: Selenium Manager must not download
    profile = tempfile.mkdtemp(prefix="dr-e2e-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
