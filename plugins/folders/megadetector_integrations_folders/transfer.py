"""Putting one file in place: copy, clone (reflink), hard link, symbolic link, move.

Every new file appears complete or not at all: copies go to a hidden
``.<name>.mdi-part`` file beside the destination and are renamed into place;
links are atomic by nature. Copies keep the original's modification time and
permission bits, so a re-run can tell a finished copy from its source by size
and time. Nothing here overwrites: callers check first (see ``plan.survey``).
"""

from __future__ import annotations

import errno
import os
import stat

PART_SUFFIX = ".mdi-part"
FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
#: errno values meaning "this kernel/filesystem cannot do that", not "the file is bad".
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTTY,
                errno.EPERM, errno.EBADF}


def part_path(dst: str) -> str:
    """The temporary name a copy is written under before it is renamed to ``dst``."""
    folder, _, name = dst.rpartition("/")
    return f"{folder}/.{name}{PART_SUFFIX}"


def _create(path: str, mode: int) -> int:
    try:
        return os.open(path, _CREATE, mode)
    except FileExistsError:  # left by an interrupted run: ours by its name
        os.unlink(path)
        return os.open(path, _CREATE, mode)


class _Kernel:
    """Which fast copy calls work here; each is dropped after it first fails."""

    copy_file_range = hasattr(os, "copy_file_range")
    sendfile = hasattr(os, "sendfile")


def _copy_bytes(fin: int, fout: int, size: int) -> None:
    """Copy ``size`` bytes in the kernel where possible (no trip through Python)."""
    done = 0
    if _Kernel.copy_file_range:
        try:
            while done < size:
                n = os.copy_file_range(fin, fout, size - done)
                if n == 0:
                    return
                done += n
            return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED or done:
                raise
            _Kernel.copy_file_range = False
    if _Kernel.sendfile:
        try:
            while done < size:
                n = os.sendfile(fout, fin, done, size - done)
                if n == 0:
                    return
                done += n
            return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED or done:
                raise
            _Kernel.sendfile = False
    while chunk := os.read(fin, 1 << 20):
        os.write(fout, chunk)


def _clone(fin: int, fout: int) -> bool:
    """Share the source's blocks (copy-on-write); False where the filesystem cannot."""
    import fcntl

    try:
        fcntl.ioctl(fout, FICLONE, fin)
        return True
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise


def copy_file(src: str, dst: str, clone: bool = False) -> bool:
    """Copy ``src`` to ``dst`` atomically, keeping mtime and permission bits.

    With ``clone``, try a reflink first. Returns whether the copy is a clone.
    """
    tmp = part_path(dst)
    fin = os.open(src, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fin)
        fout = _create(tmp, st.st_mode & 0o777)
        try:
            cloned = clone and _clone(fin, fout)
            if not cloned:
                _copy_bytes(fin, fout, st.st_size)
            os.utime(fout, ns=(st.st_atime_ns, st.st_mtime_ns))
        except BaseException:
            os.close(fout)
            os.unlink(tmp)
            raise
        os.close(fout)
    finally:
        os.close(fin)
    os.rename(tmp, dst)
    return cloned


def move_file(src: str, dst: str) -> None:
    """Rename; across filesystems, copy (atomically) and then remove the source."""
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_file(src, dst)
        os.unlink(src)


def same_content(src: str, dst: str, mode: str) -> bool:
    """Whether ``dst`` already holds what ``mode`` would put there from ``src``.

    Symlink mode: a link to ``src``. Otherwise the same file (a hard link), or
    equal size and modification time, or equal bytes.
    """
    if mode == "symlink":
        return os.path.islink(dst) and os.path.realpath(dst) == os.path.realpath(src)
    s, d = os.stat(src), os.lstat(dst)
    if (s.st_dev, s.st_ino) == (d.st_dev, d.st_ino):
        return True
    if not stat.S_ISREG(d.st_mode) or s.st_size != d.st_size:
        return False
    return s.st_mtime_ns == d.st_mtime_ns or _equal_bytes(src, dst)


def _equal_bytes(a: str, b: str) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True
