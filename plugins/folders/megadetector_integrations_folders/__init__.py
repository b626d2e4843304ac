"""Sort camera-trap images into folders by what MegaDetector found in them.

``mdi export folders`` (the exporter) and ``mdi folders undo`` (a command).
Only the options class is imported when ``mdi`` starts; the work lives in
``sorter`` (the run), ``plan`` (one pass deciding everything), ``assign``
(the folder rules), ``placing`` (journaled batches, threads or two processes),
``transfer`` (file operations), ``render`` (Pillow) and ``undo``.
"""

from __future__ import annotations

from megadetector_integrations import hookimpl

from .options import FoldersOptions

HELP = """\
Sort images into folders by what MegaDetector found: animals/, people/,
vehicles/, empty/, processing_failure/, and sorted '_'-joined combinations
(animal_person/, ...), keeping each image's relative path underneath. With
--species, animals/ splits into animals/<species>/, animals/multiple/ and
animals/unclassified/. A category counts when its best box is >= its threshold.

Originals are never modified (except moved with --mode move). A journal in
the output folder records every file and folder created: re-run the same
command to resume an interrupted run; `mdi folders undo OUTPUT_ROOT` reverses it.
An existing different file is never overwritten (it is reported).

examples:
  mdi export folders md.json --images /data/traps --out /data/sorted --dry-run
  mdi export folders md.json --images /data/traps --out /data/sorted --mode hardlink
  mdi export folders md.json --images /data/traps --out /data/sorted \\
      --animal-threshold 0.3 --species "white-tailed deer=0.6" --species coyote=0.6
  mdi export folders md.json --images /data/traps --out /data/review --render-boxes --blur-people
  mdi folders undo /data/sorted"""


def _run(results, options):
    from .sorter import sort_images

    return sort_images(results, options)


def _demo(images_root, out_dir) -> FoldersOptions:
    return FoldersOptions(images=images_root, out=out_dir, species={"white-tailed deer": 0.5})


@hookimpl
def mdi_register_exporters():
    from megadetector_integrations.registry import Exporter

    return [Exporter("folders", FoldersOptions, _run, help=HELP, demo=_demo)]


@hookimpl
def mdi_register_commands(subparsers):
    import argparse

    parser = subparsers.add_parser(
        "folders", help="undo a folder-sorting run (mdi folders undo OUTPUT_ROOT)",
        description="Commands for the folder sorter. Sorting itself is `mdi export folders`\n"
                    "(see `mdi export folders --help`).",
        epilog="examples:\n  mdi folders undo /data/sorted\n"
               "  mdi folders undo /data/sorted/mdi-folders-journal.jsonl --dry-run",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    undo = commands.add_parser(
        "undo", help="reverse every run recorded in a sorting journal",
        description="Reverse the runs recorded in a journal, newest first: moved files go back,\n"
                    "created files and folders are removed (a file changed since is kept and\n"
                    "reported). Safe to repeat.",
        epilog="example:\n  mdi folders undo /data/sorted",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    undo.add_argument("journal", metavar="JOURNAL",
                      help="the output folder of the run, or its mdi-folders-journal.jsonl")
    undo.add_argument("--dry-run", action="store_true", help="print what would be undone; change nothing")
    undo.set_defaults(run=_run_undo)
    parser.set_defaults(run=lambda args: parser.print_help() or 2)


def _run_undo(args) -> int:
    from .undo import undo

    report = undo(args.journal, dry_run=args.dry_run)
    print(report.format())
    return 1 if report.problems else 0
