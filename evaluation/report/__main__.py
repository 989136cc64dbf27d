"""``python -m evaluation.report OUT/SUITE/ [...]``: re-render report pages from a run's written record."""

from __future__ import annotations

import argparse
import sys

from evaluation.report import render_folder


def main(argv: list[str] | None = None) -> int:
    """Render every folder given; exit status 0, or 2 when a folder holds no usable record."""
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.report",
        description="Re-render index.html (and features.html) of report folders from their metrics.json and "
                    "figures.npz alone; the pages are identical to the ones the run wrote.")
    parser.add_argument("folders", nargs="+", metavar="OUT/SUITE/", help="a folder written by python -m evaluation.run")
    args = parser.parse_args(argv)
    for folder in args.folders:
        try:
            written = render_folder(folder)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:  # unreadable, foreign
            # or damaged records: say which (a KeyError's text alone is only the missing key)
            what = str(exc) if isinstance(exc, (OSError, ValueError)) else f"damaged record ({type(exc).__name__}: {exc})"
            print(f"error: {folder}: {what}", file=sys.stderr)
            return 2
        for path in written:
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
