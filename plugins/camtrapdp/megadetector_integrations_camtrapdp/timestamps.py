"""When each media file was taken: EXIF for images, the MP4 header for videos.

Camera clocks write local time without a zone, so the user names the zone
(``--timezone``); a camera's own ``OffsetTimeOriginal`` wins when present.
Reading is the slow part of an export, so big jobs fan out over processes.
"""

from __future__ import annotations

import os
import re
import struct
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Iterable, NamedTuple, Optional

from megadetector_integrations.errors import MdiError

#: Files per task handed to a worker process; below this everything stays in-process.
CHUNK = 2000

_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")
_MP4_EPOCH = datetime(1904, 1, 1, tzinfo=timezone.utc)


class Stamp(NamedTuple):
    """What one file says about itself (all ``None`` when it says nothing)."""

    taken: Optional[str] = None  # "YYYY:MM:DD HH:MM:SS" as the camera wrote it
    offset: Optional[str] = None  # the camera's own "+HH:MM", if any
    camera: Optional[str] = None  # "Make-Model"
    utc: Optional[datetime] = None  # videos: an absolute instant from the MP4 header


def parse_timezone(text: str) -> tzinfo:
    """``UTC``/``Z``, a fixed offset (``+02:00``) or an IANA name (``Europe/Brussels``)."""
    text = text.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    m = _OFFSET.match(text)
    if m:
        sign, hours, minutes = m.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if delta >= timedelta(hours=24):
            raise MdiError(f"--timezone {text!r}: offset out of range")
        return timezone(-delta if sign == "-" else delta)
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise MdiError(
            f"--timezone {text!r}: not a known zone; use an offset like +02:00 or a name like Europe/Brussels"
        ) from None


def to_datetime(stamp: Stamp, zone: tzinfo) -> Optional[datetime]:
    """The moment a file was taken, zone-aware; ``None`` when unknown or unreadable."""
    if stamp.utc is not None:
        return stamp.utc.astimezone(zone)
    if not stamp.taken:
        return None
    try:
        local = datetime.strptime(stamp.taken.strip()[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other camera placeholders
    m = _OFFSET.match(stamp.offset or "")
    if m:
        sign, hours, minutes = m.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return local.replace(tzinfo=timezone(-delta if sign == "-" else delta))
    return local.replace(tzinfo=zone)


def read_exif(path: str) -> Stamp:
    """DateTimeOriginal (and offset, camera) from a JPEG/TIFF/HEIC; empty when absent."""
    import exifread

    try:
        with open(path, "rb") as fh:
            tags = exifread.process_file(
                fh, stop_tag="OffsetTimeOriginal", details=False, extract_thumbnail=False, builtin_types=True
            )
    except Exception:  # exifread raises many kinds on damaged files: no date, not a crash
        return Stamp()
    make = str(tags.get("Image Make", "")).strip()
    model = str(tags.get("Image Model", "")).strip()
    taken = tags.get("EXIF DateTimeOriginal")
    offset = tags.get("EXIF OffsetTimeOriginal")
    return Stamp(
        str(taken) if taken else None,
        str(offset) if offset else None,
        "-".join(p for p in (make, model) if p) or None,
    )


def read_mp4(path: str) -> Stamp:
    """The creation time in an MP4/MOV ``moov/mvhd`` box (UTC by the QuickTime spec)."""
    try:
        with open(path, "rb") as fh:
            moov = _find_box(fh, b"moov", os.fstat(fh.fileno()).st_size)
            if moov is None:
                return Stamp()
            mvhd = _find_box(fh, b"mvhd", moov)
            if mvhd is None:
                return Stamp()
            version = fh.read(4)[0]
            seconds = struct.unpack(">Q" if version == 1 else ">I", fh.read(8 if version == 1 else 4))[0]
    except (OSError, struct.error, IndexError):
        return Stamp()
    if seconds == 0:
        return Stamp()  # the "not set" value many cameras write
    return Stamp(utc=_MP4_EPOCH + timedelta(seconds=seconds))


def _find_box(fh, kind: bytes, end: int) -> Optional[int]:
    """Seek into the first ``kind`` box before ``end``; return where that box ends."""
    while fh.tell() + 8 <= end:
        start = fh.tell()
        size, found = struct.unpack(">I4s", fh.read(8))
        if size == 1:
            size = struct.unpack(">Q", fh.read(8))[0]
        elif size == 0:
            size = end - start
        if size < 8:
            return None
        if found == kind:
            return start + size
        fh.seek(start + size)
    return None


def read_stamp(path: str) -> Stamp:
    from megadetector_integrations.model import is_video

    return read_mp4(path) if is_video(path) else read_exif(path)


def _read_chunk(paths: list[str]) -> list[Stamp]:
    return [read_stamp(p) for p in paths]


def read_stamps(paths: list[str], workers: Optional[int] = None) -> Iterable[list[Stamp]]:
    """Stamps for ``paths`` in order, yielded chunk by chunk (for progress bars).

    Uses a process pool (fork) when there is more than one chunk: exifread is
    pure Python, so threads would not help.
    """
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    workers = workers or min(len(os.sched_getaffinity(0)), 8)
    if len(chunks) <= 1 or workers <= 1:
        yield from map(_read_chunk, chunks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        yield from pool.map(_read_chunk, chunks)


def absolute_paths(root: Path, files: Iterable[str]) -> list[str]:
    """Where each results path lives under ``root`` (no safety checks: see the exporter)."""
    base = str(root).rstrip("/\\")
    return [f"{base}/{f}" for f in files]
