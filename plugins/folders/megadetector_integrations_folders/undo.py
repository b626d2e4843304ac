"""``mdi folders undo JOURNAL``: reverse every run recorded in a sorting journal.

Newest first: moved files go back to where they were; created files (copies,
clones, rendered copies, links) are removed when they are still what the run
made (a changed file is kept and reported); created folders are removed when
empty. When nothing is left to report the journal itself goes, and with it
the output folder if a run created it. Undo can be repeated: what is already
undone is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

from megadetector_integrations.errors import MdiError
from megadetector_integrations.registry import Report

from .transfer import is_partial_copy, move_file, part_path, same_content


def find_journal(path: str | Path) -> Path:
    """The journal file, given it or the output folder holding it."""
    from .sorter import JOURNAL_NAME

    path = Path(path)
    if path.is_dir():
        path = path / JOURNAL_NAME
    if not path.is_file():
        raise MdiError(f"{path}: no such journal; give the {JOURNAL_NAME} file that "
                       "`mdi export folders` wrote in its output folder")
    return path


def read_actions(journal: Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    """File actions as (op, absolute source, absolute destination), and created folders."""
    from megadetector_integrations.journal import read_journal

    out_root = str(journal.resolve().parent)
    images_root = None
    actions, folders = [], []
    try:
        for record in read_journal(journal):
            if "run" in record:
                images_root = record["images"]
            elif "mkdir" in record:
                folders += record["mkdir"]
            elif "op" in record and images_root is not None:
                op = record["op"]
                actions += [(op, f"{images_root}/{src}", f"{out_root}/{dst}") for src, dst in record["files"]]
    except (ValueError, KeyError) as exc:
        raise MdiError(f"{journal}: not a folder-sorting journal ({exc})") from None
    return actions, folders


def undo(journal_arg: str | Path, dry_run: bool = False) -> Report:
    journal = find_journal(journal_arg)
    out_root = journal.resolve().parent
    actions, folders = read_actions(journal)
    counts = {"moved back": 0, "removed files": 0, "removed folders": 0, "kept folders (not empty)": 0}
    problems: list[str] = []
    for op, src, dst in reversed(actions):
        outcome = _undo_file(op, src, dst, dry_run)
        if outcome in counts:
            counts[outcome] += 1
        elif outcome:
            problems.append(outcome)
    for rel in sorted(set(folders) - {"."}, key=lambda f: f.count("/"), reverse=True):
        outcome = _remove_folder(out_root / rel, dry_run)
        if outcome in counts:
            counts[outcome] += 1
        elif outcome:
            problems.append(outcome)
    if not problems and not dry_run:
        journal.unlink()
        if "." in folders and not any(out_root.iterdir()):
            out_root.rmdir()
            counts["removed folders"] += 1
    summary = f"undid {len(actions):,} recorded action(s) from {journal}"
    if problems:
        summary += "; the journal is kept (fix the problems and run undo again)"
    return Report("folders undo", summary, counts, (), tuple(problems), dry_run=dry_run)


def _undo_file(op: str, src: str, dst: str, dry_run: bool) -> str | None:
    """Reverse one action; the name of a count, a problem message, or None (nothing to do)."""
    part = part_path(dst)
    if os.path.lexists(part) and not dry_run:
        os.unlink(part)  # a copy cut short: never a user's file
    if not os.path.lexists(dst):
        return None
    if op == "move":
        if os.path.lexists(src):
            if not same_content(src, dst, "copy"):
                return f"{dst}: cannot move back, {src} exists and differs; both left alone"
            action, verb = (lambda: os.unlink(dst)), "removed files"  # an interrupted cross-device move
        else:
            action, verb = (lambda: _move_back(dst, src)), "moved back"
    else:
        if op != "render" and not _made_from(src, dst, op):
            return f"{dst}: changed since it was placed (or its original is gone); kept"
        action, verb = (lambda: os.unlink(dst)), "removed files"
    if dry_run:
        print(f"{verb}: {dst}" + (f" -> {src}" if verb == "moved back" else ""))
    else:
        try:
            action()
        except OSError as exc:
            return f"{dst}: {exc.strerror}; left in place"
    return verb


def _made_from(src: str, dst: str, op: str) -> bool:
    """Whether ``dst`` is still what ``op`` made from ``src`` (a partial copy counts)."""
    if not os.path.lexists(src):
        return False
    return same_content(src, dst, op) or (op in ("copy", "reflink") and is_partial_copy(src, dst))


def _move_back(dst: str, src: str) -> None:
    os.makedirs(os.path.dirname(src), exist_ok=True)
    move_file(dst, src)


def _remove_folder(folder: Path, dry_run: bool) -> str | None:
    if not folder.is_dir():
        return None
    if dry_run:
        print(f"removed folders: {folder}")
        return "removed folders"
    try:
        folder.rmdir()
    except OSError:
        return "kept folders (not empty)"  # holds files the sort did not make
    return "removed folders"
