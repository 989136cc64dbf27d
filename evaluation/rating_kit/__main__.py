"""Command line: ``python -m evaluation.rating_kit REPORT_DIR --n 20 --random-state 0 [--out DIR]`` makes a kit,
``python -m evaluation.rating_kit --score ratings.csv [...] --key DIR/key.json [--out summary.json]`` scores it.

Bad input (a missing or malformed file, ratings of another kit, ...) prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluation.rating_kit.build import build_kit
from evaluation.rating_kit.scoring import format_summary, score
from gaitfeat.jsonable import to_jsonable


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation.rating_kit",
                                description="Make a blinded rating kit of gait-classification rationales, "
                                            "or score the raters' CSV files against its key.")
    p.add_argument("report_dir", nargs="?", help="taxonomy report folder holding rationales.json (kit mode)")
    p.add_argument("--n", type=int, default=20, help="number of cases in the kit (default 20)")
    p.add_argument("--random-state", type=int, default=0,
                   help="seed: sampling and shuffling (kit mode), case bootstrap (score mode); default 0")
    p.add_argument("--out", help="kit mode: output folder (default REPORT_DIR/rating_kit); "
                                 "score mode: summary JSON (default summary.json next to the key)")
    p.add_argument("--score", nargs="+", metavar="RATINGS_CSV", help="score these ratings files (score mode)")
    p.add_argument("--key", help="the kit's key.json (score mode)")
    p.add_argument("--n-bootstrap", type=int, default=2000, help="bootstrap resamples of the cases (default 2000)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.score:
            if args.report_dir or not args.key:
                parser.error("score mode takes --score CSV [CSV ...] --key KEY.json and no REPORT_DIR")
            summary = score(args.score, args.key, random_state=args.random_state, n_bootstrap=args.n_bootstrap)
            out = Path(args.out) if args.out else Path(args.key).parent / "summary.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(to_jsonable(summary), indent=1, allow_nan=False) + "\n", encoding="utf-8")
            print(format_summary(summary))
            print(f"\nsummary written to {out}")
        else:
            if not args.report_dir:
                parser.error("give REPORT_DIR to make a kit, or --score CSV ... --key KEY.json to score one")
            folder = build_kit(args.report_dir, n=args.n, random_state=args.random_state, out=args.out)
            print(f"rating kit: {folder / 'rating_kit.html'} (send this page to the raters)")
            print(f"key:        {folder / 'key.json'} (keep it: it un-blinds the ratings)")
    except (ValueError, OSError) as exc:     # gaitfeat's errors are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
