"""Tagging one file (embedded or sidecar) and many files in parallel workers.

``tag_file`` is self-contained (plain tuples in, plain tuples out), so it can
run in worker processes. Every write goes through a temporary file and a
rename; permissions are always kept, the modification time by default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Optional

from megadetector_integrations.atomic import atomic_write_bytes

from .jpeg import MAX_PACKET, JpegError, find_xmp, xmp_segment
from .tags import Tag, apply_tags
from .xmp import Packet, XmpError

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


class Job(NamedTuple):
    """One image to tag. ``tags`` empty with ``remove``: strip our tags."""

    file: str  # as in the results file (for messages and the journal)
    image: str  # absolute path
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


def tag_file(job: Job) -> Outcome:
    """Tag (or untag) one image; never raises for a bad file, reports it instead."""
    try:
        if not os.path.isfile(job.image):
            return Outcome(job.file, "skipped", job.image, "image not found")
        if job.sidecar:
            return _tag_sidecar(job)
        if not job.image.lower().endswith(JPEG_SUFFIXES):
            return Outcome(job.file, "skipped", job.image,
                           "not a JPEG: embedded XMP is written only into JPEGs (use --sidecar)")
        return _tag_embedded(job)
    except (JpegError, XmpError) as exc:
        return Outcome(job.file, "skipped", job.image, f"{exc}; left unchanged")
    except OSError as exc:
        return Outcome(job.file, "skipped", job.image, f"cannot read or write: {exc.strerror or exc}")


def _new_packet(old: Optional[bytes], job: Job) -> Optional[bytes]:
    """The packet after applying the job; ``None`` when nothing at all is left in it."""
    packet = Packet.parse(old) if old is not None else Packet.new()
    apply_tags(packet, job.tags, job.roots)
    if packet.is_empty():
        return None
    return packet.to_bytes()


def _status(job: Job, old: Optional[bytes], new: Optional[bytes]) -> str:
    if old == new:
        return "unchanged"
    return "removed" if not job.tags else "written"


def _tag_embedded(job: Job) -> Outcome:
    with open(job.image, "rb") as fh:
        data = fh.read()
    place = find_xmp(data)
    new = _new_packet(place.packet, job)
    status = _status(job, place.packet, new)
    old_text = _text(place.packet)
    if new is not None and len(new) > MAX_PACKET:
        outcome = _tag_sidecar(job)
        return outcome._replace(detail=f"XMP too big for a JPEG segment ({len(new):,} bytes); wrote a sidecar instead")
    if status != "unchanged" and not job.dry_run:
        segment = xmp_segment(new) if new is not None else b""
        _replace_file(job, job.image, b"".join((data[:place.start], segment, data[place.end:])))
    return Outcome(job.file, status, job.image, "", old_text)


def _tag_sidecar(job: Job) -> Outcome:
    target = sidecar_path(job.image, job.sidecar_suffix_only)
    try:
        with open(target, "rb") as fh:
            old: Optional[bytes] = fh.read()
    except FileNotFoundError:
        old = None
    new = _new_packet(old, job)
    status = _status(job, old, new)
    if status != "unchanged" and not job.dry_run:
        if new is None:
            os.unlink(target)  # held only our tags: remove it, as if never written
        else:
            _replace_file(job, target, new)
    return Outcome(job.file, status, target, "", _text(old))


def _replace_file(job: Job, path: str, data: bytes) -> None:
    """Atomic rewrite keeping permissions (a new sidecar takes the image's) and, if asked, mtime."""
    exists = os.path.exists(path)
    atomic_write_bytes(path, data, keep_stat_of=Path(path) if exists else None)
    if not exists:
        os.chmod(path, os.stat(job.image).st_mode & 0o666)
    elif not job.keep_mtime:
        os.utime(path)


def _text(packet: Optional[bytes]) -> Optional[str]:
    return None if packet is None else packet.decode("utf-8", "replace")


def run_jobs(jobs: list[Job], workers: int, use_threads: bool) -> Iterator[Outcome]:
    """Outcomes of ``jobs`` in order, from ``workers`` processes (or threads)."""
    if workers <= 1 or len(jobs) < 64:
        return map(tag_file, jobs)
    return _pooled(jobs, workers, use_threads)


def _pooled(jobs: list[Job], workers: int, use_threads: bool) -> Iterable[Outcome]:
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    pool_class = ThreadPoolExecutor if use_threads else ProcessPoolExecutor
    chunk = max(1, min(256, len(jobs) // (workers * 8)))
    with pool_class(max_workers=workers) as pool:
        yield from pool.map(tag_file, jobs, chunksize=chunk)
