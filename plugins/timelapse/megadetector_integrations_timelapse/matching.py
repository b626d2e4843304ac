"""Matching results paths to the files under a Timelapse root.

Timelapse looks each ``file`` up relative to its root folder (the one holding
the ``.tdb``), case-insensitively per file but case-sensitively per folder.
So we scan the root once, index every file Timelapse can hold by its relative
path lower-cased, and find the one prefix change (strip some leading folders,
add others) that makes the most results paths land on real files. Resolved
paths take the on-disk spelling, which satisfies both of Timelapse's checks.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Optional, Sequence

import attrs

#: What a Timelapse image set holds (B.5): everything else can never match.
IMAGE_TYPES = frozenset((".jpg", ".jpeg"))
VIDEO_TYPES = frozenset((".avi", ".asf", ".mp4", ".mov"))
TIMELAPSE_TYPES = IMAGE_TYPES | VIDEO_TYPES

#: How many results paths vote on the prefix; the winner is then applied to all.
SAMPLE_SIZE = 2000
#: File-only paths ("IMG_0001.JPG") are tried against every folder: cap their cost.
FLAT_SAMPLE_SIZE = 200


def extension(path: str) -> str:
    dot = path.rfind(".")
    return path[dot:].lower() if dot > path.rfind("/") else ""


def is_timelapse_video(path: str) -> bool:
    return extension(path) in VIDEO_TYPES


def normalize(file: str) -> str:
    """Forward slashes, no repeated slashes, no leading ``./``: the form we compare.

    Drive letters and leading ``/`` stay: they are ordinary prefix to strip.
    """
    file = file.replace("\\", "/")
    while "//" in file:
        file = file.replace("//", "/")
    while file.startswith("./"):
        file = file[2:]
    return file


def folder_prefix(text: Optional[str]) -> str:
    """A user's ``--prefix-strip`` / ``--prefix-add`` as a normalized folder prefix ('' or 'a/b/')."""
    text = normalize(text or "").strip()
    return text if not text or text.endswith("/") else text + "/"


@attrs.frozen(slots=True)
class Tree:
    """The Timelapse-readable files under a root, indexed for matching.

    ``files`` maps lower-cased relative paths ('/' separators) to their spelling
    on disk, ``folders`` lower-cased folder prefixes ('' for the root, else
    ending in '/') likewise; ``folders_holding`` maps a lower-cased folder name
    to the folders that contain a folder of that name.
    """

    root: Path
    files: dict
    folders: dict
    folders_holding: dict
    unreadable: tuple = ()
    case_clashes: int = 0


def scan(root: Path) -> Tree:
    """Walk ``root`` once with ``os.scandir``; folder symlinks are not followed (no loops)."""
    files: dict = {}
    folders: dict = {"": ""}
    holding: dict = {}
    unreadable: list = []
    clashes = 0
    types = TIMELAPSE_TYPES
    pending = [(str(root), "", "")]
    while pending:
        path, rel, rel_lower = pending.pop()
        try:
            entries = os.scandir(path)
        except OSError as exc:
            unreadable.append(f"{rel or '.'}: {exc.strerror}")
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if entry.is_dir(follow_symlinks=False):
                    lower = name.lower()
                    holding.setdefault(lower, []).append(rel_lower)
                    sub, sub_lower = rel + name + "/", rel_lower + lower + "/"
                    folders[sub_lower] = sub
                    pending.append((entry.path, sub, sub_lower))
                    continue
                dot = name.rfind(".")
                if dot < 0 or name[dot:].lower() not in types:
                    continue
                key = rel_lower + name.lower()
                if key in files:
                    clashes += 1  # only on case-sensitive disks; Timelapse could not hold both
                    continue
                files[key] = rel + name
    return Tree(root, files, folders, holding, tuple(unreadable), clashes)


@attrs.frozen(slots=True)
class Prefix:
    """Strip ``strip`` (lower-cased, '' or ending in '/') and put ``add`` in front."""

    strip: str = ""
    add: str = ""

    def describe(self) -> str:
        if not self.strip and not self.add:
            return "paths used as they are"
        parts = [f"strip '{self.strip}'"] if self.strip else []
        parts += [f"add '{self.add}'"] if self.add else []
        return " and ".join(parts)

    def apply_keeping_case(self, path: str) -> Optional[str]:
        """Like ``apply`` on a normalized path in its own spelling (for entries not on disk)."""
        if self.strip:
            if not path.lower().startswith(self.strip):
                return None
            n = self.strip.count("/")
            path = path.split("/", n)[n]
        return self.add + path


def _sample(items: Sequence, size: int) -> Sequence:
    step = max(1, len(items) // size)
    return items[::step]


def _prefix_votes(lower_paths: Sequence[str], tree: Tree) -> Counter:
    """For each sampled path, every (strip, add) that makes it land on a file."""
    files, holding = tree.files, tree.folders_holding
    votes: Counter = Counter()
    flat_budget = FLAT_SAMPLE_SIZE
    for path in _sample(lower_paths, SAMPLE_SIZE):
        cut = 0
        while True:
            rest = path[cut:]
            first, sep, _ = rest.partition("/")
            if sep:
                adds: Iterable[str] = holding.get(first, ())
            elif flat_budget > 0:  # a bare file name: any folder may hold it
                flat_budget -= 1
                adds = tree.folders
            else:
                adds = ()
            strip = path[:cut]
            for add in adds:
                if add + rest in files:
                    votes[(strip, add)] += 1
            if not sep:
                break
            cut += len(first) + 1
    return votes


def detect_prefix(lower_paths: Sequence[str], tree: Tree) -> Prefix:
    """The prefix change most sampled paths agree on; ties go to the smallest change.

    Each sampled path tries every strip of its leading folders; the folders
    that could go in front are only those holding the first remaining folder,
    so the work is small whatever the size of the tree.
    """
    votes = _prefix_votes(lower_paths, tree)
    if not votes:
        return Prefix()
    (strip, add), _ = min(votes.items(), key=lambda kv: (-kv[1], len(kv[0][0]) + len(kv[0][1]), kv[0]))
    return Prefix(strip, tree.folders[add])


@attrs.frozen(slots=True)
class Resolution:
    """Where each results entry lands: its on-disk relative path, or None."""

    prefix: Prefix
    targets: list
    matched: int

    @property
    def share(self) -> float:
        return self.matched / len(self.targets) if self.targets else 1.0


def resolve(files: Sequence[str], tree: Tree, prefix: Optional[Prefix] = None) -> Resolution:
    """Resolve every results path; detect the prefix first unless one is given."""
    lower_paths = [normalize(f).lower() for f in files]
    if prefix is None:
        prefix = detect_prefix(lower_paths, tree)
    index = tree.files
    strip, n_strip, add = prefix.strip, len(prefix.strip), prefix.add.lower()
    targets = []
    append = targets.append
    for p in lower_paths:
        if strip:
            if not p.startswith(strip):
                append(None)
                continue
            p = p[n_strip:]
        append(index.get(add + p if add else p))
    matched = len(targets) - targets.count(None)
    return Resolution(prefix, targets, matched)
