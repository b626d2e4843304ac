"""Tagging one file (embedded or sidecar) and many files in parallel workers.

``tag_file`` is self-contained (plain tuples in, plain tuples out), so it can
run in worker processes. Every write goes through a temporary file, fsync and
a rename; permissions are always kept, the modification time by default.
"""

from __future__ import annotations

import collections
import errno
import functools
import os
import stat
from typing import Iterable, Iterator, NamedTuple, Optional

from megadetector_integrations.atomic import atomic_write_bytes

from .jpeg import MAX_PACKET, JpegError, find_xmp, xmp_segment
from .tags import Tag, apply_tags
from .xmp import Packet, XmpError

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


class Job(NamedTuple):
    """One image to tag. ``tags`` empty with ``remove``: strip our tags."""

    file: str  # as in the results file (for messages and the journal)
    image: str  # path under the image root (its folders already checked to stay inside)
    real_root: str  # the root's real path with a final separator: a symlinked image must stay in it
    tags: tuple[Tag, ...]
    roots: tuple[str, ...]
    sidecar: bool
    sidecar_suffix_only: bool  # IMG_0001.xmp instead of IMG_0001.JPG.xmp
    keep_mtime: bool
    dry_run: bool


class Outcome(NamedTuple):
    """What happened to one image. ``status``: written, unchanged, removed or skipped."""

    file: str
    status: str
    target: str = ""
    detail: str = ""
    old_packet: Optional[str] = None


def sidecar_path(image: str, suffix_only: bool) -> str:
    """digiKam's ``IMG_0001.JPG.xmp``, or ``IMG_0001.xmp`` when asked."""
    return (os.path.splitext(image)[0] if suffix_only else image) + ".xmp"


class UnsafePathError(ValueError):
    """An image that is a symlink to a file outside the image root."""


def tag_file(job: Job) -> Outcome:
    """Tag (or untag) one image; never raises for a bad file, reports it instead."""
    try:
        if job.sidecar:
            mode = os.lstat(job.image).st_mode
            if stat.S_ISLNK(mode):
                _resolve(job)
            elif not stat.S_ISREG(mode):
                raise FileNotFoundError(job.image)
            return _tag_sidecar(job)
        if not job.image.lower().endswith(JPEG_SUFFIXES):
            return Outcome(job.file, "skipped", job.image,
                           "not a JPEG: embedded XMP is written only into JPEGs (use --sidecar)")
        return _tag_embedded(job)
    except (FileNotFoundError, IsADirectoryError):
        return Outcome(job.file, "skipped", job.image, "image not found")
    except (JpegError, XmpError, UnsafePathError) as exc:
        return Outcome(job.file, "skipped", job.image, f"{exc}; left unchanged")
    except OSError as exc:
        return Outcome(job.file, "skipped", job.image, f"cannot read or write: {exc.strerror or exc}")


@functools.lru_cache(maxsize=2048)
def updated_packet(old: Optional[bytes], tags: tuple[Tag, ...], roots: tuple[str, ...]) -> Optional[bytes]:
    """The packet with our tags replaced by ``tags``; ``None`` when nothing is left in it.

    Cached: most images of a run start alike (no XMP, or the XMP of the last
    run) and share a tag set, so most packets are built once per run.
    """
    packet = Packet.parse(old) if old is not None else Packet.new()
    apply_tags(packet, tags, roots)
    if packet.is_empty():
        return None
    return packet.to_bytes()


def _status(job: Job, old: Optional[bytes], new: Optional[bytes]) -> str:
    if old == new:
        return "unchanged"
    return "removed" if not job.tags else "written"


def _resolve(job: Job) -> Job:
    """The job on the file a symlinked image points to, refused when that is outside the root."""
    real = os.path.realpath(job.image)
    if not real.startswith(job.real_root):
        raise UnsafePathError(f"unsafe path {job.file!r}: a symlink to {real}, outside the image folder")
    return job._replace(image=real)


def _tag_embedded(job: Job) -> Outcome:
    try:  # not following a symlink costs nothing; a symlink (rare) is checked, then its file tagged
        data, info = _read(job.image, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        job = _resolve(job)
        data, info = _read(job.image)
    place = find_xmp(data)
    new = updated_packet(place.packet, job.tags, job.roots)
    status = _status(job, place.packet, new)
    if new is not None and len(new) > MAX_PACKET:
        outcome = _tag_sidecar(job)
        return outcome._replace(detail=f"XMP too big for a JPEG segment ({len(new):,} bytes); wrote a sidecar instead")
    if status != "unchanged" and not job.dry_run:
        segment = xmp_segment(new) if new is not None else b""
        atomic_write_bytes(job.image, b"".join((data[:place.start], segment, data[place.end:])), info, job.keep_mtime)
    return Outcome(job.file, status, job.image, "", _text(place.packet))


def _tag_sidecar(job: Job) -> Outcome:
    target = sidecar_path(job.image, job.sidecar_suffix_only)
    try:
        old, info = _read(target)
    except FileNotFoundError:
        old, info = None, None
    new = updated_packet(old, job.tags, job.roots)
    status = _status(job, old, new)
    if status != "unchanged" and not job.dry_run:
        if new is None:
            os.unlink(target)  # held only our tags: remove it, as if never written
        elif info is None:  # a new sidecar: the image's permissions, the current time
            atomic_write_bytes(target, new, os.stat(job.image), keep_mtime=False, mode_mask=0o666)
        else:
            atomic_write_bytes(target, new, info, job.keep_mtime)
    return Outcome(job.file, status, target, "", _text(old))


def _read(path: str, flags: int = os.O_RDONLY) -> tuple[bytes, os.stat_result]:
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        data = os.read(fd, info.st_size + 1)  # one read for a whole regular file
        if len(data) == info.st_size:
            return data, info
        chunks = [data]
        while chunks[-1]:  # short read or a growing file: read to the end
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks), info
    finally:
        os.close(fd)


def _text(packet: Optional[bytes]) -> Optional[str]:
    return None if packet is None else packet.decode("utf-8", "replace")


def run_jobs(jobs: Iterable[Job], workers: int, use_threads: bool) -> Iterator[tuple[Job, Outcome]]:
    """``(job, outcome)`` in order. With several workers, batches of jobs go to
    processes (or threads) as soon as they are made, so workers start at once."""
    if workers <= 1:
        for job in jobs:
            yield job, tag_file(job)
        return
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    pool_class = ThreadPoolExecutor if use_threads else ProcessPoolExecutor
    with pool_class(max_workers=workers) as pool:
        pending: collections.deque = collections.deque()
        for batch in _batches(jobs, BATCH):
            pending.append((batch, pool.submit(tag_batch, batch)))
            while pending and pending[0][1].done():
                batch, future = pending.popleft()
                yield from zip(batch, future.result())
        for batch, future in pending:
            yield from zip(batch, future.result())


BATCH = 200


def tag_batch(jobs: list[Job]) -> list[Outcome]:
    return [tag_file(job) for job in jobs]


def _batches(jobs: Iterable[Job], size: int) -> Iterator[list[Job]]:
    batch: list[Job] = []
    for job in jobs:
        batch.append(job)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
