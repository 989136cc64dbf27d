"""Where an archive run writes: committed batches in a parts folder, then one Parquet file and its sidecars.

For ``--out features.parquet``::

    features.parts/            while the run is going (and after a crash or Ctrl-C)
        run.json               what the run is (settings, source, package version): --resume checks it
        batch-000001.clips.parquet, batch-000001.walks.parquet
        batch-000001.json      the commit record: which videos the batch holds, which were skipped and why
    features.parquet           at the end: one row per clip, sorted by video_id and clip_start
    features.walks.parquet     one row per video (the whole walk)
    features.skipped.csv       video_id, stage, error, reason, unexpected

A batch counts only once its commit record exists, and the record is
written (atomically, by renaming a finished file) after the batch's data, so
a run killed at any moment leaves either a whole batch or one that is
ignored and removed on resume. The final files are written to temporary
names and renamed, ``features.parquet`` last; then the parts folder goes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gaitfeat.jsonable import to_jsonable

__all__ = ["OutputPaths", "output_paths", "PartStore", "Committed", "to_arrow", "read_provenance",
           "METADATA_KEY", "SCHEMA", "SKIPPED_COLUMNS"]

#: Key of the provenance JSON in the Parquet files' key-value metadata.
METADATA_KEY = b"gaitfeat"
#: Name and version of the output layout, written into the provenance.
SCHEMA = "gaitfeat.extract/1"
#: Columns of the skipped-videos table.
SKIPPED_COLUMNS = ("video_id", "stage", "error", "reason", "unexpected")
_MARKER = "run.json"
_BATCH = re.compile(r"batch-(\d{6})\.(json|clips\.parquet|walks\.parquet)(\.tmp)?")


@dataclass(frozen=True)
class OutputPaths:
    """The files of one output (see the module docstring)."""

    features: Path
    walks: Path
    skipped: Path
    parts: Path

    @property
    def finals(self) -> tuple[Path, Path, Path]:
        return (self.features, self.walks, self.skipped)


def output_paths(out: str | Path) -> OutputPaths:
    """The output files for ``out`` (which must end in ``.parquet``)."""
    out = Path(out)
    if out.suffix != ".parquet" or out.name == ".parquet":
        raise ValueError(f"the output must be a .parquet file name, got {str(out)!r}")
    stem = out.with_suffix("")
    return OutputPaths(out, Path(f"{stem}.walks.parquet"), Path(f"{stem}.skipped.csv"), Path(f"{stem}.parts"))


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as an Arrow table of exactly ``schema`` (columns in its order, its types, no pandas metadata)."""
    frame = frame.reindex(columns=schema.names)
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False).replace_schema_metadata(None)


def read_provenance(path: str | Path) -> dict:
    """The provenance a run wrote into a Parquet file's metadata (settings, source, counts, dates)."""
    meta = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in meta:
        raise ValueError(f"{path}: no gaitfeat provenance in the Parquet metadata (not written by gaitfeat.extract)")
    return json.loads(meta[METADATA_KEY])


def _write_atomic(path: Path, write) -> None:
    """Write through ``write(tmp_path)`` then rename, so ``path`` is either absent, old or complete."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _json_text(obj) -> str:
    return json.dumps(to_jsonable(obj), allow_nan=False, indent=1, sort_keys=True)


@dataclass
class Committed:
    """What earlier runs left in the parts folder.

    Attributes
    ----------
    done : dict
        ``{video_id: clips}`` of the videos written.
    skipped : dict
        ``{video_id: skip record}``, the latest per video.
    batches : list of int
    seconds : dict
        Time spent per stage, summed over the videos, s.
    """

    done: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, dict] = field(default_factory=dict)
    batches: list[int] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class PartStore:
    """The parts folder of one output: opened (fresh, resumed or overwritten), committed to, finished."""

    def __init__(self, paths: OutputPaths, run: dict):
        self.paths = paths
        self.run = run

    @classmethod
    def open(cls, out: str | Path, fingerprint: dict, *, started: str, resume: bool = False,
             overwrite: bool = False) -> PartStore:
        """Open the parts folder of ``out``.

        Without ``resume`` an existing output or parts folder is refused
        (``FileExistsError``) unless ``overwrite``, which deletes them. With
        ``resume``, the parts folder's ``run.json`` must describe the same
        run (``fingerprint``), else ``ValueError`` naming what changed; a
        complete output without parts folder is refused (nothing to resume).
        """
        paths = output_paths(out)
        finals = [p for p in paths.finals if p.exists()]
        marker = paths.parts / _MARKER
        if paths.parts.exists() and not marker.is_file():
            raise FileExistsError(f"{paths.parts} exists but was not written by gaitfeat.extract (no {_MARKER}); "
                                  "move it away or choose another --out")
        wanted = json.loads(_json_text(fingerprint))
        if resume and paths.parts.exists():
            run = json.loads(marker.read_text(encoding="utf-8"))
            changed = [f"{k}: {run['fingerprint'].get(k)!r} there, {v!r} now" for k, v in wanted.items()
                       if run["fingerprint"].get(k) != v]
            if changed:
                raise ValueError(f"cannot resume: {paths.parts} was written by a run with other settings ("
                                 + "; ".join(changed) + "); use --overwrite to start again")
            run["runs"] = int(run.get("runs", 1)) + 1
        elif resume and finals:
            raise FileExistsError(f"{paths.features} is complete (there is no {paths.parts} to resume from); "
                                  "use --overwrite to extract again")
        else:
            if (finals or paths.parts.exists()) and not overwrite:
                shown = ", ".join(str(p) for p in [*finals, *([paths.parts] if paths.parts.exists() else [])])
                hint = "--resume to finish that run, or " if paths.parts.exists() else ""
                raise FileExistsError(f"the output exists ({shown}); use {hint}--overwrite to replace it")
            for path in finals:
                path.unlink()
            if paths.parts.exists():
                shutil.rmtree(paths.parts)
            run = {"fingerprint": wanted, "started": started, "runs": 1}
        paths.parts.mkdir(parents=True, exist_ok=True)
        _write_atomic(marker, lambda p: p.write_text(_json_text(run), encoding="utf-8"))
        store = cls(paths, run)
        store._remove_orphans()
        return store

    def _manifests(self) -> dict[int, Path]:
        out = {}
        for path in self.paths.parts.iterdir():
            m = _BATCH.fullmatch(path.name)
            if m and m.group(2) == "json" and not m.group(3):
                out[int(m.group(1))] = path
        return dict(sorted(out.items()))

    def _remove_orphans(self) -> None:
        """Delete part files of batches that never got their commit record (the run died while writing them)."""
        committed = set(self._manifests())
        for path in self.paths.parts.iterdir():
            m = _BATCH.fullmatch(path.name)
            if m and (m.group(3) or int(m.group(1)) not in committed):
                path.unlink()

    def committed(self) -> Committed:
        """The videos written and skipped by the committed batches."""
        out = Committed()
        for number, path in self._manifests().items():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                videos, skipped = record["videos"], record["skipped"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}: damaged commit record ({exc}); use --overwrite to start again") from None
            out.batches.append(number)
            for vid, info in videos.items():
                out.done[vid] = int(info["clips"])
                out.skipped.pop(vid, None)
                for stage, s in info.get("seconds", {}).items():
                    out.seconds[stage] = out.seconds.get(stage, 0.0) + float(s)
            for rec in skipped:
                out.skipped[rec["video_id"]] = rec
        return out

    def commit(self, clips: pa.Table | None, walks: pa.Table | None, videos: dict, skipped: list[dict]) -> int:
        """Write one batch: its tables, then its commit record. Returns the batch number."""
        number = max(self._manifests(), default=0) + 1
        base = self.paths.parts / f"batch-{number:06d}"
        for table, kind in ((clips, "clips"), (walks, "walks")):
            if table is not None and table.num_rows:
                _write_atomic(Path(f"{base}.{kind}.parquet"), lambda p, t=table: pq.write_table(t, p))
        record = {"videos": videos, "skipped": skipped}
        _write_atomic(Path(f"{base}.json"), lambda p: p.write_text(_json_text(record), encoding="utf-8"))
        return number

    def _table(self, kind: str, schema: pa.Schema, keys: list[tuple[str, str]]) -> pa.Table:
        paths = [self.paths.parts / f"batch-{n:06d}.{kind}.parquet" for n in self._manifests()]
        tables = [pq.read_table(p, schema=schema) for p in paths if p.exists()]
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        # Sorted, so that the output does not depend on the order the workers finished in.
        return table.sort_by(keys)

    def finish(self, clip_schema: pa.Schema, walk_schema: pa.Schema, skipped: pd.DataFrame,
               provenance: dict) -> tuple[int, int]:
        """Combine the batches into the final files, then delete the parts folder.

        Returns the numbers of clip rows and walk rows written.
        """
        clips = self._table("clips", clip_schema, [("video_id", "ascending"), ("clip_start", "ascending")])
        walks = self._table("walks", walk_schema, [("video_id", "ascending")])
        provenance = {**provenance, "rows": {"clips": clips.num_rows, "walks": walks.num_rows}}
        meta = {METADATA_KEY: json.dumps(to_jsonable(provenance), allow_nan=False).encode("utf-8")}
        skipped = skipped.reindex(columns=list(SKIPPED_COLUMNS))
        _write_atomic(self.paths.walks, lambda p: pq.write_table(walks.replace_schema_metadata(meta), p))
        _write_atomic(self.paths.skipped, lambda p: skipped.to_csv(p, index=False))
        _write_atomic(self.paths.features, lambda p: pq.write_table(clips.replace_schema_metadata(meta), p))
        shutil.rmtree(self.paths.parts)
        return clips.num_rows, walks.num_rows
