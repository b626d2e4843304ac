"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader (or a crash) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
import threading
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_output(path: os.PathLike | str, mode: str = "wb") -> Iterator:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    For output written in pieces (results files, tables). Text mode is UTF-8.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: os.PathLike | str, data: bytes, like: os.stat_result | None = None,
                       keep_mtime: bool = False, mode_mask: int = 0o7777) -> None:
    """Replace ``path`` by ``data`` atomically: temporary file beside it, fsync, rename.

    Plain ``os`` calls, cheap enough to run per image. ``like``: the stat of the
    file being replaced (or of an original), whose permission bits (masked by
    ``mode_mask``) and, with ``keep_mtime``, times the new file takes.
    """
    folder, name = os.path.split(os.fspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}-{threading.get_ident()}.mdi-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if like is not None:
                os.fchmod(fd, like.st_mode & mode_mask)
            os.fsync(fd)
        finally:
            os.close(fd)
        if like is not None and keep_mtime:
            os.utime(tmp, ns=(like.st_atime_ns, like.st_mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
