"""``mdi xmp read``: the tags of every image under a folder, embedded or sidecar."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Iterator, Optional

from megadetector_integrations.errors import MdiError

from .files import JPEG_SUFFIXES
from .jpeg import JpegError, find_xmp
from .tags import path_tags
from .xmp import Packet, XmpError

COLUMNS = ("file", "source", "tag")
_HEAD = 256 * 1024  # enough for the segments before the image data of nearly every JPEG


def read_tags(folder, roots: tuple[str, ...] = (), problems: Optional[list[str]] = None) -> list[dict]:
    """One row ``{"file", "source", "tag"}`` per tag; ``file`` relative to ``folder``.

    Tags are read as digiKam imports them (TagsList, else hierarchicalSubject,
    else dc:subject) and given ``|``-separated. Unreadable files are listed
    in ``problems`` when a list is passed.
    """
    root = Path(folder)
    if not root.is_dir():
        raise MdiError(f"{root}: no such folder")
    rows = []
    for path, image, source in _tagged_files(root):
        try:
            packet = _read_packet(path, source)
        except (OSError, JpegError, XmpError) as exc:
            if problems is not None:
                problems.append(f"{path.relative_to(root)}: {exc}")
            continue
        if packet is None:
            continue
        file = image.relative_to(root).as_posix()
        rows += [{"file": file, "source": source, "tag": "|".join(tag)}
                 for tag in path_tags(packet) if not roots or tag[0] in roots]
    return rows


def _tagged_files(root: Path) -> Iterator[tuple[Path, Path, str]]:
    """(file to read, image it describes, "embedded" or "sidecar"), skipping hidden folders like .dtrash."""
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        here = Path(folder)
        by_stem = {os.path.splitext(n)[0]: n for n in names if not n.lower().endswith(".xmp")}
        for name in sorted(names):
            lower = name.lower()
            if lower.endswith(".xmp"):
                base = name[:-4]
                image = base if base in names else by_stem.get(base, base)
                yield here / name, here / image, "sidecar"
            elif lower.endswith(JPEG_SUFFIXES):
                yield here / name, here / name, "embedded"


def _read_packet(path: Path, source: str) -> Optional[Packet]:
    if source == "sidecar":
        return Packet.parse(path.read_bytes())
    with open(path, "rb") as fh:
        data = fh.read(_HEAD)
        try:
            place = find_xmp(data)
        except JpegError:
            if len(data) < _HEAD:
                raise
            place = find_xmp(data + fh.read())  # very long headers: read it all
    return None if place.packet is None else Packet.parse(place.packet)


def run_read(folder: str, csv_out: Optional[str], roots: tuple[str, ...]) -> int:
    problems: list[str] = []
    rows = read_tags(folder, roots, problems)
    for problem in problems:
        print(f"mdi xmp read: skipped {problem}", file=sys.stderr)
    if csv_out:
        with open(csv_out, "w", newline="", encoding="utf-8") as fh:
            _write_csv(fh, rows)
        print(f"wrote {csv_out}: {len(rows):,} tags of {len({r['file'] for r in rows}):,} images")
    else:
        _write_csv(sys.stdout, rows, delimiter="\t")
    return 0


def _write_csv(fh, rows: list[dict], delimiter: str = ",") -> None:
    writer = csv.DictWriter(fh, COLUMNS, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
