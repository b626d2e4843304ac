"""The plan of a sorting run, made in one pass before any file is touched.

``build`` decides each image's folder and refuses unsafe paths; ``survey``
looks at the disk (one ``listdir`` per folder, not a ``stat`` per file) and
says, for each image, whether it is still to do, already done by this or an
earlier run, missing, or blocked by a different file at its destination.
"""

from __future__ import annotations

import enum
import os
from collections import Counter
from typing import Any, Iterable, Mapping

import attrs
from megadetector_integrations.paths import normalize, path_problem

from .assign import FolderRules
from .transfer import same_content


class Status(enum.Enum):
    TODO = "to do"
    DONE = "already done"
    REDO = "incomplete copy of an earlier run: redo"
    FINISH_MOVE = "copied by an interrupted move: remove the source"
    MISSING = "missing"
    CONFLICT = "a different file is in the way"


@attrs.frozen(slots=True)
class Placement:
    """One image and where it goes: ``<out>/<folder>/<file>``."""

    file: str  # normalized relative path, the same under the image root and the folder
    folder: str
    image: Any  # the results' Image (boxes are drawn from it)

    @property
    def dst(self) -> str:
        return f"{self.folder}/{self.file}"


@attrs.define
class Plan:
    placements: list[Placement] = attrs.Factory(list)
    refused: list[str] = attrs.Factory(list)  # one message per refused image
    skipped_empty: int = 0


def inside(path: str, root: str) -> bool:
    """Whether ``path`` lies strictly inside ``root`` (both resolved)."""
    return path.startswith(root.rstrip("/") + "/")


def build(images: Iterable, rules: FolderRules, images_root: str, out_root: str,
          skip_empty: bool = False) -> Plan:
    """Each image's folder; unsafe, duplicate or already-sorted paths are refused."""
    plan = Plan()
    sorted_prefix = os.path.relpath(out_root, images_root) + "/" if inside(out_root, images_root) else None
    seen: dict[str, str] = {}
    refuse = plan.refused.append
    for i, image in enumerate(images):
        where = f"images[{i}] {image.file!r}: file"
        problem = path_problem(image.file)
        if problem:
            refuse(f"{where}: {problem}; refused (never written outside the output folder)")
            continue
        file = normalize(image.file)
        if not file or file.endswith("/"):
            refuse(f"{where}: not a file path; refused")
            continue
        if sorted_prefix and file.startswith(sorted_prefix):
            refuse(f"{where}: lies inside the output folder; refused (it would sort sorted output)")
            continue
        folder = rules.folder(image)
        if skip_empty and folder == "empty":
            plan.skipped_empty += 1
            continue
        if file in seen:
            refuse(f"{where}: listed twice; kept the first entry (folder {seen[file]})")
            continue
        seen[file] = folder
        plan.placements.append(Placement(file, folder, image))
    return plan


class Listing:
    """The names in each folder, read once; missing folders remembered."""

    def __init__(self) -> None:
        self._names: dict[str, frozenset] = {}
        self.missing: set[str] = set()

    def names(self, folder: str) -> frozenset:
        found = self._names.get(folder)
        if found is None:
            try:
                found = frozenset(os.listdir(folder))
            except (FileNotFoundError, NotADirectoryError):
                found = frozenset()
                self.missing.add(folder)
            self._names[folder] = found
        return found

    def has(self, path: str) -> bool:
        folder, _, name = path.rpartition("/")
        return name in self.names(folder)


def survey(placements: list[Placement], images_root: str, out_root: str, mode: str,
           earlier: Mapping[str, str], listing: Listing) -> list[tuple[Placement, Status]]:
    """Each placement's status. ``earlier`` maps destinations that earlier runs
    recorded in the journal to their operation: those files are ours."""
    statuses = []
    for p in placements:
        src = f"{images_root}/{p.file}"
        dst = f"{out_root}/{p.dst}"
        src_exists = listing.has(src)
        if listing.has(dst):
            status = _existing(src, dst, src_exists, mode, earlier.get(p.dst))
        else:
            status = Status.TODO if src_exists else Status.MISSING
        statuses.append((p, status))
    return statuses


def _existing(src: str, dst: str, src_exists: bool, mode: str, earlier_op: str | None) -> Status:
    """The status of a placement whose destination already exists."""
    if mode == "move":
        if not src_exists:
            return Status.DONE
        if earlier_op == "move" and same_content(src, dst, "copy"):
            return Status.FINISH_MOVE
        return Status.CONFLICT
    if not src_exists:
        return Status.DONE if earlier_op else Status.MISSING
    if earlier_op in ("copy", "reflink") and os.lstat(dst).st_size != os.stat(src).st_size:
        return Status.REDO
    if earlier_op or same_content(src, dst, mode):
        return Status.DONE
    return Status.CONFLICT


def counts_by_folder(statuses: list[tuple[Placement, Status]]) -> Counter:
    """Images per folder, counting those already in place."""
    placed = (Status.TODO, Status.DONE, Status.REDO, Status.FINISH_MOVE)
    return Counter(p.folder for p, s in statuses if s in placed)
