"""Putting one file in place: copy, clone (reflink), hard link, symbolic link, move.

Nothing here overwrites: new names are taken only by operations that refuse an existing one (links,
and checked renames after ``plan.survey`` found the name free), so the kernel itself
refuses to replace a file that appeared meanwhile.

A copy is written under a temporary name beside its destination
(``part_path``) and given its real name only when complete, so no one ever
sees half a file under a real name; a killed run leaves at most a temporary
file, which the next run overwrites (or removes, when the copy had been
published just before the kill) and undo removes. (Copies made by older
versions straight to their destination are still recognized by
``is_partial_copy``.)
"""

from __future__ import annotations

import errno
import os
import stat

PART_SUFFIX = ".mdi-part"
FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
_OVERWRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
#: errno values meaning "this kernel/filesystem cannot do that", not "the file is bad".
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTTY,
                errno.EPERM, errno.EBADF}


def part_path(dst: str) -> str:
    """The temporary name a rendered copy is written under before it is renamed to ``dst``."""
    folder, _, name = dst.rpartition("/")
    return f"{folder}/.{name}{PART_SUFFIX}"


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
    """Copy ``src`` to a new file ``dst``, keeping mtime (set last) and permission bits.

    With ``clone``, try a reflink first. Returns whether the copy is a clone.
    A failed copy is removed.
    """
    tmp = part_path(dst)
    fin = os.open(src, _READ)
    try:
        st = os.fstat(fin)
        fout = os.open(tmp, _OVERWRITE, st.st_mode & 0o777)  # a leftover of a killed run is ours
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
    publish(tmp, dst)
    return cloned


def publish(tmp: str, dst: str) -> None:
    """Give a finished file its real name, never replacing a file that appeared
    meanwhile: a hard link refuses an existing name; where links are not
    supported (FAT, exFAT cards), a checked rename."""
    try:
        os.link(tmp, dst)
    except OSError as exc:
        if exc.errno == errno.EEXIST or exc.errno not in _UNSUPPORTED | {errno.EMLINK}:
            os.unlink(tmp)
            raise
        if os.path.lexists(dst):
            os.unlink(tmp)
            raise FileExistsError(errno.EEXIST, "destination appeared meanwhile", dst) from None
        os.rename(tmp, dst)
        return
    os.unlink(tmp)


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


def is_partial_copy(src: str, dst: str) -> bool:
    """Whether ``dst`` is what a killed copy of ``src`` leaves: a strict prefix of it,
    without the original's modification time."""
    s, d = os.stat(src), os.lstat(dst)
    return (stat.S_ISREG(d.st_mode) and d.st_size < s.st_size and d.st_mtime_ns != s.st_mtime_ns
            and _equal_bytes(src, dst, d.st_size))


def _equal_bytes(a: str, b: str, limit: int | None = None) -> bool:
    """Whether the files are equal (only their first ``limit`` bytes, when given)."""
    left = limit
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            n = 1 << 20 if left is None else min(1 << 20, left)
            x, y = fa.read(n), fb.read(n)
            if x != y:
                return False
            if not x:
                return True
            if left is not None:
                left -= len(x)
