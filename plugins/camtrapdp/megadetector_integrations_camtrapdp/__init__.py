"""Camtrap DP exporter: MegaDetector results as a Camera Trap Data Package (TDWG, 1.0.2).

    mdi export camtrapdp md_results.json --images /data/traps -o /data/package \\
        --contributor "Ann Smith <ann@example.org>" --timezone Europe/Brussels \\
        --locations cameras.csv

This module holds only the options and the hooks; the work is in ``export``
(the run), ``tables`` (rows), ``timestamps`` (EXIF/MP4) and ``validation``
(offline checks against the bundled schemas).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import attrs

from megadetector_integrations import hookimpl

SAMPLING_DESIGNS = ("simpleRandom", "systematicRandom", "clusteredRandom", "experimental", "targeted", "opportunistic")


def _unit(instance, attribute, value) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError(f"--{attribute.name.replace('_', '-')} must be between 0 and 1, got {value}")


def _positive(instance, attribute, value) -> None:
    if value is not None and value < (1 if attribute.name == "deployment_level" else 0):
        raise ValueError(f"--{attribute.name.replace('_', '-')} must be positive, got {value}")


@attrs.frozen
class CamtrapDpOptions:
    images: Path = attrs.field(metadata={"help": "folder the results' image paths are relative to (EXIF dates are read there)"})
    out: Path = attrs.field(metadata={"help": "folder for datapackage.json and the three CSV files (created if missing)",
                                      "aliases": ("-o",)})
    contributors: tuple[str, ...] = attrs.field(default=(), converter=tuple, metadata={
        "help": "'Name <email>' of a contributor, repeatable; the first is the contact (required, here or in --metadata)",
        "flag": "--contributor", "metavar": "NAME"})
    timezone: str = attrs.field(default="UTC", metadata={
        "help": "zone of the camera clocks: an offset (+02:00) or a name (Europe/Brussels); "
                "a camera's own EXIF OffsetTimeOriginal wins; write --timezone=-05:00 for negative offsets"})
    deployment_level: Optional[int] = attrs.field(default=None, validator=_positive, metadata={
        "help": "deployments are the first N folders of each path (default: the folder holding each file)",
        "metavar": "N"})
    sequence_gap: float = attrs.field(default=60.0, validator=_positive, metadata={
        "help": "a new event starts after more than this many seconds without media, per deployment",
        "metavar": "SECONDS"})
    threshold: Optional[float] = attrs.field(default=None, validator=_unit, metadata={
        "help": "minimum detection confidence for an observation (default: the detector's typical threshold)"})
    classification_threshold: Optional[float] = attrs.field(default=None, validator=_unit, metadata={
        "help": "minimum classification confidence for a scientificName (default: the classifier's, else 0.5)"})
    project_title: Optional[str] = attrs.field(default=None, metadata={
        "help": "project.title (default: from --metadata, else the images folder name)", "metavar": "TITLE"})
    sampling_design: Literal[SAMPLING_DESIGNS] = attrs.field(default="opportunistic", metadata={
        "help": "project.samplingDesign"})
    capture_method: Literal["activityDetection", "timeLapse"] = attrs.field(default="activityDetection", metadata={
        "help": "how the cameras were triggered (media.captureMethod, project.captureMethod)"})
    locations: Optional[Path] = attrs.field(default=None, metadata={
        "help": "CSV with a deploymentID column and any deployments.csv columns (latitude, longitude, "
                "locationName, ...); coordinates are required by Camtrap DP", "metavar": "CSV"})
    metadata: Optional[Path] = attrs.field(default=None, metadata={
        "help": "JSON object merged into datapackage.json (title, description, contributors, licenses, "
                "project {...}, bibliographicCitation, ...)", "metavar": "JSON"})
    media_base: str = attrs.field(default="", metadata={
        "help": "prefix for media.filePath, e.g. https://example.org/traps/ (default: the results paths)",
        "metavar": "PREFIX"})
    file_public: bool = attrs.field(default=False, metadata={"help": "media.filePublic: the files are publicly reachable"})
    undated: Literal["skip", "mtime"] = attrs.field(default="skip", metadata={
        "help": "media without an EXIF date: leave out (reported) or date them by file modification time "
                "(flagged in media comments and deployments.timestampIssues)"})
    validate: bool = attrs.field(default=False, metadata={
        "help": "check the written package against the bundled Camtrap DP schemas (offline; slow on big packages)"})
    overwrite: bool = attrs.field(default=False, metadata={"help": "replace an existing package in OUT"})
    dry_run: bool = attrs.field(default=False, metadata={"help": "read everything and report; write nothing"})


def run(results, options: CamtrapDpOptions):
    from .export import export

    return export(results, options)


def demo(images_root, out_dir) -> CamtrapDpOptions:
    """The bundled sample: two sites with two cameras each, placed near Ghent."""
    from .export import write_demo_locations

    out_dir = Path(out_dir)
    locations = write_demo_locations(out_dir.parent / "locations.csv")
    return CamtrapDpOptions(
        images=Path(images_root), out=out_dir, contributors=("MDI Demo <demo@example.org>",),
        timezone="Europe/Brussels", deployment_level=2, sequence_gap=30, locations=locations,
        project_title="megadetector-integrations sample", validate=True,
    )


HELP = """Camera Trap Data Package (TDWG Camtrap DP 1.0.2): deployments.csv (one per camera
folder), media.csv (EXIF timestamps), observations.csv (one machine observation per box,
blank media, failures), events grouped by time gap, and datapackage.json.

examples:
  mdi export camtrapdp md_results.json --images /data/traps -o /data/package \\
      --contributor "Ann Smith <ann@example.org>" --timezone Europe/Brussels
  mdi export camtrapdp md_results.json --images /data/traps -o pkg --deployment-level 2 \\
      --sequence-gap 120 --locations cameras.csv --metadata project.json --validate
  mdi camtrapdp-validate /data/package     # offline check of any Camtrap DP 1.0.x package"""


@hookimpl
def mdi_register_exporters():
    from megadetector_integrations.registry import Exporter

    return [Exporter("camtrapdp", CamtrapDpOptions, run, help=HELP, aliases=("camtrap-dp",), demo=demo)]


@hookimpl
def mdi_register_commands(subparsers):
    p = subparsers.add_parser(
        "camtrapdp-validate", help="check a Camtrap DP package offline against the bundled 1.0.2 schemas",
        description="Validate datapackage.json against the Camtrap DP profile and each CSV against its\n"
        "table schema (types, required fields, enums, keys), without network access.\n"
        "Exit 0 when valid, 1 otherwise.\n\nexample:\n  mdi camtrapdp-validate /data/package",
    )
    p.add_argument("package", metavar="DIR", help="folder holding datapackage.json (or the file itself)")
    p.set_defaults(run=_run_validate)


def _run_validate(args) -> int:
    from .validation import validate_package

    problems = validate_package(Path(args.package))
    for problem in problems:
        print(problem)
    print(f"{args.package}: " + (f"INVALID ({len(problems)} problem(s))" if problems else "valid Camtrap DP"))
    return 1 if problems else 0
