"""Render a report in headless Chromium: a screenshot, or the DOM as the browser parsed it.

Used by the tests (the report's DOM holds no script element, escaped IDs stay
text) and by hand to look at a report without a desktop::

    python -m evaluation.browser reports/gmfcs/index.html report.png

Chromium comes from the system (Debian: ``apt-get install chromium``); nothing
is downloaded. Without it these functions raise :class:`FileNotFoundError`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["find_chromium", "screenshot", "dump_dom"]

_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("no Chromium found on PATH (Debian: apt-get install chromium)")
    return subprocess.run([exe, *_FLAGS, *args], capture_output=True, text=True, timeout=timeout, check=False)


def screenshot(html: str | Path, png: str | Path, *, width: int = 1280, height: int = 4000, timeout: float = 120) -> Path:
    """Write a PNG of the page's first ``height`` pixels at ``width`` pixels wide."""
    png = Path(png).resolve()
    res = _run([f"--window-size={width},{height}", f"--screenshot={png}", Path(html).resolve().as_uri()], timeout)
    if not png.exists() or png.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no screenshot (exit {res.returncode}): {res.stderr[-500:]}")
    return png


def dump_dom(html: str | Path, *, timeout: float = 120) -> str:
    """The page's DOM after Chromium parsed (and would have run) it, serialised as HTML."""
    res = _run(["--dump-dom", Path(html).resolve().as_uri()], timeout)
    if res.returncode != 0 or not res.stdout:
        raise RuntimeError(f"Chromium could not render {html} (exit {res.returncode}): {res.stderr[-500:]}")
    return res.stdout


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m evaluation.browser REPORT.html OUT.png", file=sys.stderr)
        sys.exit(2)
    print(screenshot(sys.argv[1], sys.argv[2]))
