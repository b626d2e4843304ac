"""Path safety: results files name images; we never let them escape a folder."""

from __future__ import annotations

import operator
import os
from itertools import islice
from pathlib import Path


def path_problem(file: str) -> str | None:
    """Why ``file`` is unsafe to join to a folder, or ``None`` when it is safe.

    Absolute paths (``/x``, ``\\\\server\\x``, ``D:\\x``) and ``..`` segments are unsafe.
    """
    if file[:1] in ("/", "\\") or file[1:2] == ":":
        return "absolute path"
    if ".." in file and ".." in file.replace("\\", "/").split("/"):
        return "'..' segment"
    return None


def normalize(file: str) -> str:
    """Forward slashes, no leading ``./``: the form every tool here compares."""
    file = file.replace("\\", "/")
    while file.startswith("./"):
        file = file[2:]
    return file


def safe_join(root: Path, file: str) -> Path:
    """``root / file`` for a results path, refusing anything that escapes ``root``.

    Raises ``ValueError`` (with the reason) for an unsafe path.
    """
    problem = path_problem(file)
    if problem:
        raise ValueError(f"unsafe path {file!r}: {problem}")
    target = root / normalize(file)
    # Symlinked folders inside root may still point outside; check the resolved path.
    real_root = os.path.realpath(root)
    if not os.path.realpath(target).startswith(real_root.rstrip(os.sep) + os.sep):
        raise ValueError(f"unsafe path {file!r}: resolves outside {root}")
    return target


def all_different(files: list[str]) -> bool:
    """No path twice. Results files are usually sorted by path, so one pass of
    comparisons mostly proves it; otherwise a set does."""
    if all(map(operator.lt, files, islice(files, 1, None))):
        return True
    return len(set(files)) == len(files)
