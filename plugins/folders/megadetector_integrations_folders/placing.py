"""Placing the planned files: folders first, then files in batches, each batch
journaled before any of its files is touched.

Big copies overlap their I/O in threads. Many small files are shared with a
second, forked process instead (threads only fight over the interpreter
there): twice as fast on two cores. The parent alone writes the journal: it
records each pair of batches, its own and the child's, before handing the
child its batch through a pipe. The child reports back through another pipe,
and stops at once when the parent is gone, so a killed run stops whole.
"""

from __future__ import annotations

import datetime
import errno
import os
import sys
import time
from pathlib import Path

import msgspec
from megadetector_integrations.errors import MdiError
from megadetector_integrations.journal import Journal

from .assign import EMPTY, FAILURE, FolderRules
from .options import FoldersOptions
from .plan import Placement, Status
from .transfer import copy_file, move_file, part_path

BATCH = 256  # journal records written (and flushed) together, before their files
#: Test hook: seconds to sleep after each file, so a test can interrupt a run mid-way.
DELAY_ENV = "MDI_FOLDERS_TEST_DELAY"
#: Folders whose images are copied as they are even when rendering (nothing to draw).
UNRENDERED_FOLDERS = (EMPTY, FAILURE)
#: Fewer files than this are placed by one process: forking would cost more than it saves.
TWO_PROCESSES_FROM = 1_000
BIG_FILE = 256 * 1024  # average size from which copies use threads


class Outcome:
    def __init__(self) -> None:
        self.placed = 0
        self.problems: list[str] = []
        self.clone_fallback = False

    def count(self, problems) -> None:
        for problem in problems:
            if problem:
                self.problems.append(problem)
            else:
                self.placed += 1


def place(todo, new_folders: list[str], images_root: str, out_root: str, options: FoldersOptions,
          rules: FolderRules, journal_path: Path) -> Outcome:
    """Create folders and place files, journaling each batch before acting on it."""
    outcome = Outcome()
    created_out = not os.path.isdir(out_root)
    os.makedirs(out_root, exist_ok=True)
    with Journal(journal_path) as journal:
        journal.add(run=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    images=images_root, out=out_root, mode=options.mode)
        if created_out:
            journal.add(mkdir=["."])
        _make_folders(new_folders, out_root, journal)
        action = _Action(images_root, out_root, options, rules, outcome)
        threads = options.workers or _auto_threads(todo, images_root, options.mode)
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads) as pool:
                _place_batches(todo, action, journal, outcome, pool.map)
        elif options.workers == 0 and _two_processes_pay(todo, action):
            _place_in_two_processes(todo, action, journal, outcome)
        else:
            _place_batches(todo, action, journal, outcome, map)
    return outcome


def _place_batches(todo, action: _Action, journal: Journal, outcome: Outcome, mapper) -> None:
    """One batch after another in this process; ``mapper`` is ``map`` or a thread pool's."""
    for start in _progress(range(0, len(todo), BATCH), len(todo), BATCH):
        batch = todo[start:start + BATCH]
        _journal(journal, action, batch)
        outcome.count(mapper(action, batch))


def _journal(journal: Journal, action: _Action, *batches) -> None:
    """Record the batches' files, and flush: before any of them is touched."""
    for batch in batches:
        for op, files in action.journal_entries(batch).items():
            journal.add(op=op, files=files)
    journal.flush()


def _two_processes_pay(todo, action: _Action) -> bool:
    """Enough small files, two cores, and a process safe to fork: no other thread
    (in a notebook kernel there are several, so it places them alone)."""
    import threading

    return (hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and len(todo) >= TWO_PROCESSES_FROM
            and action.renderer is None and threading.active_count() == 1)


def _place_in_two_processes(todo, action: _Action, journal: Journal, outcome: Outcome) -> None:
    """Batches alternate: even ones here, odd ones in a forked child (see the module's doc)."""
    handout_r, handout_w = os.pipe()
    report_r, report_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    child = os.fork()  # before any progress bar starts a thread
    if child == 0:
        os.close(handout_w)
        os.close(report_r)
        _child(todo, action, handout_r, report_w, parent)  # never returns
    os.close(handout_r)
    os.close(report_w)
    try:
        for start in _progress(range(0, len(todo), 2 * BATCH), len(todo), 2 * BATCH):
            mine, theirs = todo[start:start + BATCH], todo[start + BATCH:start + 2 * BATCH]
            _journal(journal, action, mine, theirs)
            if theirs:
                os.write(handout_w, (start + BATCH).to_bytes(8, "little"))
            outcome.count(map(action, mine))
    finally:
        os.close(handout_w)  # the child finishes what it was handed, then reports
        with os.fdopen(report_r, "rb") as reports:
            report = reports.read()  # before waiting: a long report must not block the child
        os.waitpid(child, 0)
    found = msgspec.json.decode(report) if report else {"error": "the second process died"}
    if "error" in found:
        raise MdiError(f"while placing files: {found['error']}")
    outcome.placed += found["placed"]
    outcome.problems += found["problems"]
    outcome.clone_fallback |= found["clone_fallback"]


def _child(todo, action: _Action, handout_r: int, report_w: int, parent: int) -> None:
    """The forked process: place each handed-out batch, report, and leave without
    running anything of the parent's (exit handlers, buffered output)."""
    report: dict = {"error": "interrupted"}
    try:
        mine = Outcome()

        def place_one(item):
            if os.getppid() != parent:  # the parent was killed: stop too
                os._exit(1)
            return action(item)

        with os.fdopen(handout_r, "rb") as handout:
            while len(token := handout.read(8)) == 8:
                start = int.from_bytes(token, "little")
                mine.count(map(place_one, todo[start:start + BATCH]))
        report = {"placed": mine.placed, "problems": mine.problems,
                  "clone_fallback": action.outcome.clone_fallback}
    except BaseException as exc:  # noqa: BLE001 - told to the parent, which raises it
        report = {"error": str(exc) or type(exc).__name__}
    finally:
        try:
            with os.fdopen(report_w, "wb") as out:
                out.write(msgspec.json.encode(report))
        finally:
            os._exit(0)


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


def _auto_threads(todo, images_root: str, mode: str) -> int:
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
    big = sizes and sum(sizes) / len(sizes) >= BIG_FILE
    return min(4, (os.cpu_count() or 1) * 2) if big else 1


def _progress(starts, total: int, step: int):
    """A progress bar (in images) when standard error is a terminal; tqdm loads only then."""
    if not sys.stderr.isatty():
        return starts
    from megadetector_integrations.progress import progress

    bar_items = progress(range(total), total=total, desc="sorting")

    def advance():
        for start in starts:
            yield start
            for _ in range(min(step, total - start)):
                next(bar_items, None)

    return advance()


class _Action:
    """Places one file according to the mode; returns a problem message or ``None``.
    Slow only when the test delay (``DELAY_ENV``) is set."""

    def __init__(self, images_root: str, out_root: str, options: FoldersOptions, rules: FolderRules,
                 outcome: Outcome):
        self.images_root = images_root
        self.out_root = out_root
        self.mode = options.mode
        self.outcome = outcome
        self.clone = options.mode == "reflink"
        self.put = {"copy": self._copy, "reflink": self._copy, "hardlink": os.link,
                    "symlink": os.symlink, "move": move_file}[options.mode]
        self.delay = float(os.environ.get(DELAY_ENV, "0"))
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
        problem = self._place(item)
        if self.delay:
            time.sleep(self.delay)
        return problem

    def _place(self, item) -> str | None:
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
