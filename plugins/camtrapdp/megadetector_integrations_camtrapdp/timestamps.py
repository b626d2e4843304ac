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
from typing import Iterable, NamedTuple, Optional

from megadetector_integrations.errors import MdiError

#: Files per task handed to a worker process; below this everything stays in-process.
CHUNK = 2000
#: Bytes read at once for EXIF: the APP1 segment is at most 64 KB and comes first.
HEAD = 128 * 1024

_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")
#: "2024:05:01 06:00:00" as cameras write it, or "2024-05-01 06:00:00" as exifread's builtin types give it.
_TAKEN = re.compile(r"^\s*(\d{4})[:-](\d\d)[:-](\d\d)[ T](\d\d):(\d\d):(\d\d)")
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
    m = _TAKEN.match(stamp.taken)
    try:
        local = datetime(*map(int, m.groups()))  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        return None  # "0000:00:00 00:00:00" and other camera placeholders
    m = _OFFSET.match(stamp.offset or "")
    if m:
        sign, hours, minutes = m.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return local.replace(tzinfo=timezone(-delta if sign == "-" else delta))
    return local.replace(tzinfo=zone)


def read_exif(path: str) -> Stamp:
    """DateTimeOriginal (and offset, camera) from a JPEG/TIFF/HEIC; empty when absent."""
    import io

    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD)  # one read: exifread's many small seeks are cheaper in memory
            tags = _exif_tags(io.BytesIO(head))
            if "EXIF DateTimeOriginal" not in tags and len(head) == HEAD:
                fh.seek(0)
                tags = _exif_tags(fh)  # EXIF beyond the head (rare): read the file itself
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


def _exif_tags(fh) -> dict:
    import exifread

    return exifread.process_file(fh, stop_tag="OffsetTimeOriginal", details=False, extract_thumbnail=False,
                                 builtin_types=True)


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
        # 0 is the "not set" value many cameras write
        return Stamp(utc=_MP4_EPOCH + timedelta(seconds=seconds)) if seconds else Stamp()
    except (OSError, struct.error, IndexError, OverflowError):
        return Stamp()


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


def available_cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere all cores count
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def read_stamps(paths: list[str], workers: Optional[int] = None) -> Iterable[list[Stamp]]:
    """Stamps for ``paths`` in order, yielded chunk by chunk (for progress bars).

    Uses a process pool (fork) when there is more than one chunk: exifread is
    pure Python, so threads would not help.
    """
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    workers = workers or min(available_cores(), 8)
    if len(chunks) <= 1 or workers <= 1:
        yield from map(_read_chunk, chunks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        yield from pool.map(_read_chunk, chunks)

