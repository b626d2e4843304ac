"""The plan of a sorting run, made in one pass before any file is touched.

``build`` decides each image's folder and refuses unsafe paths; ``survey``
looks at the disk (one ``listdir`` per folder, not a ``stat`` per file) and
says, for each image, whether it is still to do, already done by this or an
earlier run, missing, or blocked by a different file at its destination.
"""

from __future__ import annotations

import enum
import functools
import os
from collections import Counter
from typing import Any, Mapping, NamedTuple, Sequence

from megadetector_integrations.paths import normalize, path_problem

from .assign import EMPTY, FolderRules
from .transfer import PART_SUFFIX, is_partial_copy, same_content


class Status(enum.Enum):
    TODO = "to do"
    DONE = "already done"
    REDO = "a partial copy left by an interrupted run: replace it"
    FINISH_MOVE = "copied by an interrupted move: remove the source"
    MISSING = "missing"
    CONFLICT = "a different file is in the way"
    OUTSIDE = "its folder leads outside the image or output folder (a symbolic link)"


class Placement(NamedTuple):
    """One image and where it goes: ``<out>/<folder>/<file>``."""

    file: str  # normalized relative path, the same under the image root and the folder
    folder: str
    image: Any  # the results' Image (boxes are drawn from it)

    @property
    def dst(self) -> str:
        return f"{self.folder}/{self.file}"


#: ``Placement((file, folder, image))`` without NamedTuple's Python-level ``__new__``
#: (twice as fast, for every image of the results).
_new_placement = functools.partial(tuple.__new__, Placement)


class Plan:
    """The placements, and one message per refused image. (Plain classes here: an
    attrs class costs more to build at import than this whole module.)"""

    def __init__(self) -> None:
        self.placements: list[Placement] = []
        self.refused: list[str] = []
        self.skipped_empty = 0


def inside(path: str, root: str) -> bool:
    """Whether ``path`` lies strictly inside ``root`` (both resolved)."""
    return path.startswith(root.rstrip("/") + "/")


def build(images: Sequence, rules: FolderRules, images_root: str, out_root: str,
          skip_empty: bool = False) -> Plan:
    """Each image's folder; unsafe, duplicate or already-sorted paths are refused."""
    plan = Plan()
    files = [image.file for image in images]
    sorted_prefix = os.path.relpath(out_root, images_root) + "/" if inside(out_root, images_root) else None
    if sorted_prefix or _need_care(files):
        files = _checked_files(files, sorted_prefix, plan.refused)
        images = [image for file, image in zip(files, images) if file is not None]
        files = [file for file in files if file is not None]
    plan.placements = list(map(_new_placement, zip(files, map(rules.folder, images), images)))
    if skip_empty:
        kept = [p for p in plan.placements if p.folder != EMPTY]
        plan.skipped_empty = len(plan.placements) - len(kept)
        plan.placements = kept
    return plan


def _need_care(files: list[str]) -> bool:
    """Whether any path may be unsafe, unnormalized or repeated (one scan of them all)."""
    joined = "\n" + "\n".join(files) + "\n"
    return (any(mark in joined for mark in ("\n/", "\n.", "/\n", "/.", "\n\n", "\\", ":", "..", "//"))
            or len(set(files)) != len(files))


def _checked_files(files: list[str], sorted_prefix: str | None, refused: list[str]) -> list[str | None]:
    """The files normalized, with ``None`` (and a message) for each refused one."""
    checked: list[str | None] = []
    first: dict[str, int] = {}
    for i, file in enumerate(files):
        where = f"images[{i}] {file!r}: file"
        problem = path_problem(file)
        segments = normalize(file).split("/")
        normal = "/".join(s for s in segments if s not in ("", "."))  # 'a//./b' is 'a/b'
        if problem:
            refused.append(f"{where}: {problem}; refused (never written outside the output folder)")
        elif segments[-1] in ("", "."):
            refused.append(f"{where}: not a file path; refused")
        elif sorted_prefix and normal.startswith(sorted_prefix):
            refused.append(f"{where}: lies inside the output folder; refused (it would sort sorted output)")
        elif normal in first:
            refused.append(f"{where}: listed again (first at images[{first[normal]}]); kept the first")
        else:
            first[normal] = i
            checked.append(normal)
            continue
        checked.append(None)
    return checked


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


class Survey:
    """What the disk says: the placements by status, and the folders to create."""

    def __init__(self, by_status: dict[Status, list[Placement]], new_folders: list[str],
                 leftovers: list[str]) -> None:
        self.by_status = by_status
        self.new_folders = new_folders  # missing destination folders with something to place
        #: temporary files of earlier runs beside their finished destinations (a run
        #: killed between publishing a copy and removing its temporary name)
        self.leftovers = leftovers

    def of(self, *statuses: Status) -> list[tuple[Placement, Status]]:
        return [(p, s) for s in statuses for p in self.by_status[s]]

    def counts_by_folder(self) -> dict[str, int]:
        """Images per folder, counting those already in place."""
        placed = (Status.TODO, Status.DONE, Status.REDO, Status.FINISH_MOVE)
        return dict(sorted(Counter(p.folder for s in placed for p in self.by_status[s]).items()))


def survey(placements: list[Placement], images_root: str, out_root: str, mode: str,
           earlier: Mapping[str, str]) -> Survey:
    """Each placement's status. ``earlier`` maps destinations that earlier runs
    recorded in the journal to their operation: those files are ours.

    Work is per folder, not per file: one listing, and one check that the
    folder does not lead elsewhere through a symbolic link.
    """
    listing = Listing()
    src_verdicts: dict[str, bool] = {}
    dst_verdicts: dict[str, bool] = {}
    sources: dict[str, frozenset | None] = {}
    targets: dict[tuple[str, str], frozenset | None] = {}
    by_status: dict[Status, list[Placement]] = {s: [] for s in Status}
    todo = by_status[Status.TODO]
    wanted: set[tuple[str, str]] = set()
    leftovers: list[str] = []
    for p in placements:
        file, folder, _ = p
        parent, _, name = file.rpartition("/")
        names = sources.get(parent, _UNSEEN)
        if names is _UNSEEN:
            names = sources[parent] = _listed_inside(listing, _join(images_root, parent), images_root,
                                                     src_verdicts if mode == "move" else None)
        key = (folder, parent)
        dst_names = targets.get(key, _UNSEEN)
        if dst_names is _UNSEEN:
            dst_names = targets[key] = _listed_inside(listing, _join(f"{out_root}/{folder}", parent),
                                                      out_root, dst_verdicts)
        if names is None or dst_names is None:
            by_status[Status.OUTSIDE].append(p)
        elif name in dst_names:
            earlier_op = earlier.get(p.dst)
            status = _existing(f"{images_root}/{file}", f"{out_root}/{p.dst}", name in names, mode, earlier_op)
            by_status[status].append(p)
            if earlier_op and f".{name}{PART_SUFFIX}" in dst_names:
                leftovers.append(p.dst)
        elif name in names:
            todo.append(p)
            wanted.add(key)
        else:
            by_status[Status.MISSING].append(p)
    new_folders = [path for key in wanted if (path := _join(f"{out_root}/{key[0]}", key[1])) in listing.missing]
    return Survey(by_status, new_folders, leftovers)


_UNSEEN = object()


def _join(root: str, parent: str) -> str:
    return f"{root}/{parent}" if parent else root


def _listed_inside(listing: Listing, folder: str, root: str, verdicts: dict | None) -> frozenset | None:
    """The folder's names, or ``None`` when (checked, if ``verdicts`` is given) it
    leads outside ``root``."""
    if verdicts is not None and not _leads_inside(folder, root, verdicts):
        return None
    return listing.names(folder)


def _leads_inside(folder: str, root: str, verdicts: dict[str, bool]) -> bool:
    """Whether ``folder`` (below ``root``) stays inside ``root`` through any symbolic
    link: decided by itself or, when it does not exist yet, its nearest existing
    ancestor. Each folder is looked at once."""
    verdict = verdicts.get(folder)
    if verdict is None:
        if folder == root:
            verdict = True
        elif os.path.lexists(folder):
            verdict = inside(os.path.realpath(folder) + "/", root)
        else:
            verdict = _leads_inside(folder.rpartition("/")[0], root, verdicts)
        verdicts[folder] = verdict
    return verdict


def _existing(src: str, dst: str, src_exists: bool, mode: str, earlier_op: str | None) -> Status:
    """The status of a placement whose destination already exists."""
    if not src_exists:
        return Status.DONE if mode == "move" or earlier_op else Status.MISSING
    if earlier_op in ("copy", "reflink", "move") and is_partial_copy(src, dst):
        return Status.REDO
    if mode == "move":
        ours = earlier_op == "move" and same_content(src, dst, "copy")  # a cross-device move cut short
        return Status.FINISH_MOVE if ours else Status.CONFLICT
    if earlier_op == "render" or same_content(src, dst, mode):
        return Status.DONE
    return Status.CONFLICT
