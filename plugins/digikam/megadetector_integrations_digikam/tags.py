"""Hierarchical tags and the four XMP fields digiKam keeps them in.

A tag is a tuple of levels, ``("MegaDetector", "Animal")``. digiKam writes
the same set of tags to every field (its import reads only the first field
that has values: TagsList, then hierarchicalSubject, then dc:subject), so we
do the same:

==================================  =========  ==============================
field                               separator  example
==================================  =========  ==============================
``digiKam:TagsList`` (Seq)          ``/``      ``MegaDetector/Animal``
``lr:hierarchicalSubject`` (Bag)    ``|``      ``MegaDetector|Animal``
``MicrosoftPhoto:LastKeywordXMP``   ``/``      ``MegaDetector/Animal``
``dc:subject`` (Bag)                leaf only  ``Animal``
==================================  =========  ==============================

Which tags are ours: every tag under our root (``MegaDetector``) and the
tags we recorded in ``mdi:AddedTags`` when we wrote them (species tags live
under ``Species``, a root the user may tag by hand too). ``mdi:AddedSubjects``
records the ``dc:subject`` leaves we added. So re-running replaces exactly our
tags and ``--remove`` strips exactly what we added.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Iterable, Sequence

from .xmp import Packet

Tag = tuple[str, ...]

TAGS_LIST = "{http://www.digikam.org/ns/1.0/}TagsList"
HIERARCHICAL = "{http://ns.adobe.com/lightroom/1.0/}hierarchicalSubject"
LAST_KEYWORD = "{http://ns.microsoft.com/photo/1.0/}LastKeywordXMP"
SUBJECT = "{http://purl.org/dc/elements/1.1/}subject"

MDI_NS = "https://pypi.org/project/megadetector-integrations/xmp/1.0/"
ADDED_TAGS = f"{{{MDI_NS}}}AddedTags"
ADDED_SUBJECTS = f"{{{MDI_NS}}}AddedSubjects"

#: (property, list kind, separator) of the path fields, in digiKam's reading order.
PATH_FIELDS = ((TAGS_LIST, "Seq", "/"), (HIERARCHICAL, "Bag", "|"), (LAST_KEYWORD, "Bag", "/"))


def clean_level(name: str) -> str:
    """One level of a tag as digiKam stores it.

    ``/`` and ``|`` separate levels, so inside a name they become ``\\``
    (what digiKam does with a ``/`` when it imports); control characters,
    which XML cannot carry, are dropped; outer spaces are trimmed.
    """
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cc")
    return name.replace("/", "\\").replace("|", "\\").strip()


@functools.lru_cache(maxsize=4096)
def make_tag(*levels: str) -> Tag:
    return tuple(level for level in map(clean_level, levels) if level)


def split_path(text: str, separator: str) -> Tag:
    return tuple(level for level in text.split(separator) if level)


def render(tag: Tag, separator: str) -> str:
    """``tag`` as one field's value; a separator inside a level becomes ``\\`` (as digiKam does)."""
    return separator.join(level.replace(separator, "\\") for level in tag)


def path_tags(packet: Packet) -> list[Tag]:
    """The packet's tags as digiKam would import them (first non-empty field wins)."""
    for prop, _, separator in PATH_FIELDS[:2]:
        values = packet.get_list(prop)
        if values:
            return _unique(split_path(v, separator) for v in values)
    return _unique((s,) for s in packet.get_list(SUBJECT) if s)


def _unique(tags: Iterable[Tag]) -> list[Tag]:
    return list(dict.fromkeys(t for t in tags if t))


def apply_tags(packet: Packet, new: Sequence[Tag], roots: Sequence[str]) -> None:
    """Replace our tags in every field by ``new`` (empty ``new``: remove ours).

    Tags of other roots stay where they are. A field that does not exist yet
    starts with the tags digiKam showed before, so creating it never hides
    the user's tags.
    """
    recorded = {split_path(v, "|") for v in packet.get_list(ADDED_TAGS)}
    recorded_subjects = set(packet.get_list(ADDED_SUBJECTS))

    def ours(tag: Tag) -> bool:
        return tag[0] in roots or tag in recorded

    shown_before = [t for t in path_tags(packet) if not ours(t)]
    kept_tags: set[Tag] = set()
    for prop, kind, separator in PATH_FIELDS:
        existing = [split_path(v, separator) for v in packet.get_list(prop)]
        kept = [t for t in existing if t and not ours(t)] if existing else list(shown_before)
        kept_tags.update(kept)
        merged = _unique([*kept, *new])
        packet.set_list(prop, (render(t, separator) for t in merged), kind)

    subjects = packet.get_list(SUBJECT) or [t[-1] for t in shown_before]
    subjects = [s for s in subjects if s not in recorded_subjects]
    added_subjects = [leaf for leaf in dict.fromkeys(t[-1] for t in new) if leaf not in subjects]
    packet.set_list(SUBJECT, [*subjects, *added_subjects])

    added = [t for t in new if t[0] not in roots and t not in kept_tags]
    packet.set_list(ADDED_TAGS, ("|".join(t) for t in added))
    packet.set_list(ADDED_SUBJECTS, added_subjects)
    packet.prefixes.setdefault(MDI_NS, "mdi")
