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
import datetime
import errno
import os
import sys
import time
from pathlib import Path

from megadetector_integrations.errors import MdiError
from megadetector_integrations.journal import Journal
from megadetector_integrations.registry import Report
from megadetector_integrations.thresholds import typical_detection_threshold

from . import plan as planning
from .assign import EMPTY, FAILURE, FolderRules, Thresholds, folder_name_problem
from .options import RENDERABLE_MODES, FoldersOptions
from .plan import Placement, Status
from .transfer import copy_file, move_file, part_path

JOURNAL_NAME = "mdi-folders-journal.jsonl"
BATCH = 256  # journal records written (and flushed) together, before their files
#: Test hook: seconds to sleep after each file, so a test can interrupt a run mid-way.
DELAY_ENV = "MDI_FOLDERS_TEST_DELAY"
#: Folders whose images are copied as they are even when rendering (nothing to draw).
UNRENDERED_FOLDERS = (EMPTY, FAILURE)
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
    outcome = _place(todo, found.new_folders, images_root, out_root, options, rules, journal_path)
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


class _Outcome:
    def __init__(self) -> None:
        self.placed = 0
        self.problems: list[str] = []
        self.clone_fallback = False


def _place(todo, new_folders: list[str], images_root: str, out_root: str, options: FoldersOptions,
           rules: FolderRules, journal_path: Path) -> _Outcome:
    """Create folders and place files, journaling each batch before acting on it."""
    outcome = _Outcome()
    created_out = not os.path.isdir(out_root)
    os.makedirs(out_root, exist_ok=True)
    with Journal(journal_path) as journal:
        journal.add(run=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    images=images_root, out=out_root, mode=options.mode)
        if created_out:
            journal.add(mkdir=["."])
        _make_folders(new_folders, out_root, journal)
        action = _Action(images_root, out_root, options, rules, outcome)
        delay = float(os.environ.get(DELAY_ENV, "0"))
        pool = _thread_pool(options.workers or _auto_workers(todo, images_root, options.mode))
        for start in _progress(range(0, len(todo), BATCH), len(todo)):
            batch = todo[start:start + BATCH]
            for op, files in action.journal_entries(batch).items():
                journal.add(op=op, files=files)
            journal.flush()
            for problem in (pool.map(action, batch) if pool else map(action, batch)):
                if problem:
                    outcome.problems.append(problem)
                else:
                    outcome.placed += 1
                if delay:
                    time.sleep(delay)
        if pool:
            pool.shutdown()
    return outcome


def _thread_pool(workers: int):
    if workers <= 1:
        return None
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(workers)


def _make_folders(new_folders: list[str], out_root: str, journal: Journal) -> None:
    """Create each destination folder once (parents first), journaled before it is made."""
    to_make: set[str] = set()
    for folder in new_folders:
        while folder != out_root and folder not in to_make and not os.path.isdir(folder):
            to_make.add(folder)
            folder = folder.rpartition("/")[0]
    ordered = sorted(to_make, key=lambda f: f.count("/"))
    if ordered:
        journal.add(mkdir=[folder[len(out_root) + 1:] for folder in ordered])
        journal.flush()
    for folder in ordered:
        os.makedirs(folder, exist_ok=True)


def _auto_workers(todo, images_root: str, mode: str) -> int:
    """Threads overlap the I/O of big copies; for small files they only add overhead."""
    if mode not in ("copy", "reflink") or len(todo) < 16:
        return 1
    sample = todo[:: max(1, len(todo) // 16)][:16]
    sizes = []
    for p, _ in sample:
        try:
            sizes.append(os.stat(f"{images_root}/{p.file}").st_size)
        except OSError:
            pass
    big = sizes and sum(sizes) / len(sizes) >= 256 * 1024
    return min(4, (os.cpu_count() or 1) * 2) if big else 1


def _progress(batches, total: int):
    """A progress bar (in images) when standard error is a terminal; tqdm loads only then."""
    if not sys.stderr.isatty():
        return batches
    from megadetector_integrations.progress import progress

    bar_items = progress(range(total), total=total, desc="sorting")

    def advance():
        for start in batches:
            yield start
            for _ in range(min(BATCH, total - start)):
                next(bar_items, None)

    return advance()


class _Action:
    """Places one file according to the mode; returns a problem message or ``None``."""

    def __init__(self, images_root: str, out_root: str, options: FoldersOptions, rules: FolderRules,
                 outcome: _Outcome):
        self.images_root = images_root
        self.out_root = out_root
        self.mode = options.mode
        self.outcome = outcome
        self.clone = options.mode == "reflink"
        self.put = {"copy": self._copy, "reflink": self._copy, "hardlink": os.link,
                    "symlink": os.symlink, "move": move_file}[options.mode]
        self.renderer = None
        if options.renders:
            from .render import Renderer

            self.renderer = Renderer(options, rules)

    def rendered(self, p: Placement) -> bool:
        return self.renderer is not None and p.folder not in UNRENDERED_FOLDERS

    def journal_entries(self, batch) -> dict[str, list[tuple[str, str]]]:
        """Operation → ``(source, destination)`` pairs (relative paths) for a batch."""
        if self.renderer is None:
            return {self.mode: [(p.file, f"{p.folder}/{p.file}") for p, _ in batch]}
        by_op: dict[str, list] = {}
        for p, _ in batch:
            by_op.setdefault("render" if self.rendered(p) else self.mode, []).append((p.file, p.dst))
        return by_op

    def __call__(self, item) -> str | None:
        p, status = item
        file, folder, image = p
        src = f"{self.images_root}/{file}"
        dst = f"{self.out_root}/{folder}/{file}"
        try:
            if status is not Status.TODO:
                if status is Status.FINISH_MOVE:
                    os.unlink(src)
                    return None
                os.unlink(dst)  # REDO: a partial copy of ours
            if self.renderer is not None and folder not in UNRENDERED_FOLDERS:
                self.renderer.render(image, src, dst, part_path(dst))
            else:
                self.put(src, dst)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise MdiError(f"{dst}: {exc.strerror}; free some space and re-run the same "
                               "command to resume") from None
            return f"{src}: {exc.strerror or exc}; not placed"
        except Exception as exc:  # a broken image while rendering: report it, keep going
            return f"{src}: {exc}; not placed"
        return None

    def _copy(self, src: str, dst: str) -> None:
        if not copy_file(src, dst, clone=self.clone) and self.clone:
            self.clone = False  # the filesystem cannot: stop trying, and say so
            self.outcome.clone_fallback = True
