"""Which folder an image belongs in: the rules of MegaDetector's
``separate_detections_into_folders.py``, as pure functions (no file access).

- ``processing_failure``: the image failed (no detections list);
- ``empty``: no category reaches its threshold;
- one category: ``animals``, ``people``, ``vehicles`` (other names unchanged);
- several: the raw names sorted and ``_``-joined (``animal_person``);
- with species thresholds, ``animals`` splits into ``animals/<species>``,
  ``animals/multiple`` and ``animals/unclassified``.

A category is present when its highest confidence is >= its threshold; a
species when a classification's confidence is > its threshold.
Deliberate differences from that tool are listed in the README.
"""

from __future__ import annotations

from typing import Mapping

import attrs

EMPTY = "empty"
FAILURE = "processing_failure"
MULTIPLE = "multiple"
UNCLASSIFIED = "unclassified"
FRIENDLY_NAMES = {"animal": "animals", "person": "people", "vehicle": "vehicles"}


def folder_name_problem(name: str) -> str | None:
    """Why ``name`` (a category or species) cannot be one folder name, or ``None``."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        return "cannot be a folder name"
    return None


@attrs.frozen
class Thresholds:
    """Confidence thresholds: per detection category name, and per species."""

    default: float
    categories: Mapping[str, float] = attrs.field(factory=dict)
    species: Mapping[str, float] = attrs.field(factory=dict)
    unlisted_species: float = 0.5

    def category(self, name: str) -> float:
        return self.categories.get(name, self.default)


class FolderRules:
    """Folder assignment for one results file: lookups computed once, then
    ``folder(image)`` per image (called 20,000 times a second and more)."""

    def __init__(self, detection_categories: Mapping[str, str],
                 classification_categories: Mapping[str, str] | None, thresholds: Thresholds):
        self.thresholds = thresholds
        self.name_of = dict(detection_categories)
        self.threshold_of = {name: thresholds.category(name) for name in self.name_of.values()}
        self.class_name_of = dict(classification_categories or {})
        self.animal_ids = frozenset(k for k, v in self.name_of.items() if v == "animal")
        #: category id → (name, threshold): one lookup per detection
        self.rule_of = {cid: (name, self.threshold_of[name]) for cid, name in self.name_of.items()}
        self.unknown_ids: set[str] = set()  # category ids met but not declared: skipped

    def categories_present(self, detections) -> list[str]:
        """Sorted names of the categories whose best confidence reaches their threshold
        (that is, with any detection at or above it)."""
        present = set()
        for d in detections:
            rule = self.rule_of.get(d.category)
            if rule is None:
                self.unknown_ids.add(d.category)
            elif d.conf >= rule[1]:
                present.add(rule[0])
        return sorted(present)

    def species_folder(self, detections) -> str:
        """``<species>``, ``multiple`` or ``unclassified`` for an animals-only image."""
        listed: set[str] = set()
        unlisted: set[str] = set()
        species = self.thresholds.species
        animal_threshold = self.threshold_of.get("animal", self.thresholds.default)
        for d in detections:
            if d.category not in self.animal_ids or d.conf < animal_threshold:
                continue
            for class_id, conf in d.classifications or ():
                name = self.class_name_of.get(class_id, class_id)
                if name in species:
                    if conf > species[name]:
                        listed.add(name)
                elif conf > self.thresholds.unlisted_species:
                    unlisted.add(name)
        if not listed:
            return UNCLASSIFIED
        if len(listed) > 1 or unlisted:
            return MULTIPLE
        return next(iter(listed))

    def folder(self, image) -> str:
        """The folder (relative to the output root, ``/``-separated) for ``image``."""
        detections = image.detections
        if detections is None:
            return FAILURE
        present = self.categories_present(detections) if detections else ()
        if not present:
            return EMPTY
        if len(present) > 1:
            return "_".join(present)
        name = present[0]
        folder = FRIENDLY_NAMES.get(name, name)
        if name == "animal" and self.thresholds.species:
            return f"{folder}/{self.species_folder(detections)}"
        return folder
