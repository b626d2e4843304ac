"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader (or a crash) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_output(path: os.PathLike | str, mode: str = "wb", keep_stat_of: Path | None = None) -> Iterator:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    ``keep_stat_of`` copies permissions and modification time from that file
    (used when rewriting a user's image in place).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if keep_stat_of is not None:
            st = os.stat(keep_stat_of)
            os.chmod(tmp, st.st_mode & 0o7777)
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: os.PathLike | str, data: bytes, keep_stat_of: Path | None = None) -> None:
    with atomic_output(path, "wb", keep_stat_of) as fh:
        fh.write(data)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around bulk building of small objects.

    Millions of dicts and tuples otherwise trigger collection after collection
    (see the performance notes in the README). On the way out the survivors
    are frozen (``gc.freeze``), so later collections do not walk them again;
    they hold no reference cycles, and are still freed when no longer used.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()
