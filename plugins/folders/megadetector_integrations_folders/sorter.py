"""``mdi export folders``: plan, check, then place every image, journaling as it goes.

The journal (``<out>/mdi-folders-journal.jsonl``, JSON lines, readable with
``megadetector_integrations.journal.read_journal``) holds, per run, a ``run``
record with the roots and mode, ``mkdir`` records listing the folders it is
about to create, and ``op`` records (``copy``, ``reflink``, ``render``,
``hardlink``, ``symlink``, ``move``) listing ``[source, destination]`` pairs,
each written (in batches of 256) before those files are placed. A re-run
resumes from what it finds on disk, using the journal to know which files are
its own; ``mdi folders undo`` reverses what the journal lists.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from megadetector_integrations.errors import MdiError
from megadetector_integrations.registry import Report
from megadetector_integrations.thresholds import typical_detection_threshold

from . import plan as planning
from .assign import FolderRules, Thresholds, folder_name_problem
from .options import RENDERABLE_MODES, FoldersOptions
from .placing import place
from .plan import Status
from .transfer import part_path

JOURNAL_NAME = "mdi-folders-journal.jsonl"
VERBS = {"copy": "copied", "move": "moved", "hardlink": "hard-linked", "symlink": "symlinked",
         "reflink": "cloned"}


def thresholds_for(results, options: FoldersOptions) -> Thresholds:
    """Per-category thresholds: named flags, then --category-threshold, then the default."""
    default = options.threshold if options.threshold is not None else typical_detection_threshold(results.info)
    categories = dict(options.category_threshold)
    for name in ("animal", "person", "vehicle"):
        value = getattr(options, f"{name}_threshold")
        if value is not None:
            categories[name] = value
    return Thresholds(default, categories, dict(options.species), options.unlisted_species_threshold)


def check_names(results, options: FoldersOptions) -> None:
    """Category and species names become folder names: refuse unsafe or unknown ones."""
    for cid, name in results.detection_categories.items():
        if folder_name_problem(name):
            raise MdiError(f"detection_categories[{cid!r}] = {name!r} cannot be a folder name; "
                           "rename the category in the results file")
    if options.species:
        known = set((results.classification_categories or {}).values())
        if not known:
            raise MdiError("--species needs species classifications, and the results file has no "
                           "classification_categories")
        for name in options.species:
            if name not in known:
                raise MdiError(f"--species {name!r}: not in the results' classification_categories "
                               f"(known: {', '.join(sorted(known))})")
            if folder_name_problem(name):
                raise MdiError(f"--species {name!r} cannot be a folder name")


def check_options(options: FoldersOptions) -> None:
    if options.renders and options.mode not in RENDERABLE_MODES:
        raise MdiError(f"--render-boxes and --blur-people draw on new copies; they cannot be used with "
                       f"--mode {options.mode} (use --mode copy)")


def resolve_roots(options: FoldersOptions) -> tuple[str, str]:
    """Absolute image and output roots, after the checks that need no writing."""
    images = os.path.realpath(options.images)
    out = os.path.realpath(options.out)
    if not os.path.isdir(images):
        raise MdiError(f"--images {options.images}: no such folder")
    if os.path.exists(out) and not os.path.isdir(out):
        raise MdiError(f"--out {options.out}: exists and is not a folder")
    if out == images or planning.inside(images, out):
        raise MdiError(f"--out {options.out} contains the image folder {options.images}; "
                       "choose an output folder outside it (sorting would mix outputs with originals)")
    if options.mode == "hardlink" and _device(images) != _device(out):
        raise MdiError("--mode hardlink needs the images and the output on the same filesystem; "
                       "use --mode copy (or reflink) instead")
    return images, out


def _device(path: str) -> int:
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return os.stat(path).st_dev


def earlier_records(journal: Path) -> dict[str, str]:
    """Destination → operation, for every file earlier runs journaled."""
    from megadetector_integrations.journal import read_journal

    if not journal.exists():
        return {}
    try:
        return {dst: r["op"] for r in read_journal(journal) if "op" in r for _, dst in r["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise MdiError(f"{journal}: not a folder-sorting journal ({exc}); move it away or choose "
                       "another --out") from None


def sort_images(results, options: FoldersOptions) -> Report:
    """The exporter's run function."""
    check_options(options)
    check_names(results, options)
    images_root, out_root = resolve_roots(options)
    rules = FolderRules(results.detection_categories, results.classification_categories,
                        thresholds_for(results, options))
    plan = planning.build(results.images, rules, images_root, out_root, options.skip_empty)
    journal_path = Path(out_root) / JOURNAL_NAME
    found = planning.survey(plan.placements, images_root, out_root, options.mode, earlier_records(journal_path))
    problems = plan.refused + _problems(found, images_root, out_root)
    if options.strict and problems:
        raise MdiError(f"{len(problems)} problem(s); nothing was changed (--strict):\n  "
                       + "\n  ".join(problems[:20]))
    problems += [f"detection category id {c!r} is not in detection_categories; its boxes were ignored"
                 for c in sorted(rules.unknown_ids)]
    todo = found.of(Status.TODO, Status.REDO, Status.FINISH_MOVE)
    counts = found.counts_by_folder()
    n_done = len(found.by_status[Status.DONE])
    if options.dry_run:
        _print_plan(todo, images_root, out_root, options.mode)
        summary = f"would {options.mode} {len(todo):,} images into {out_root} ({n_done:,} already done)"
        return Report("folders", summary, counts, (), tuple(problems), dry_run=True)
    for dst in found.leftovers:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part_path(f"{out_root}/{dst}"))
    outcome = place(todo, found.new_folders, images_root, out_root, options, rules, journal_path)
    problems += outcome.problems
    verb = VERBS[options.mode]
    summary = f"{verb} {outcome.placed:,} images into {out_root} ({n_done:,} already done"
    summary += f", {plan.skipped_empty:,} empty skipped)" if options.skip_empty else ")"
    if outcome.clone_fallback:
        summary += "; this filesystem cannot clone (reflink), so files were copied instead"
    return Report("folders", summary, counts, (str(journal_path),), tuple(problems))


def _problems(found: planning.Survey, images_root: str, out_root: str) -> list[str]:
    """One line per image that cannot be placed."""
    by_status = found.by_status
    return ([f"{images_root}/{p.file}: source image is missing" for p in by_status[Status.MISSING]]
            + [f"{out_root}/{p.dst}: a different file is already there; left alone "
               "(remove it, or choose another --out)" for p in by_status[Status.CONFLICT]]
            + [f"{out_root}/{p.dst}: refused: {Status.OUTSIDE.value}" for p in by_status[Status.OUTSIDE]])


def _print_plan(todo, images_root: str, out_root: str, mode: str) -> None:
    lines = [f"{mode} {images_root}/{p.file} -> {out_root}/{p.dst}" for p, _ in todo]
    sys.stdout.write("".join(line + "\n" for line in lines))
