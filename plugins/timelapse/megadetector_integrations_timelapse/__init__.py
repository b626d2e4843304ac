"""Timelapse: results files that open in Timelapse at the first try.

``mdi export timelapse RESULTS --root ROOT`` finds the path prefix change that
makes the results' paths land on the files under the Timelapse root, drops
(and reports) entries that cannot, applies Timelapse's reading rules and
writes the file inside the root. ``mdi timelapse check RESULTS --root ROOT``
lists what Timelapse would trip over. Heavy modules load only when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import attrs

from megadetector_integrations import hookimpl

#: The name Timelapse's import dialog suggests, so users find the file at once.
DEFAULT_NAME = "recognitionData.json"
#: Timelapse warns that a file of this name probably comes from AddaxAI outside Timelapse.
AVOID_NAME = "image_recognition_file.json"

EXAMPLES = """
examples:
  mdi export timelapse md_results.json --root D:/traps/project
      finds the prefix to strip/add, writes D:/traps/project/recognitionData.json
  mdi export timelapse md_results.json --root /data/project --dry-run
      only shows what matches and what would be written
  mdi export timelapse md_results.json --root /data/project --prefix-strip images_for_megadetector
  mdi export timelapse md_results.json --root /data/project --per-folder 1
      one recognitionData.json in each top folder (one Timelapse project per site)
  mdi timelapse check recognitionData.json --root /data/project
"""


def _share(_instance, attribute, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"--{attribute.name.replace('_', '-')} must be between 0 and 1, got {value}")


def _positive(_instance, attribute, value) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"--{attribute.name.replace('_', '-')} must be greater than 0, got {value}")


@attrs.frozen
class TimelapseOptions:
    root: Path = attrs.field(metadata={
        "help": "the Timelapse root folder: where the .tdb template is (or will be)"})
    out: Optional[Path] = attrs.field(default=None, metadata={
        "help": f"file to write (default: ROOT/{DEFAULT_NAME}); with --per-folder, the file name "
                "written in each folder", "aliases": ("-o",), "metavar": "OUT"})
    prefix_strip: Optional[str] = attrs.field(default=None, metadata={
        "help": "leading folders to remove from every path (turns off automatic detection)",
        "metavar": "PREFIX"})
    prefix_add: Optional[str] = attrs.field(default=None, metadata={
        "help": "folders to put in front of every path (turns off automatic detection)",
        "metavar": "PREFIX"})
    min_match_share: float = attrs.field(default=0.9, validator=_share, metadata={
        "help": "refuse to write when a smaller share of entries match files under ROOT",
        "metavar": "SHARE"})
    force: bool = attrs.field(default=False, metadata={
        "help": "write even when fewer entries match than --min-match-share"})
    keep_missing: bool = attrs.field(default=False, metadata={
        "help": "keep entries whose file is not under ROOT (default: drop and report them)"})
    per_folder: Optional[int] = attrs.field(default=None, validator=_positive, metadata={
        "help": "write one file into each folder LEVEL folders below ROOT, paths relative to it "
                "(one Timelapse project per site or camera)", "metavar": "LEVEL"})
    video_frame_rate: Optional[float] = attrs.field(default=None, validator=_positive, metadata={
        "help": "frame rate for videos the results give none (Timelapse drops their boxes otherwise)",
        "metavar": "FPS"})
    overwrite: bool = attrs.field(default=False, metadata={"help": "replace existing output files"})
    dry_run: bool = attrs.field(default=False, metadata={
        "help": "match and report, write nothing"})


def _demo(images_root, out_dir) -> TimelapseOptions:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return TimelapseOptions(root=Path(images_root), out=Path(out_dir) / DEFAULT_NAME)


def _run(results, options):
    from .export import export_timelapse

    return export_timelapse(results, options)


@hookimpl
def mdi_register_exporters():
    from megadetector_integrations import Exporter

    return [Exporter(
        "timelapse", TimelapseOptions, _run,
        help="Write a results file Timelapse imports at the first try: paths matched to the files "
             "under the Timelapse root (prefix found automatically), Timelapse's traps avoided.\n"
             + EXAMPLES,
        demo=_demo,
    )]


@hookimpl
def mdi_register_commands(subparsers):
    import argparse

    parser = subparsers.add_parser(
        "timelapse", help="Timelapse tools (mdi timelapse check)",
        description="Timelapse tools.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    check = commands.add_parser(
        "check", help="list what Timelapse would trip over in a results file",
        description="Report every Timelapse rule the results file breaks (timelapse.md B.3-B.11)\n"
                    "and every entry that will not resolve to a file under ROOT.\n"
                    "Exit 0 when Timelapse will read it all, 1 otherwise.",
        epilog="examples:\n  mdi timelapse check recognitionData.json --root D:/traps/project\n"
               "  mdi timelapse check md_results.json --root /data/project --all",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("results", metavar="RESULTS", help="results file (.json)")
    check.add_argument("--root", required=True, metavar="ROOT",
                       help="the Timelapse root folder (where the .tdb is)")
    check.add_argument("--all", action="store_true",
                       help="list every finding (default: the first 10 of each rule)")
    check.set_defaults(run=_run_check)
    parser.set_defaults(run=lambda _args: parser.print_help() or 2)


def _run_check(args) -> int:
    from .check import run_check

    return run_check(Path(args.results), Path(args.root), show_all=args.all)
