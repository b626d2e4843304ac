"""The results-file model: frozen value classes.

One class per level of a MegaDetector results file. Every class has an
``extra`` mapping that holds the fields it does not know, so a load → write
round trip never loses a user's data.

``Image`` and ``Detection`` come by the million, so they are msgspec
structs: msgspec decodes JSON straight into them (checking types and ranges
in C, refusing unknown fields so those take the careful path) and encodes
them straight back, twice as fast as attrs classes would allow (measured:
README, "Dependencies, and why"). The file-level classes are attrs classes.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any, Mapping, Optional

import attrs
import msgspec

#: A number in [0, 1]: confidences and normalized box coordinates.
Unit = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]

#: The shared, read-only default for ``extra``.
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})

#: Unknown fields are filled in by our own conversion only: the JSON key is
#: private and the constraint unsatisfiable, so any input that names it
#: fails the fast decode and takes the careful path (where it is kept as an
#: unknown field like any other).
EXTRA_KEY = "__mdi_extra__"
_Extra = Annotated[Mapping[str, Any], msgspec.Meta(min_length=1, max_length=0)]

CURRENT_FORMAT_VERSION = "1.6"

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .avi .mov .mkv .wmv .m4v .mpg .mpeg .mts .asf .flv .3gp .webm".split()
)


def is_video(path: str) -> bool:
    """True when ``path`` has a video file extension (as MegaDetector decides)."""
    dot = path.rfind(".")
    return dot >= 0 and path[dot:].lower() in VIDEO_EXTENSIONS


class _Bulk(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True, omit_defaults=True,
            repr_omit_defaults=True):
    """Settings shared by the per-image classes. ``gc=False``: they hold only
    JSON-like values, never cycles, and the collector need not walk millions."""

    def replace(self, **changes):
        """A copy with some fields changed (like ``attrs.evolve``)."""
        return msgspec.structs.replace(self, **changes)

class Detection(_Bulk):
    """One box: category id, confidence, normalized ``[x, y, width, height]``.

    Rarer fields (``frame_number`` of videos, ``raw_classifications``, anything
    unknown) live in ``extra``; the most used have read-only properties.
    """

    category: str
    conf: Unit
    bbox: tuple[Unit, Unit, Unit, Unit]
    #: ``(class_id, conf)`` pairs, best first.
    classifications: Optional[tuple[tuple[str, Unit], ...]] = None
    extra: _Extra = msgspec.field(default=NO_EXTRA, name=EXTRA_KEY)

    @property
    def frame_number(self) -> Optional[int]:
        """Videos only: the frame this box was found in."""
        return self.extra.get("frame_number")

    @property
    def area(self) -> float:
        return self.bbox[2] * self.bbox[3]


class Image(_Bulk):
    """One image or video: its path and either detections or a failure.

    Video fields (``frame_rate``, ``frames_processed``), old files'
    ``max_detection_conf`` (recomputed on write, never trusted) and unknown
    fields live in ``extra``, so the common case stays small and fast.
    """

    file: str
    #: ``None`` exactly when the image failed (see ``failure``); always given,
    #: as the format always writes it.
    detections: Optional[tuple[Detection, ...]]
    failure: Optional[str] = None
    extra: _Extra = msgspec.field(default=NO_EXTRA, name=EXTRA_KEY)

    @property
    def failed(self) -> bool:
        return self.failure is not None

    @property
    def frame_rate(self) -> Optional[float]:
        return self.extra.get("frame_rate")

    @property
    def frames_processed(self) -> Optional[list]:
        return self.extra.get("frames_processed")

    def max_conf(self, category: str | None = None) -> float:
        """Highest confidence (of one category, if given); 0.0 when none."""
        best = 0.0
        for d in self.detections or ():
            if d.conf > best and (category is None or d.category == category):
                best = d.conf
        return best


@attrs.frozen(slots=True)
class Info:
    """The ``info`` block. ``detector_metadata`` carries default thresholds."""

    format_version: str = CURRENT_FORMAT_VERSION
    detector: Optional[str] = None
    detection_completion_time: Optional[str] = None
    classifier: Optional[str] = None
    classification_completion_time: Optional[str] = None
    detector_metadata: Optional[Mapping[str, Any]] = None
    classifier_metadata: Optional[Mapping[str, Any]] = None
    summary_report: Optional[str] = None
    extra: Mapping[str, Any] = NO_EXTRA


DEFAULT_DETECTION_CATEGORIES: Mapping[str, str] = MappingProxyType(
    {"1": "animal", "2": "person", "3": "vehicle"}
)


@attrs.frozen(slots=True)
class ResultsFile:
    """A whole results file. Images keep their order from the input."""

    images: tuple[Image, ...] = ()
    info: Info = Info()
    detection_categories: Mapping[str, str] = DEFAULT_DETECTION_CATEGORIES
    classification_categories: Optional[Mapping[str, str]] = None
    classification_category_descriptions: Optional[Mapping[str, str]] = None
    extra: Mapping[str, Any] = NO_EXTRA

    def category_ids(self, name: str) -> frozenset[str]:
        """Ids of the detection categories called ``name`` (names may repeat)."""
        return frozenset(k for k, v in self.detection_categories.items() if v == name)

    def classification_name(self, class_id: str) -> str:
        return (self.classification_categories or {}).get(class_id, class_id)

    def with_images(self, images) -> "ResultsFile":
        """A copy holding ``images`` instead (the common filter step)."""
        return attrs.evolve(self, images=tuple(images))
