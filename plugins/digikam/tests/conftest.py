"""Readers the tests check our output with: exiftool, exiv2 and a plain segment scan."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from megadetector_integrations.testing import copy_sample, require_tool

FIELDS = {
    "HierarchicalSubject": "-XMP-lr:HierarchicalSubject",
    "TagsList": "-XMP-digiKam:TagsList",
    "Subject": "-XMP-dc:Subject",
    "LastKeywordXMP": "-XMP-microsoft:LastKeywordXMP",
}
_XMP_SEGMENT = re.compile(rb"\xff\xe1(..)http://ns\.adobe\.com/xap/1\.0/\x00", re.S)


def exiftool_json(*paths: Path, args: tuple[str, ...] = ()) -> list[dict]:
    tool = require_tool("exiftool")
    out = subprocess.run([tool, "-j", "-charset", "utf8", *args, *map(str, paths)],
                         capture_output=True, check=True).stdout
    return json.loads(out)


def exiftool_tags(path: Path) -> dict[str, list[str]]:
    """The four tag fields as exiftool reads them (always lists; absent: [])."""
    record = exiftool_json(path, args=tuple(FIELDS.values()))[0]
    return {name: _as_list(record.get(name)) for name in FIELDS}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def exiv2_xmp(path: Path) -> dict[str, str]:
    """``exiv2 -px``: key → printed value (lists comma-joined)."""
    tool = require_tool("exiv2")
    out = subprocess.run([tool, "-px", str(path)], capture_output=True).stdout.decode()
    values = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) >= 3:
            values[parts[0]] = parts[3] if len(parts) == 4 else ""
    return values


def without_xmp(data: bytes) -> bytes:
    """The JPEG with its XMP APP1 segment cut out (found independently of the plugin)."""
    match = _XMP_SEGMENT.search(data)
    if match is None:
        return data
    length = int.from_bytes(match.group(1), "big")
    return data[:match.start()] + data[match.start() + 2 + length:]


@pytest.fixture
def sample(tmp_path):
    """(images_root, results) of a fresh copy of the bundled sample."""
    import megadetector_integrations as mdi

    images, results_path = copy_sample(tmp_path)
    return images, mdi.load(results_path)


class Readers:
    """The helpers above, for test modules (conftest cannot be imported under importlib mode)."""

    exiftool_json = staticmethod(exiftool_json)
    exiftool_tags = staticmethod(exiftool_tags)
    exiv2_xmp = staticmethod(exiv2_xmp)
    without_xmp = staticmethod(without_xmp)


@pytest.fixture
def readers() -> type[Readers]:
    return Readers
