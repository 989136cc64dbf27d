"""Headless Chromium for the browser tests: the system Chromium and chromedriver, never Selenium Manager and
never a download. Tests skip, with the reason, where either is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evaluation.browser import find_chromium


def headless_chrome(download_dir: Path | None = None, *, browser_log: bool = False):
    """A selenium Chrome driver (call ``quit()`` when done); ``download_dir`` lets the page save files there."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    browser, driver = find_chromium(), shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    if not Path(driver).is_file():
        pytest.skip("no chromedriver on this machine (Debian: apt-get install chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        opts.add_argument(arg)
    if browser_log:
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if download_dir is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                               "download.prompt_for_download": False})
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    if download_dir is not None:
        drv.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return drv
