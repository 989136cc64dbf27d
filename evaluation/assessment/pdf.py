"""Print the assessment page to PDF with the system's headless Chromium (nothing downloaded).

The page's ``@page`` and ``@media print`` rules do the layout (A4, the simulated-data banner on every
page, the animation reduced to its first frame); Chromium's own header and footer (date, file URL) are
switched off so the page carries no local path.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from evaluation.browser import _FLAGS, find_chromium

__all__ = ["write_pdf"]


def write_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout: float = 120) -> Path:
    """Print ``html_path`` to ``pdf_path`` through headless Chromium.

    Parameters
    ----------
    html_path : str or Path
        The assessment page (a local file).
    pdf_path : str or Path
        Where to write the PDF (its folder is created).
    timeout : float
        Seconds before Chromium is stopped.

    Returns
    -------
    Path
        The absolute path of the PDF.

    Raises
    ------
    FileNotFoundError
        When the page does not exist or no Chromium is installed.
    RuntimeError
        When Chromium ran but wrote no PDF.
    """
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    if not html_path.is_file():
        raise FileNotFoundError(f"no such page: {html_path}")
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("cannot write a PDF: no Chromium found on PATH (Debian: apt-get install chromium); "
                                "the HTML page is complete without it")
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    if pdf_path.exists():
        pdf_path.unlink()             # a stale file must not pass for this run's output
    args = [exe, *_FLAGS, f"--print-to-pdf={pdf_path}", "--no-pdf-header-footer", html_path.as_uri()]
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"Chromium did not finish printing {html_path} within {timeout:g} s") from exc
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no PDF (exit {res.returncode}): {res.stderr[-500:]}")
    return pdf_path
