"""Default confidence thresholds, chosen the way MegaDetector's tools choose them.

1. ``info.detector_metadata.typical_detection_threshold`` when present;
2. else 0.2 when ``info.detector`` is missing;
3. else the model version guessed from the detector's file name (table below);
4. else 0.2.
"""

from __future__ import annotations

from typing import Optional

from .model import Info

FALLBACK_DETECTION_THRESHOLD = 0.2
FALLBACK_CLASSIFICATION_THRESHOLD = 0.5

#: Model version → (typical, conservative) thresholds, from MegaDetector's
#: ``run_detector.known_models`` (10.0.28). ``None``: the model has no value.
KNOWN_MODELS: dict[str, tuple[Optional[float], Optional[float]]] = {
    "v2.0.0": (0.8, 0.3),
    "v3.0.0": (0.8, 0.3),
    "v4.1.0": (0.8, 0.3),
    "v5a.0.1": (0.2, 0.05),
    "v5b.0.1": (0.2, 0.05),
    "v1000.0.0-redwood": (0.3, None),
    "v1000.0.0-spruce": (None, None),
    "v1000.0.0-larch": (None, None),
    "v1000.0.0-cedar": (None, None),
    "v1000.0.0-sorrel": (None, None),
}
#: Thresholds MegaDetector writes for a detector whose version it cannot tell.
UNKNOWN_MODEL = (0.2, 0.1)

# Substrings of a detector file name → model version, most specific first.
_NAME_HINTS = (
    ("redwood", "v1000.0.0-redwood"), ("spruce", "v1000.0.0-spruce"),
    ("larch", "v1000.0.0-larch"), ("cedar", "v1000.0.0-cedar"), ("sorrel", "v1000.0.0-sorrel"),
    ("v5a", "v5a.0.1"), ("v5b", "v5b.0.1"), ("v4.1", "v4.1.0"), ("v3", "v3.0.0"), ("v2", "v2.0.0"),
)


def model_version(detector: Optional[str]) -> Optional[str]:
    """The model version a detector file name points to (``md_v5a.0.0.pt`` → ``v5a.0.1``)."""
    if not detector:
        return None
    name = detector.lower()
    return next((version for hint, version in _NAME_HINTS if hint in name), None)


def _metadata_value(info: Info, key: str) -> Optional[float]:
    value = (info.detector_metadata or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def typical_detection_threshold(info: Info) -> float:
    """The threshold to use when the user gives none (see the module docstring)."""
    value = _metadata_value(info, "typical_detection_threshold")
    if value is not None:
        return value
    version = model_version(info.detector)
    typical = KNOWN_MODELS.get(version, (None, None))[0] if version else None
    return FALLBACK_DETECTION_THRESHOLD if typical is None else typical


def detector_thresholds(info: Info) -> tuple[float, float]:
    """``(typical, conservative)`` for writing into ``detector_metadata``."""
    typical = _metadata_value(info, "typical_detection_threshold")
    conservative = _metadata_value(info, "conservative_detection_threshold")
    version = model_version(info.detector)
    known = KNOWN_MODELS.get(version, UNKNOWN_MODEL) if version else UNKNOWN_MODEL
    typical = typical if typical is not None else (known[0] if known[0] is not None else UNKNOWN_MODEL[0])
    if conservative is None:
        conservative = known[1] if known[1] is not None else min(UNKNOWN_MODEL[1], typical)
    return typical, conservative


def typical_classification_threshold(info: Info) -> float:
    value = (info.classifier_metadata or {}).get("typical_classification_threshold")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return FALLBACK_CLASSIFICATION_THRESHOLD
