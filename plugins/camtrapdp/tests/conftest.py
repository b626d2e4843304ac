"""Real files for the Camtrap DP tests: JPEGs with EXIF dates and a minimal MP4."""

from __future__ import annotations

import json
import struct
from datetime import datetime, timezone
from pathlib import Path

import pytest

MP4_EPOCH = datetime(1904, 1, 1, tzinfo=timezone.utc)


def make_jpeg(path: Path, taken: str | None = None, offset: str | None = None, model: str = "Cam") -> Path:
    """A tiny JPEG; ``taken`` ("YYYY:MM:DD HH:MM:SS") goes into EXIF DateTimeOriginal."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif[0x010F] = "TestMake"
    exif[0x0110] = model
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if offset:
        exif.get_ifd(0x8769)[0x9011] = offset
    Image.new("RGB", (16, 12), (90, 120, 60)).save(path, "JPEG", exif=exif)
    return path


def make_mp4(path: Path, created: datetime) -> Path:
    """An MP4 skeleton (ftyp + moov/mvhd) whose header says when it was recorded."""
    seconds = int((created - MP4_EPOCH).total_seconds())
    # mvhd v0: version/flags, creation, modification, timescale, duration, rate, volume,
    # reserved, matrix (9 x 4 bytes), pre-defined (6 x 4 bytes), next track id
    body = struct.pack(">I I I I I I H 10x 36s 24s I", 0, seconds, seconds, 1000, 5000, 0x00010000, 0x0100,
                       struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000), b"\0" * 24, 2)
    mvhd = struct.pack(">I4s", 8 + len(body), b"mvhd") + body
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    ftyp = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 512, b"isom", b"mp41")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ftyp + moov)
    return path


def write_results(path: Path, images: list[dict], **top) -> Path:
    doc = {
        "info": {
            "format_version": "1.4", "detector": "md_v5a.0.0.pt",
            "detection_completion_time": "2024-06-01 12:00:00",
            "classifier": "my-classifier", "classification_completion_time": "2024-06-01 12:30:00",
            "detector_metadata": {"megadetector_version": "v5a.0.1", "typical_detection_threshold": 0.2},
            "classifier_metadata": {"typical_classification_threshold": 0.5},
        },
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "classification_categories": {"1": "red fox", "2": "badger"},
        "classification_category_descriptions": {"1": "guid-1;mammalia;carnivora;canidae;vulpes;vulpes;red fox"},
        "images": images,
    }
    doc.update(top)
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def files():
    """The helpers above, for test modules (conftest is not importable by name)."""
    import types

    return types.SimpleNamespace(jpeg=make_jpeg, mp4=make_mp4, results=write_results)
