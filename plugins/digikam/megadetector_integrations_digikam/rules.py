"""Which tags an image gets: detections over thresholds, species, bands, review."""

from __future__ import annotations

from typing import Mapping, Optional

import attrs

from .tags import Tag, make_tag

#: How MegaDetector's category names appear as tags (others: first letter upper-cased).
CATEGORY_LABELS = {"animal": "Animal", "person": "Person", "vehicle": "Vehicle"}
BAND_NAMES = ("low", "medium", "high")


def category_label(name: str) -> str:
    return CATEGORY_LABELS.get(name, name[:1].upper() + name[1:])


@attrs.frozen
class TagRules:
    """Everything needed to turn one results image into its tags.

    ``thresholds`` maps category id → minimum confidence (a detection counts
    when ``conf >= threshold``); ``bands`` are the two edges between low,
    medium and high; ``review`` is ``[low, high)``.
    """

    root: str
    labels: Mapping[str, str]
    thresholds: Mapping[str, float]
    species_root: Optional[str] = None
    class_names: Mapping[str, str] = {}
    classification_threshold: float = 0.5
    bands: Optional[tuple[float, float]] = None
    review: Optional[tuple[float, float]] = None

    def tags_for(self, image) -> tuple[Tag, ...]:
        if image.failed:
            return (make_tag(self.root, "Failure"),)
        detections = image.detections or ()
        counted = [d for d in detections if d.conf >= self.thresholds.get(d.category, 1.01)]
        best: dict[str, float] = {}
        for d in counted:
            best[d.category] = max(d.conf, best.get(d.category, 0.0))
        tags = [self._category_tag(cat, conf) for cat, conf in sorted(best.items(), key=self._order)]
        if not counted:
            tags.append(make_tag(self.root, "Empty"))
        if self.review and any(self.review[0] <= d.conf < self.review[1] for d in detections):
            tags.append(make_tag(self.root, "Review"))
        tags += self._species_tags(counted)
        return tuple(dict.fromkeys(t for t in tags if len(t) > 1))

    def _order(self, item: tuple[str, float]) -> tuple[str, str]:
        return (self.labels.get(item[0], item[0]), item[0])

    def _category_tag(self, category: str, conf: float) -> Tag:
        label = self.labels.get(category, category)
        if self.bands is None:
            return make_tag(self.root, label)
        band = BAND_NAMES[(conf >= self.bands[0]) + (conf >= self.bands[1])]
        return make_tag(self.root, label, band)

    def _species_tags(self, counted) -> list[Tag]:
        if not self.species_root:
            return []
        names = []
        for d in counted:
            if d.classifications:
                class_id, conf = max(d.classifications, key=lambda pair: pair[1])
                if conf >= self.classification_threshold:
                    names.append(self.class_names.get(class_id, class_id))
        return [make_tag(self.species_root, name) for name in sorted(set(names))]
