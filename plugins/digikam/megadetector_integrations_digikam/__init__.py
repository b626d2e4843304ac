"""digiKam / Lightroom / camtrapR tags from MegaDetector results, as XMP.

    mdi export xmp md_results.json --images /data/traps            # into the JPEGs
    mdi export xmp md_results.json --images /data/traps --sidecar  # IMG_0001.JPG.xmp
    mdi export xmp md_results.json --images /data/traps --remove   # strip our tags
    mdi xmp read /data/traps --csv tags.csv                        # read them back

Each image gets ``MegaDetector|Animal`` / ``|Person`` / ``|Vehicle`` /
``|Empty`` / ``|Failure`` and ``Species|<name>`` tags, written the way
digiKam writes tags (see ``tags.py``). Submodules: ``xmp`` (packets),
``tags`` (fields and merging), ``rules`` (which tags), ``jpeg`` (the XMP
segment), ``files`` (one file, many workers), ``export`` (the exporter), ``reading``
(read back).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Mapping, Optional

import attrs

from megadetector_integrations import hookimpl

HELP = """Write MegaDetector detections and species as XMP tags that digiKam shows as a tag
tree and camtrapR and exiftool read (lr:hierarchicalSubject, digiKam:TagsList,
MicrosoftPhoto:LastKeywordXMP, dc:subject). Embedded in JPEGs (only the XMP segment
changes, nothing is re-encoded) or as sidecars. The user's own tags and other XMP are
kept; only our tags are replaced, so re-running is safe and --remove undoes it.

examples:
  mdi export xmp md_results.json --images /data/traps
  mdi export xmp md_results.json --images /data/traps --sidecar --threshold 0.3
  mdi export xmp md_results.json --images /data/traps --category-threshold person=0.5 \\
      --bands 0.5 0.8 --review 0.1 0.2 --dry-run
  mdi export xmp md_results.json --images /data/traps --remove
  mdi xmp read /data/traps --csv tags.csv"""


def _check_root(instance, attribute, value: str) -> None:
    if value and ("|" in value or "/" in value or value != value.strip()):
        raise ValueError(f"--{attribute.name.replace('_', '-')} {value!r}: a root tag name cannot contain '|' or '/'")


def _check_unit(instance, attribute, value) -> None:
    values = value.values() if isinstance(value, Mapping) else value if isinstance(value, tuple) else (value,)
    for v in values:
        if v is not None and not 0.0 <= v <= 1.0:
            raise ValueError(f"--{attribute.name.replace('_', '-')}: {v} is not a confidence between 0 and 1")


def _check_pair(instance, attribute, value: tuple) -> None:
    _check_unit(instance, attribute, value)
    if value and (len(value) != 2 or value[0] > value[1]):
        raise ValueError(f"--{attribute.name.replace('_', '-')} takes two confidences, low then high")


def _field(default, help: str, validator=None, **metadata):
    return attrs.field(default=default, validator=validator, metadata={"help": help, **metadata})


@attrs.frozen
class XmpOptions:
    images: Path = attrs.field(metadata={"help": "folder the results file's image paths are relative to"})
    sidecar: bool = _field(False, "write sidecar .xmp files instead of embedding in the JPEGs "
                                  "(for any file type; originals stay untouched)")
    sidecar_name: Literal["image.ext.xmp", "image.xmp"] = _field(
        "image.ext.xmp", "sidecar naming: IMG_0001.JPG.xmp (digiKam) or IMG_0001.xmp (Lightroom)")
    threshold: Optional[float] = _field(None, "minimum detection confidence (default: the results "
                                              "file's typical threshold)", _check_unit, metavar="CONF")
    category_threshold: Mapping[str, float] = attrs.field(
        factory=dict, validator=_check_unit,
        metadata={"help": "per-category minimum, by name or id, e.g. person=0.5 (repeatable)",
                  "metavar": "NAME=CONF"})
    classification_threshold: Optional[float] = _field(
        None, "minimum species confidence (default: the results file's, else 0.5)", _check_unit,
        metavar="CONF")
    root: str = _field("MegaDetector", "root of the detection tags", _check_root)
    species_root: str = _field("Species", "root of the species tags (camtrapR's metadataSpeciesTag); "
                                          "'' for none", _check_root)
    bands: tuple[float, ...] = _field((), "two confidences LOW HIGH: also tag the band of each "
                                          "category's best detection, e.g. MegaDetector|Animal|high",
                                      _check_pair, metavar="CONF")
    review: tuple[float, ...] = _field((), "two confidences LOW HIGH: tag MegaDetector|Review when a "
                                           "detection is in [LOW, HIGH) (instead of renaming files)",
                                       _check_pair, metavar="CONF")
    remove: bool = _field(False, "remove the tags we added (under --root, and recorded species tags)")
    dry_run: bool = _field(False, "report what would change; change nothing")
    keep_mtime: bool = _field(True, "keep each rewritten file's modification time")
    workers: int = _field(0, "parallel workers (0: one per CPU core; 1: none)")
    threads: bool = _field(False, "use threads instead of processes for the workers")
    journal: Optional[Path] = _field(None, "journal of this run (default: IMAGES/.megadetector-integrations/"
                                           "xmp-TIME.jsonl)")


def _demo(images_root: Path, out_dir: Path) -> XmpOptions:
    return XmpOptions(images=Path(images_root), review=(0.1, 0.2), journal=Path(out_dir) / "xmp-journal.jsonl")


def _run(results, options: XmpOptions):
    from .export import export_xmp

    return export_xmp(results, options)


@hookimpl
def mdi_register_exporters():
    from megadetector_integrations.registry import Exporter

    return [Exporter("digikam", XmpOptions, _run, help=HELP, aliases=("xmp",), demo=_demo)]


@hookimpl
def mdi_register_commands(subparsers):
    import argparse

    parser = subparsers.add_parser(
        "xmp", help="read XMP tags back (mdi xmp read FOLDER)",
        description="Work with XMP tags written by `mdi export xmp`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=lambda args: parser.print_help() or 2)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    read = commands.add_parser(
        "read", help="list the tags of every image (embedded and sidecar) as a table or CSV",
        description="List the tags of every image under FOLDER, embedded in JPEGs or in .xmp\n"
        "sidecars, as digiKam would import them (one row per image and tag), to compare\n"
        "reviewed tags with the detections.",
        epilog="examples:\n  mdi xmp read /data/traps\n  mdi xmp read /data/traps --root MegaDetector "
        "--root Species --csv tags.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    read.add_argument("folder", metavar="FOLDER")
    read.add_argument("--csv", metavar="OUT", help="write CSV here (default: a table on standard output)")
    read.add_argument("--root", action="append", metavar="ROOT",
                      help="only tags under this root (repeatable; default: all tags)")
    read.set_defaults(run=_run_read)


def _run_read(args) -> int:
    from .reading import run_read

    return run_read(args.folder, args.csv, tuple(args.root or ()))


def read_tags(folder, roots: tuple[str, ...] = ()) -> list[dict]:
    """Rows ``{"file", "source", "tag"}`` for every tag under ``folder`` (notebook API)."""
    from .reading import read_tags as _read_tags

    return _read_tags(folder, roots)
