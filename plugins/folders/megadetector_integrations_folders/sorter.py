"""``mdi export folders``: plan, check, then place every image, journaling as it goes.

The journal (``<out>/mdi-folders-journal.jsonl``, JSON lines, readable with
``megadetector_integrations.journal.read_journal``) holds, per run, a ``run``
record with the roots and mode, a ``mkdir`` record before each folder it
creates, and an ``op`` record (``copy``, ``reflink``, ``render``, ``hardlink``,
``symlink``, ``move``) before each file it places. Because every file appears
atomically, "recorded and present" means "done": that is how a re-run resumes
and how ``mdi folders undo`` reverses a run.
"""

from __future__ import annotations

import datetime
import errno
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from megadetector_integrations.errors import MdiError
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
VERBS = {"copy": "copied", "move": "moved", "hardlink": "hard-linked", "symlink": "symlinked",
         "reflink": "cloned"}


class JournalWriter:
    """Appends records in batches: a batch is flushed before any of its actions runs."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = open(path, "ab")
        self._pending: list[bytes] = []

    def add(self, **record) -> None:
        import orjson

        self._pending.append(orjson.dumps(record) + b"\n")

    def flush(self) -> None:
        if self._pending:
            self._fh.write(b"".join(self._pending))
            self._fh.flush()
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


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
    return {r["dst"]: r["op"] for r in read_journal(journal) if "op" in r}


def sort_images(results, options: FoldersOptions) -> Report:
    """The exporter's run function."""
    check_options(options)
    check_names(results, options)
    images_root, out_root = resolve_roots(options)
    rules = FolderRules(results.detection_categories, results.classification_categories,
                        thresholds_for(results, options))
    plan = planning.build(results.images, rules, images_root, out_root, options.skip_empty)
    journal_path = Path(out_root) / JOURNAL_NAME
    listing = planning.Listing()
    statuses = planning.survey(plan.placements, images_root, out_root, options.mode,
                               earlier_records(journal_path), listing)
    problems = list(plan.refused)
    problems += [f"{images_root}/{p.file}: source image is missing" for p, s in statuses if s is Status.MISSING]
    problems += [f"{out_root}/{p.dst}: a different file is already there; left alone "
                 f"(remove it, or choose another --out)" for p, s in statuses if s is Status.CONFLICT]
    problems += _unsafe_destinations(statuses, out_root)
    problems += [f"detection category id {c!r} is not in detection_categories; its boxes were ignored"
                 for c in sorted(rules.unknown_ids)]
    if options.strict and problems:
        raise MdiError(f"{len(problems)} problem(s); nothing was changed (--strict):\n  "
                       + "\n  ".join(problems[:20]))
    blocked = {p.dst for p in _blocked(statuses, out_root)}
    statuses = [(p, s) for p, s in statuses if p.dst not in blocked]
    todo = [(p, s) for p, s in statuses if s in (Status.TODO, Status.REDO, Status.FINISH_MOVE)]
    counts = dict(sorted(planning.counts_by_folder(statuses).items()))
    n_done = sum(1 for _, s in statuses if s is Status.DONE)
    if options.dry_run:
        _print_plan(todo, images_root, out_root, options.mode)
        summary = f"would {options.mode} {len(todo):,} images into {out_root} ({n_done:,} already done)"
        return Report("folders", summary, counts, (), tuple(problems), dry_run=True)
    outcome = _place(todo, images_root, out_root, options, rules, listing, journal_path)
    problems += outcome.problems
    verb = VERBS[options.mode]
    summary = f"{verb} {outcome.placed:,} images into {out_root} ({n_done:,} already done"
    summary += f", {plan.skipped_empty:,} empty skipped)" if options.skip_empty else ")"
    if outcome.clone_fallback:
        summary += "; this filesystem cannot clone (reflink), so files were copied instead"
    return Report("folders", summary, counts, (str(journal_path),), tuple(problems))


def _unsafe_destinations(statuses, out_root: str) -> list[str]:
    return [f"{out_root}/{p.dst}: its folder resolves outside {out_root} (a symbolic link?); refused"
            for p in _blocked(statuses, out_root)]


def _blocked(statuses, out_root: str) -> list[Placement]:
    """Placements whose destination folder leads outside the output root through a link."""
    verdict: dict[str, bool] = {}
    blocked = []
    for p, _ in statuses:
        folder = f"{out_root}/{p.dst}".rpartition("/")[0]
        if folder not in verdict:
            verdict[folder] = planning.inside(os.path.realpath(folder) + "/", out_root)
        if not verdict[folder]:
            blocked.append(p)
    return blocked


def _print_plan(todo, images_root: str, out_root: str, mode: str) -> None:
    lines = [f"{mode} {images_root}/{p.file} -> {out_root}/{p.dst}" for p, _ in todo]
    sys.stdout.write("".join(line + "\n" for line in lines))


class _Outcome:
    def __init__(self) -> None:
        self.placed = 0
        self.problems: list[str] = []
        self.clone_fallback = False


def _place(todo, images_root: str, out_root: str, options: FoldersOptions, rules: FolderRules,
           listing: planning.Listing, journal_path: Path) -> _Outcome:
    """Create folders and place files, journaling each batch before acting on it."""
    outcome = _Outcome()
    created_out = not os.path.isdir(out_root)
    os.makedirs(out_root, exist_ok=True)
    journal = JournalWriter(journal_path)
    try:
        journal.add(run=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    images=images_root, out=out_root, mode=options.mode)
        if created_out:
            journal.add(mkdir=".")
        _make_folders(todo, out_root, listing, journal)
        action = _Action(images_root, out_root, options, rules, outcome)
        delay = float(os.environ.get(DELAY_ENV, "0"))
        workers = options.workers or _auto_workers(todo, images_root, options.mode)
        pool = ThreadPoolExecutor(workers) if workers > 1 else None
        for start in _progress(range(0, len(todo), BATCH), len(todo)):
            batch = todo[start:start + BATCH]
            for p, status in batch:
                journal.add(op=action.op_for(p), src=p.file, dst=p.dst)
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
    finally:
        journal.close()
    return outcome


def _make_folders(todo, out_root: str, listing: planning.Listing, journal: JournalWriter) -> None:
    """Create each destination folder once (parents first), journaling each before it is made."""
    needed = {f"{out_root}/{p.dst}".rpartition("/")[0] for p, _ in todo}
    to_make: set[str] = set()
    for folder in needed:
        while folder != out_root and folder not in to_make and (
                folder in listing.missing or not os.path.isdir(folder)):
            to_make.add(folder)
            folder = folder.rpartition("/")[0]
    ordered = sorted(to_make, key=lambda f: f.count("/"))
    for folder in ordered:
        journal.add(mkdir=folder[len(out_root) + 1:])
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
        self.options = options
        self.outcome = outcome
        self.clone = options.mode == "reflink"
        self.renderer = None
        if options.renders:
            from .render import Renderer

            self.renderer = Renderer(options, rules)

    def rendered(self, p: Placement) -> bool:
        return self.renderer is not None and p.folder not in (EMPTY, FAILURE)

    def op_for(self, p: Placement) -> str:
        return "render" if self.rendered(p) else self.options.mode

    def __call__(self, item) -> str | None:
        p, status = item
        src = f"{self.images_root}/{p.file}"
        dst = f"{self.out_root}/{p.dst}"
        try:
            self._place(p, status, src, dst)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise MdiError(f"{dst}: {exc.strerror}; free some space and re-run the same "
                               "command to resume") from None
            return f"{src}: {exc.strerror or exc}; not placed"
        except Exception as exc:  # a broken image while rendering: report it, keep going
            return f"{src}: {exc}; not placed"
        return None

    def _place(self, p: Placement, status: Status, src: str, dst: str) -> None:
        mode = self.options.mode
        if status is Status.FINISH_MOVE:
            os.unlink(src)
        elif self.rendered(p):
            self.renderer.render(p.image, src, dst, part_path(dst))
        elif mode in ("copy", "reflink"):
            if not copy_file(src, dst, clone=self.clone) and self.clone:
                self.clone = False  # the filesystem cannot: stop trying, and say so
                self.outcome.clone_fallback = True
        elif mode == "hardlink":
            os.link(src, dst)
        elif mode == "symlink":
            os.symlink(src, dst)
        else:
            move_file(src, dst)
