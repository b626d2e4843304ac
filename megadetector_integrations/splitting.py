"""Split a results file into one file per folder (mdi split, mdi.split).

The folder of each image is chosen from the folders of its path, as the
Camera Trap JSON Manager's worked example does; for A/B/C/D/img.jpg:

  top             A         (n-from-top 0)
  bottom          A/B/C/D   (n-from-bottom 0, the default)
  n-from-top 1    A/B       (the first N+1 folders)
  n-from-bottom 1 A/B/C     (N folders up from the bottom)

Each file is named after its folder with / turned into _
(A/B/C → A_B_C.json) and keeps everything of the input but the
images. An image whose path has fewer than N+1 folders is an error: it would
have no folder of its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Literal, Mapping, Sequence

import attrs

from .atomic import gc_paused
from .convert import structure_options
from .errors import MdiError
from .filters import same_file
from .model import Image, ResultsFile
from .options import OptionError, non_negative
from .paths import normalize, path_problem, safe_join
from .registry import Report

Mode = Literal["top", "bottom", "n-from-top", "n-from-bottom"]


@attrs.frozen
class SplitOptions:
    mode: Mode = attrs.field(default="bottom", metadata={
        "help": "which folder each image goes to, for A/B/C/D/img.jpg: top → A, bottom → A/B/C/D, "
                "n-from-top N → the first N+1 folders (N=1: A/B), n-from-bottom N → N folders up "
                "from the bottom (N=1: A/B/C) (e.g. --mode n-from-top --param 1)"})
    param: int = attrs.field(default=0, validator=non_negative, metadata={
        "metavar": "N", "aliases": ("-n",),
        "help": "N for the n-from-top and n-from-bottom modes (e.g. --param 2)"})
    make_folder_relative: bool = attrs.field(default=False, metadata={
        "help": "write each image path relative to its split folder, with forward slashes "
                "(A/B/C/D/img.jpg in A.json becomes B/C/D/img.jpg; e.g. --make-folder-relative)"})

    def __attrs_post_init__(self) -> None:
        if self.param and not self.mode.startswith("n-from-"):
            raise OptionError(f"--param {self.param} only applies to the n-from-top and n-from-bottom modes, "
                              f"not --mode {self.mode}")


def folder_key(directory: str, options: SplitOptions, file: str) -> str:
    """The split folder of an image in ``directory`` (``''`` at the top level)."""
    problem = path_problem(file)
    if problem:
        raise MdiError(f"image {file!r}: {problem}; split needs relative paths "
                       "(strip the start first: mdi subset --query ^/data/ --replacement '')")
    folders = directory.split("/") if directory else []
    needed = options.param + 1
    if len(folders) < needed:
        n = f" {options.param}" if options.mode.startswith("n-from-") else ""
        raise MdiError(
            f"image {file!r} has {len(folders)} folder(s) in its path; --mode {options.mode}{n} needs at "
            f"least {needed}. Use a smaller --param, or leave such images out first "
            f"(mdi subset --query ...)")
    if options.mode in ("top", "n-from-top"):
        return "/".join(folders[:needed])
    return "/".join(folders[: len(folders) - options.param])


def split(results: ResultsFile | os.PathLike | str, mode: str = "bottom", param: int = 0,
          make_folder_relative: bool = False) -> dict[str, ResultsFile]:
    """One results object per folder, keyed by folder (``"A/B"``), sorted.

        parts = split(results, mode="n-from-top", param=1, make_folder_relative=True)
    """
    options = structure_options(SplitOptions, {"mode": mode, "param": param,
                                           "make_folder_relative": make_folder_relative})
    if not isinstance(results, ResultsFile):
        from .api import load

        results = load(results)
    with gc_paused():  # see filters.apply_filters
        groups = group_images(results.images, options)
    return {key: results.with_images(groups[key]) for key in sorted(groups)}


def group_images(images: Sequence[Image], options: SplitOptions) -> dict[str, list[Image]]:
    """Images by split folder, in input order; paths made relative when asked.

    Folders are worked out once per directory (there are few), so the loop
    over a million images stays cheap.
    """
    joined = "\n" + "\n".join([im.file for im in images])
    if "\\" in joined or "\n./" in joined:
        images = [Image(normalize(im.file), im.detections, im.failure, im.extra) for im in images]
    groups: dict[str, list[Image]] = {}
    group_of: dict[str, list[Image]] = {}  # directory → its group
    last = group = None
    for im in images:
        directory = im.file.rpartition("/")[0]
        if directory != last:  # images come sorted: directories change rarely
            group = group_of.get(directory)
            if group is None:
                key = folder_key(directory, options, im.file)
                group = group_of[directory] = groups.setdefault(key, [])
            last = directory
        group.append(im)
    if options.make_folder_relative:
        for key, group in groups.items():
            cut = len(key) + 1
            groups[key] = [Image(im.file[cut:], im.detections, im.failure, im.extra) for im in group]
    return groups


def file_name(folder: str) -> str:
    """``A/B/C`` → ``A_B_C.json``, as today's tools name split files."""
    return folder.replace("/", "_") + ".json"


def targets(folders: Iterable[str], out_dir: Path, into_folders: bool) -> dict[str, Path]:
    """Where each folder's file goes: ``OUT/A_B.json``, or ``OUT/A/B/A_B.json``."""
    found: dict[str, Path] = {}
    by_target: dict[Path, str] = {}
    for folder in folders:
        try:
            base = safe_join(out_dir, folder) if into_folders else out_dir
        except ValueError as exc:
            raise MdiError(f"folder {folder!r}: {exc}") from None
        target = base / file_name(folder)
        if target in by_target:
            raise MdiError(f"folders {by_target[target]!r} and {folder!r} would both be written to {target}; "
                           "rename one of them, or split with another --mode")
        by_target[target] = folder
        found[folder] = target
    return found


def _example(paths: Sequence[Path]) -> str:
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    return f"{paths[0]}{more}"


def check_targets(found: Mapping[str, Path], inputs: Iterable[Path], overwrite: bool,
                  into_folders: bool, create_folders: bool) -> None:
    """Refuse, before anything is written, every write the user did not ask for."""
    for target in found.values():
        if any(same_file(source, target) for source in inputs):  # never, even with --overwrite
            raise MdiError(f"{target} is an input file; choose another OUT_DIR")
    if into_folders and not create_folders:
        missing = sorted({t.parent for t in found.values() if not t.parent.is_dir()})
        if missing:
            raise MdiError(f"{len(missing)} folder(s) do not exist: {_example(missing)}; "
                           "add --create-folders to create them")
    if not overwrite:
        existing = [t for t in found.values() if t.exists()]
        if existing:
            raise MdiError(f"{len(existing)} output file(s) exist: {_example(existing)}; "
                           "add --overwrite to replace them")


def write_split(parts: Mapping[str, ResultsFile], out_dir: os.PathLike | str, *, into_folders: bool = False,
                create_folders: bool = False, overwrite: bool = False, dry_run: bool = False,
                indent: int | None = 1, inputs: Iterable[os.PathLike | str] = ()) -> Report:
    """Write each part to its file; check every target first, so a refusal writes nothing.

    ``into_folders`` puts each file inside its own folder under ``out_dir``
    (the paths should then be folder-relative).
    """
    from .io import write
    from .progress import progress

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise MdiError(f"{out_dir} is a file; split writes into a folder (e.g. mdi split results.json split/)")
    found = targets(parts, out_dir, into_folders)
    check_targets(found, [Path(p) for p in inputs], overwrite, into_folders, create_folders)
    counts = {str(found[k].relative_to(out_dir)): len(rf.images) for k, rf in parts.items()}
    summary = f"{len(parts):,} file(s), {sum(counts.values()):,} images into {out_dir}"
    if not dry_run:
        out_dir.mkdir(parents=True, exist_ok=True)
        for folder in progress(parts, total=len(parts), desc="writing", unit="file"):
            target = found[folder]
            if into_folders:
                target.parent.mkdir(parents=True, exist_ok=True)
            write(parts[folder], target, indent)
    return Report("split", summary, counts=counts, outputs=tuple(map(str, found.values())), dry_run=dry_run)


# -- command line ----------------------------------------------------------------


def add_split_command(subparsers) -> None:
    import argparse

    from . import cliopts
    from .filters import add_filter_options, add_output_options

    p = subparsers.add_parser(
        "split", help="split a results file into one file per folder",
        description=__doc__.split("\n\n", 1)[1] + "\nFilter options (as in `mdi subset`) apply before splitting.",
        epilog="examples:\n"
               "  mdi split md_results.json split/                       # one file per leaf folder\n"
               "  mdi split md_results.json split/ --mode top --make-folder-relative\n"
               "  mdi split md_results.json /data/traps --mode n-from-top --param 1 \\\n"
               "      --make-folder-relative --copy-jsons-to-folders     # /data/traps/A/B/A_B.json\n"
               "  mdi split md_results.json split/ --confidence-threshold 0.2 --dry-run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="IN", help="results file to split (e.g. md_results.json)")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the files into, created if missing "
                   "(e.g. split/)")
    cliopts.add_options(p, SplitOptions)
    p.add_argument("--copy-jsons-to-folders", action="store_true",
                   help="write each file inside its own folder under OUT_DIR (OUT_DIR/A/B/A_B.json); "
                        "needs --make-folder-relative (e.g. OUT_DIR = the image folder)")
    p.add_argument("--create-folders", action="store_true",
                   help="with --copy-jsons-to-folders, create missing folders instead of refusing "
                        "(e.g. --copy-jsons-to-folders --create-folders)")
    add_output_options(p, "files")
    add_filter_options(p)
    cliopts.add_loader_options(p)
    p.set_defaults(run=run_split)


def run_split(args) -> int:
    from . import cliopts
    from .api import load
    from .filters import apply_filters, chosen_filters, filter_values

    options = structure_options(SplitOptions, cliopts.options_values(SplitOptions, args))
    if args.copy_jsons_to_folders and not options.make_folder_relative:
        raise MdiError("--copy-jsons-to-folders needs --make-folder-relative (paths inside each folder's "
                       "file must be relative to that folder)")
    chosen = chosen_filters(filter_values(args))
    results = apply_filters(load(args.input, **cliopts.loader_values(args)), chosen)
    parts = split(results, options.mode, options.param, options.make_folder_relative)
    report = write_split(parts, args.out_dir, into_folders=args.copy_jsons_to_folders,
                         create_folders=args.create_folders, overwrite=args.overwrite, dry_run=args.dry_run,
                         indent=None if args.compact else 1, inputs=[args.input])
    print(report.format())
    return 0
