"""Identifiers that become file or folder names: validated before any path is built.

A video ID, a patient ID or a file-name prefix comes from a label table, a
metadata record or a caller; joined to a folder unchecked, ``../../x`` reads
or writes outside that folder. :func:`safe_name` accepts only a plain file
name component and :func:`path_inside` joins it and checks the result stays
in the folder.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from gaitfeat.errors import GaitError, LabelError

__all__ = ["safe_name", "path_inside", "MAX_NAME_BYTES"]

#: Longest identifier accepted, in UTF-8 bytes (file systems allow 255 per
#: name; the readers and writers add suffixes such as ``_000000000123_keypoints.json``).
MAX_NAME_BYTES = 200

_DRIVE = re.compile(r"^[A-Za-z]:")


def _why_unsafe(name: str) -> str | None:
    """Why ``name`` cannot be used as one file-name component, or None if it can."""
    if name == "":
        return "it is empty"
    if name.strip() != name:
        return "it starts or ends with white space"
    if "/" in name or "\\" in name:
        return "it contains a path separator ('/' or '\\')"
    if ".." in name:
        return "it contains '..' (a parent-folder reference)"
    if set(name) == {"."}:
        return "it is '.' (the folder itself)"
    if _DRIVE.match(name):
        return "it starts with a drive letter"
    if ":" in name:
        return "it contains ':' (a drive or stream separator on Windows)"
    for ch in name:
        if ch == "\x00" or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return f"it contains the control or format character {ch!r}"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"it contains {name[exc.start]!r}, which cannot be encoded as UTF-8 (a lone surrogate)"
    if os.path.isabs(name):
        return "it is an absolute path"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"it is longer than {MAX_NAME_BYTES} bytes"
    return None


def safe_name(name: object, *, what: str, where: str = "", error: type[GaitError] = LabelError) -> str:
    """``name`` as a string that is safe as one file-name component.

    Rejected, with ``error`` naming the identifier and the reason: anything
    that is not a string (integers are accepted and converted), the empty
    string, leading or trailing white space, ``/`` and ``\\``, ``..``, ``.``,
    drive letters and ``:``, absolute paths, control characters (NUL
    included), characters that cannot be encoded as UTF-8 (lone
    surrogates such as ``"\\ud800"``), and names longer than :data:`MAX_NAME_BYTES` UTF-8 bytes.

    Parameters
    ----------
    name : str
        The identifier.
    what : str
        What it is, for the message ("video ID", "file-name prefix").
    where : str
        Where it comes from (a file name), prefixed to the message.
    error : GaitError subclass
        The exception raised.
    """
    prefix = f"{where}: " if where else ""
    if isinstance(name, bool) or not isinstance(name, (str, int)):
        raise error(f"{prefix}{what} {name!r} cannot be used as a file name: it is a {type(name).__name__}, not a string")
    text = str(name)
    why = _why_unsafe(text)
    if why is not None:
        raise error(f"{prefix}{what} {text!r} cannot be used as a file name: {why}")
    return text


def path_inside(folder: Path, name: str, *, what: str, where: str = "", error: type[GaitError] = LabelError) -> Path:
    """``folder / name``, after checking that the joined path stays inside ``folder``.

    ``name`` must already have passed :func:`safe_name` (it may carry a
    suffix such as ``.csv``). The check is made on the absolute, normalised
    paths; a symbolic link placed inside ``folder`` by its owner is followed
    when the file is opened, as any other file in it.
    """
    base = Path(os.path.abspath(folder))
    target = Path(os.path.abspath(base / name))
    if target.parent != base:
        prefix = f"{where}: " if where else ""
        raise error(f"{prefix}{what} {name!r} would lead outside {str(folder)!r} (to {str(target)!r})")
    return folder / name
