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
VIDEO_TYPES = frozenset((".avi", ".asf", ".mp4", ".mov"))  # all 4 characters: rules.py relies on it
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


def _joined_keys(files: Sequence[str]) -> Optional[str]:
    """All paths normalized and lower-cased, each after a newline, as one string
    (None when a path holds a newline). String operations on one joined string
    run in C: many times faster than a loop over a million paths."""
    joined = "\n" + "\n".join(files)
    if joined.count("\n") != len(files):
        return None
    joined = joined.replace("\\", "/")
    while "//" in joined:
        joined = joined.replace("//", "/")
    while "\n./" in joined:
        joined = joined.replace("\n./", "\n")
    return joined.lower()


def normalize_all(files: Sequence[str]) -> list[str]:
    """``normalize(f).lower()`` for every path."""
    joined = _joined_keys(files) if files else None
    return joined.split("\n")[1:] if joined is not None else [normalize(f).lower() for f in files]


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
    has_videos: bool = True


def scan(root: Path) -> Tree:
    """Walk ``root`` once with ``os.scandir``; folder symlinks are not followed (no loops)."""
    files: dict = {}
    folders: dict = {"": ""}
    holding: dict = {}
    unreadable: list = []
    seen = 0
    has_videos = False
    types = tuple(TIMELAPSE_TYPES)
    pending = [(str(root), "", "")]
    while pending:
        path, rel, rel_lower = pending.pop()
        names = []
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        name, lower = entry.name, entry.name.lower()
                        holding.setdefault(lower, []).append(rel_lower)
                        sub, sub_lower = rel + name + "/", rel_lower + lower + "/"
                        folders[sub_lower] = sub
                        pending.append((entry.path, sub, sub_lower))
                    else:
                        names.append(entry.name)
        except OSError as exc:
            unreadable.append(f"{rel or '.'}: {exc.strerror}")
            continue
        # One lower() per folder, on the joined names: the loop body is what costs.
        joined = rel_lower + ("\n" + rel_lower).join(names).lower() + "\n"
        keys = joined.split("\n")[:-1]
        if len(keys) != len(names):  # a name holding a newline
            keys = [rel_lower + n.lower() for n in names]
        has_videos = has_videos or any(ext + "\n" in joined for ext in VIDEO_TYPES)
        found = [(k, rel + n) for n, k in zip(names, keys) if k.endswith(types)]
        seen += len(found)
        files.update(found)
    # Names differing only in case can share a folder on case-sensitive disks
    # only; Timelapse (Windows) could not hold both, so one is kept.
    return Tree(root, files, folders, holding, tuple(unreadable), seen - len(files), has_videos)


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
        """The root-relative path for a normalized path, keeping its spelling (for entries
        not on disk); None when the path does not start with ``strip``."""
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
            elif cut == 0 and flat_budget > 0:  # a bare file name: any folder may hold it
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
    #: No two entries land on the same lower-cased path.
    distinct: bool = True

    @property
    def share(self) -> float:
        return self.matched / len(self.targets) if self.targets else 1.0


def _index_keys(files: Sequence[str], prefix: Prefix) -> list[str]:
    """The index key each path resolves to with ``prefix`` ("\0..." when it lacks the strip part)."""
    joined = _joined_keys(files)
    if joined is None:
        keys = [normalize(f).lower() for f in files]
        return [prefix.add.lower() + k[len(prefix.strip):] if k.startswith(prefix.strip) else "\0" for k in keys]
    add = prefix.add.lower()
    if prefix.strip:  # mark every entry, then unmark (and re-prefix) those that start with the strip part
        joined = joined.replace("\n", "\n\0").replace("\n\0" + prefix.strip, "\n" + add)
    elif add:
        joined = joined.replace("\n", "\n" + add)
    return joined.split("\n")[1:]


def resolve(files: Sequence[str], tree: Tree, prefix: Optional[Prefix] = None) -> Resolution:
    """Resolve every results path; detect the prefix first (from a sample) unless one is given."""
    if not files:
        return Resolution(prefix or Prefix(), [], 0)
    if prefix is None:
        prefix = detect_prefix(normalize_all(_sample(files, SAMPLE_SIZE)), tree)
    keys = _index_keys(files, prefix)
    targets = list(map(tree.files.get, keys))
    distinct = len(set(keys)) == len(keys)  # cheap: the lookups cached each key's hash
    return Resolution(prefix, targets, len(targets) - targets.count(None), distinct)
