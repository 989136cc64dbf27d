"""Un-blind and summarise the raters' CSV files: means with bootstrap intervals, preferences, Friedman tests.

Statistics
----------
* Mean rating per variant and dimension, over every answered rating (all raters, all cases), with a 95 %
  percentile-bootstrap interval that resamples *cases* (all raters' ratings of a case move together, because
  ratings of one case are not independent).
* Preference rate per variant: the share of answered (rater, case) best-of choices that picked it, with the
  same case-bootstrap interval (the same resampled cases for every statistic).
* Friedman test per dimension across the variants (:func:`scipy.stats.friedmanchisquare`; Friedman (1937),
  "The use of ranks to avoid the assumption of normality implicit in the analysis of variance"). A block is
  one rater's ratings of one case; only blocks where every variant was rated on that dimension count.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.rating_kit.schema import (
    CSV_COLUMNS,
    DIMENSIONS,
    KEY_FORMAT,
    KEY_VERSION,
    LIKERT,
    SUMMARY_FORMAT,
    SUMMARY_VERSION,
)
from gaitfeat.errors import ReaderError

__all__ = ["load_key", "read_ratings", "score", "format_summary"]


def load_key(key_path: str | Path) -> dict:
    """Read and check a kit's ``key.json``; returns it with ``items`` as ``{item number: item}``."""
    path = Path(key_path)
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReaderError(f"{path}: no such key file", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReaderError(f"{path}: not readable JSON ({exc})", path) from None
    if not isinstance(key, dict) or key.get("format") != KEY_FORMAT or key.get("version") != KEY_VERSION:
        raise ReaderError(f"{path}: not a rating-kit key ({KEY_FORMAT} version {KEY_VERSION})", path)
    if list(key.get("dimensions", [])) != list(DIMENSIONS):
        raise ReaderError(f"{path}: the key's dimensions {key.get('dimensions')} differ from {list(DIMENSIONS)}", path)
    try:
        items = {int(it["item"]): it for it in key["items"]}
        for it in items.values():
            if set(it["options"].values()) != set(key["variants"]) or len(it["options"]) != len(key["variants"]):
                raise ValueError(f"item {it['item']} does not map its options onto the variants one to one")
        str(key["kit_id"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReaderError(f"{path}: malformed key ({exc})", path) from None
    return {**key, "items": items}


def _likert(value: str, where: str, path: Path) -> float:
    if value == "":
        return np.nan
    if value not in {str(v) for v in LIKERT}:
        raise ReaderError(f"{path}: {where}: {value!r} is not a rating from {LIKERT[0]} to {LIKERT[-1]}", path)
    return float(value)


def read_ratings(paths, key: dict) -> pd.DataFrame:
    """All raters' rows, checked against the key and un-blinded (a ``variant`` column added).

    Raises
    ------
    ReaderError
        A file of another kit (``kit_id``), an unknown case or option, a rating outside 1-5, a ``best`` that is
        not blank/0/1 or marks more than one option of a case, or the same (rater, case, option) twice.
    """
    rows = []
    for path in map(Path, paths):
        try:
            # utf-8-sig: a file re-saved by a spreadsheet may start with a byte-order mark
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except FileNotFoundError:
            raise ReaderError(f"{path}: no such ratings file", path) from None
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ReaderError(f"{path}: not a readable CSV ({exc})", path) from None
        df.columns = [str(c).strip() for c in df.columns]
        missing = [c for c in CSV_COLUMNS if c not in df.columns]
        if missing:
            raise ReaderError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(CSV_COLUMNS)})",
                              path)
        for i, r in enumerate(df[list(CSV_COLUMNS)].itertuples(index=False), start=2):
            r = {c: str(v).strip() for c, v in zip(CSV_COLUMNS, r)}
            where = f"line {i}"
            if r["kit_id"] != str(key["kit_id"]):
                raise ReaderError(f"{path}: {where}: kit_id {r['kit_id']!r} is not this key's kit "
                                  f"{key['kit_id']!r}: these ratings belong to another kit", path)
            try:
                item = int(r["item"])
            except ValueError:
                item = None
            if item not in key["items"]:
                raise ReaderError(f"{path}: {where}: case {r['item']!r} is not in the kit", path)
            options = key["items"][item]["options"]
            if r["option"] not in options:
                raise ReaderError(f"{path}: {where}: case {item} has no option {r['option']!r} "
                                  f"(options {', '.join(options)})", path)
            if r["best"] not in ("", "0", "1"):
                raise ReaderError(f"{path}: {where}: best must be 1, 0 or blank, not {r['best']!r}", path)
            rows.append({"file": str(path), "rater_id": r["rater_id"], "item": item, "option": r["option"],
                         "variant": options[r["option"]],
                         **{d: _likert(r[d], f"{where}, {d}", path) for d in DIMENSIONS},
                         "best": np.nan if r["best"] == "" else float(r["best"])})
    table = pd.DataFrame(rows, columns=["file", "rater_id", "item", "option", "variant", *DIMENSIONS, "best"])
    dup = table.duplicated(["rater_id", "item", "option"], keep=False)
    if dup.any():
        r = table[dup].iloc[0]
        raise ReaderError(f"rater {r['rater_id']!r} rated case {r['item']} option {r['option']} twice "
                          f"(files {', '.join(sorted(set(table[dup]['file'])))}); give each rater's file once and "
                          f"each rater a distinct ID", r["file"])
    for (rater, item), g in table.groupby(["rater_id", "item"]):
        answered = g["best"].dropna()
        if len(answered) and (answered == 1).sum() != 1:
            raise ReaderError(f"rater {rater!r}, case {item}: 'best' must mark exactly one option with 1 "
                              f"(found {int((answered == 1).sum())})", g["file"].iloc[0])
    return table


def _interval(sums: np.ndarray, counts: np.ndarray, idx: np.ndarray) -> list[float | None]:
    """Percentile 95 % interval of sum/count when the cases are resampled by ``idx`` (B x cases)."""
    s, c = sums[idx].sum(axis=1), counts[idx].sum(axis=1)
    ok = c > 0
    if not ok.any():
        return [None, None]
    lo, hi = np.percentile(s[ok] / c[ok], [2.5, 97.5])
    return [float(lo), float(hi)]


def _friedman(table: pd.DataFrame, dim: str, variants: list[str]) -> dict:
    wide = table.pivot_table(index=["rater_id", "item"], columns="variant", values=dim, aggfunc="first")
    wide = wide.reindex(columns=variants).dropna()
    out = {"n_blocks": len(wide), "df": len(variants) - 1, "statistic": None, "p_value": None,
           "mean_ranks": None, "note": ""}
    if len(variants) < 3:
        out["note"] = "the Friedman test needs at least 3 variants"
        return out
    if len(wide) < 2:
        out["note"] = "fewer than 2 complete blocks"
        return out
    x = wide.to_numpy(float)
    out["mean_ranks"] = dict(zip(variants, stats.rankdata(x, axis=1).mean(axis=0).round(6).tolist()))
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.friedmanchisquare(*x.T)
    if not np.isfinite(res.statistic):
        out["note"] = "every block ties all variants: no ranking to test"
        return out
    out["statistic"], out["p_value"] = float(res.statistic), float(res.pvalue)
    return out


def score(ratings_paths, key_path: str | Path, *, random_state: int = 0, n_bootstrap: int = 2000) -> dict:
    """Un-blind the ratings of one kit and summarise them per variant.

    Parameters
    ----------
    ratings_paths : path or list of paths
        ``ratings.csv`` files downloaded from the kit page (one per rater; several raters allowed).
    key_path : str or Path
        The kit's ``key.json``.
    random_state : int
        Seed of the case bootstrap.
    n_bootstrap : int
        Number of bootstrap resamples of the cases.

    Returns
    -------
    dict
        ``variants`` (per variant: ``dimensions`` -> mean, 95 % ``ci``, ``n`` ratings, ``n_items``; ``preferred``
        -> ``rate``, ``ci``, ``n_chosen``, ``n_answered``), ``friedman`` (per dimension: ``statistic``,
        ``p_value``, ``df``, ``n_blocks``, ``mean_ranks``), counts of raters and cases, and the method.
    """
    if isinstance(ratings_paths, str | Path):
        ratings_paths = [ratings_paths]
    if not ratings_paths:
        raise ValueError("no ratings file given")
    if not isinstance(n_bootstrap, int) or n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be a positive integer, not {n_bootstrap!r}")
    key = load_key(key_path)
    table = read_ratings(ratings_paths, key)
    variants = list(key["variants"])
    answered = table[[*DIMENSIONS, "best"]].notna().any(axis=1)
    cases = np.array(sorted(set(table.loc[answered, "item"])), dtype=int)
    rng = np.random.default_rng(random_state)
    idx = rng.integers(0, len(cases), size=(n_bootstrap, len(cases))) if len(cases) else np.zeros((1, 0), int)
    summary_variants = {}
    for v in variants:
        sub = table[table["variant"] == v]
        per_dim = {}
        for d in DIMENSIONS:
            g = sub.groupby("item")[d]
            sums, counts = g.sum().reindex(cases, fill_value=0).to_numpy(), g.count().reindex(cases, fill_value=0)
            counts = counts.to_numpy()
            n = int(counts.sum())
            per_dim[d] = {"mean": float(sums.sum() / n) if n else None, "ci": _interval(sums, counts, idx),
                          "n": n, "n_items": int((counts > 0).sum())}
        chosen = sub.groupby("item")["best"].sum().reindex(cases, fill_value=0).to_numpy()
        n_ans = table[table["best"].notna()].groupby("item")["best"].sum().reindex(cases, fill_value=0).to_numpy()
        total = int(n_ans.sum())
        summary_variants[v] = {
            "description": key["variants"][v], "dimensions": per_dim,
            "preferred": {"rate": float(chosen.sum() / total) if total else None,
                          "ci": _interval(chosen, n_ans, idx), "n_chosen": int(chosen.sum()), "n_answered": total}}
    return {
        "format": SUMMARY_FORMAT, "version": SUMMARY_VERSION, "kit_id": key["kit_id"],
        "key": str(Path(key_path)), "ratings_files": [str(p) for p in ratings_paths],
        "simulated": key.get("simulated"), "raters": sorted(set(table["rater_id"])),
        "n_raters": int(table["rater_id"].nunique()), "n_items": len(key["items"]), "n_items_rated": len(cases),
        "dimensions": list(DIMENSIONS),
        "ci_method": f"95% percentile bootstrap over cases ({n_bootstrap} resamples, random_state={random_state}); "
                     "all raters' ratings of a case are resampled together",
        "variants": summary_variants,
        "friedman": {d: _friedman(table, d, variants) for d in DIMENSIONS},
    }


def _fmt(x, digits=2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def format_summary(summary: dict) -> str:
    """The summary as plain text for the terminal."""
    lines = [f"Rating kit {summary['kit_id']}: {summary['n_raters']} rater(s), {summary['n_items_rated']} of "
             f"{summary['n_items']} cases rated" + (" (SIMULATED data)" if summary.get("simulated") else ""),
             f"Intervals: {summary['ci_method']}", ""]
    head = f"{'variant':<16}" + "".join(f"{d:>24}" for d in summary["dimensions"]) + f"{'preferred':>24}"
    lines.append(head)
    for v, s in summary["variants"].items():
        cells = [f"{_fmt(c['mean'])} [{_fmt(c['ci'][0])}, {_fmt(c['ci'][1])}] n={c['n']}"
                 for c in s["dimensions"].values()]
        p = s["preferred"]
        cells.append(f"{_fmt(p['rate'])} [{_fmt(p['ci'][0])}, {_fmt(p['ci'][1])}] "
                     f"{p['n_chosen']}/{p['n_answered']}")
        lines.append(f"{v[:15]:<16}" + "".join(f"{c:>24}" for c in cells))
    lines.append("")
    lines.append("Friedman test across variants (blocks = rater x case, complete blocks only):")
    for d, f in summary["friedman"].items():
        if f["statistic"] is None:
            lines.append(f"  {d:<13} n_blocks={f['n_blocks']}: not computed ({f['note']})")
        else:
            lines.append(f"  {d:<13} chi2({f['df']}) = {f['statistic']:.3f}, p = {f['p_value']:.3g}, "
                         f"n_blocks={f['n_blocks']}")
    return "\n".join(lines)
