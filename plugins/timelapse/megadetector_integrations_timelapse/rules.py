"""Timelapse's reading rules, applied to a results model before it is written.

Each rule avoids one silent trap of Timelapse's importer (timelapse.md
B.10-B.11): category "0" shown as Empty, duplicate or blank names that stop
the import with a question, the AddaxAI warning, thresholds left at Timelapse's
defaults, videos whose boxes are dropped. The host writer already gives a string ``format_version``,
``detections: null`` for failures and no ``null`` classifications.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Optional, Sequence

import attrs

from megadetector_integrations.model import CURRENT_FORMAT_VERSION, NO_EXTRA, Detection, Image, ResultsFile
from megadetector_integrations.progress import progress
from megadetector_integrations.thresholds import (
    detector_thresholds,
    model_version,
    typical_classification_threshold,
)

from .matching import VIDEO_TYPES

#: Written where the results do not say (detector or classifier name, completion time).
UNKNOWN = "unknown"


def _id_order(cid: str):
    return (0, int(cid), "") if cid.isdigit() else (1, 0, cid)


def _name_blanks(categories: Mapping[str, str], word: str, notes: Counter) -> dict:
    """Blank names get ``"<word> <id>"``: Timelapse needs a label for every category."""
    named = {}
    for cid, name in categories.items():
        if not name or not name.strip():
            name = f"{word} {cid}"
            notes[f"blank {word} names filled in"] += 1
        named[cid] = name
    return named


def _merge_duplicates(categories: dict, word: str, notes: Counter) -> tuple[dict, dict]:
    """Categories with the same name become the one with the lowest id, as Timelapse would merge them.

    Returns the remaining categories and the map of merged-away id → kept id.
    """
    kept_for: dict = {}
    moved: dict = {}
    for cid in sorted(categories, key=_id_order):
        name = categories[cid]
        if name in kept_for:
            moved[cid] = kept_for[name]
            notes[f"duplicate {word} names merged"] += 1
        else:
            kept_for[name] = cid
    return {cid: name for cid, name in categories.items() if cid not in moved}, moved


@attrs.frozen(slots=True)
class CategoryPlan:
    """The categories to write and how old ids map onto them (only changed ids)."""

    detection_categories: dict
    classification_categories: Optional[dict]
    descriptions: Optional[dict]
    detection_map: dict
    classification_map: dict


def plan_categories(rf: ResultsFile, notes: Counter) -> CategoryPlan:
    det = _name_blanks(rf.detection_categories, "category", notes)
    det, det_map = _merge_duplicates(det, "detection category", notes)
    if "0" in det:  # Timelapse's Empty category: move ours to a free id
        new = str(max((int(c) for c in det if c.isdigit()), default=0) + 1)
        det[new] = det.pop("0")
        det_map = {old: (new if kept == "0" else kept) for old, kept in det_map.items()}
        det_map["0"] = new
        notes[f"detection category '0' renumbered to '{new}'"] += 1
    if rf.classification_categories is None:
        return CategoryPlan(det, None, None, det_map, {})
    cls, descriptions, cls_map = _plan_classifications(rf, set(det.values()), notes)
    return CategoryPlan(det, cls, descriptions, det_map, cls_map)


def _plan_classifications(rf: ResultsFile, detection_names: set, notes: Counter) -> tuple[dict, Optional[dict], dict]:
    """Classification categories, their descriptions, and the map of changed ids."""
    cls = _name_blanks(rf.classification_categories, "class", notes)
    cls, cls_map = _merge_duplicates(cls, "classification", notes)
    descriptions = _merged_descriptions(rf.classification_category_descriptions, cls_map)
    swap = _addaxai_swap(cls, detection_names, notes)
    if swap:
        a, b = swap
        cls[a], cls[b] = cls[b], cls[a]
        if descriptions is not None:
            da, db = descriptions.pop(a, None), descriptions.pop(b, None)
            descriptions.update({k: v for k, v in ((a, db), (b, da)) if v is not None})
        cls_map = {old: swap_id(kept, a, b) for old, kept in cls_map.items()}
        for cid in (a, b):
            cls_map.setdefault(cid, swap_id(cid, a, b))
    return cls, descriptions, cls_map


def swap_id(cid: str, a: str, b: str) -> str:
    return b if cid == a else a if cid == b else cid


def _merged_descriptions(descriptions: Optional[Mapping[str, str]], moved: dict) -> Optional[dict]:
    """Descriptions of the kept ids; a merged-away id lends its text when the kept one has none."""
    if descriptions is None:
        return None
    out = {cid: text for cid, text in descriptions.items() if cid not in moved}
    for old, kept in moved.items():
        if not out.get(kept) and descriptions.get(old):
            out[kept] = descriptions[old]
    return out


def _addaxai_swap(cls: dict, detection_names: set, notes: Counter) -> Optional[tuple[str, str]]:
    """Timelapse warns "made by AddaxAI outside Timelapse?" when the classification with the
    lowest id (compared as text) is named like a detection category. Give that id to a class
    with another name (swap two ids); if every class clashes, rename the first instead."""
    if not cls:
        return None
    first = min(cls)
    if cls[first] not in detection_names:
        return None
    other = next((cid for cid in sorted(cls) if cls[cid] not in detection_names), None)
    if other is None:
        cls[first] = f"{cls[first]} (classification)"
        notes["classification renamed (same name as a detection category)"] += 1
        return None
    notes["classification ids swapped (lowest id named like a detection category)"] += 1
    return first, other


def timelapse_info(rf: ResultsFile):
    """A full ``info``: detector, thresholds Timelapse starts its selections with, classifier."""
    info = rf.info
    typical, conservative = detector_thresholds(info)
    metadata = dict(info.detector_metadata or {})
    if not metadata.get("megadetector_version"):
        metadata["megadetector_version"] = model_version(info.detector) or "vUnknown"
    metadata["typical_detection_threshold"] = typical
    metadata["conservative_detection_threshold"] = conservative
    changes = dict(
        format_version=CURRENT_FORMAT_VERSION,
        detector=info.detector or UNKNOWN,
        detection_completion_time=info.detection_completion_time or UNKNOWN,
        detector_metadata=metadata,
    )
    if rf.classification_categories:
        changes.update(
            classifier=info.classifier or UNKNOWN,
            classification_completion_time=info.classification_completion_time or UNKNOWN,
            classifier_metadata={
                **(info.classifier_metadata or {}),
                "typical_classification_threshold": typical_classification_threshold(info),
            },
        )
    return attrs.evolve(info, **changes)


def _remap_detection(d: Detection, plan: CategoryPlan) -> Detection:
    category = plan.detection_map.get(d.category, d.category)
    classifications = d.classifications
    if classifications and plan.classification_map:
        cmap, seen, pairs = plan.classification_map, set(), []
        for cid, conf in classifications:  # best first: a merged id keeps its best score
            cid = cmap.get(cid, cid)
            if cid not in seen:
                seen.add(cid)
                pairs.append((cid, conf))
        classifications = tuple(pairs)
    if category == d.category and classifications is d.classifications:
        return d
    return d.replace(category=category, classifications=classifications)


def _video_fixes(im: Image, dets: tuple, frame_rate: Optional[float], notes: Counter,
                 no_rate: list) -> tuple[tuple, dict]:
    """Frame rate, a frame number on every box, and ``frames_processed`` for one video."""
    extra = dict(im.extra)
    rate = extra.get("frame_rate")
    if not (isinstance(rate, (int, float)) and rate > 0):
        if frame_rate is None:
            no_rate.append(im.file)
        else:
            extra["frame_rate"] = frame_rate
            notes["videos given --video-frame-rate"] += 1
    frames = extra.get("frames_processed")
    default_frame = frames[0] if isinstance(frames, list) and len(frames) == 1 else 0
    fixed = []
    for d in dets:
        if d.frame_number is None:
            d = d.replace(extra={**d.extra, "frame_number": default_frame})
            notes["video detections given a frame_number"] += 1
        fixed.append(d)
    if frames is None:
        extra["frames_processed"] = sorted({d.frame_number for d in fixed})
        notes["videos given frames_processed (the frames with boxes)"] += 1
    return tuple(fixed), extra


@attrs.frozen(slots=True)
class Conformed:
    results: ResultsFile
    notes: Counter
    videos_without_frame_rate: list


#: Entries handled between two progress-bar updates.
CHUNK = 20_000


@attrs.frozen(slots=True)
class _Context:
    """What the careful path of ``conform`` needs for each entry."""

    plan: CategoryPlan
    remap: bool
    frame_rate: Optional[float]
    notes: Counter
    no_rate: list


def _conform_image(im: Image, target: str, video: bool, ctx: _Context) -> Image:
    """The careful path: failure form, category ids, video fields."""
    dets, failure, extra = im.detections, im.failure, im.extra
    if failure is not None:
        dets = None  # Timelapse: "detections": null means not processed
    elif dets is None:
        failure = "no detections recorded"
        ctx.notes["entries without detections marked as failed"] += 1
    if dets and ctx.remap:
        dets = tuple(_remap_detection(d, ctx.plan) for d in dets)
    if video and failure is None:
        dets, extra = _video_fixes(im, dets, ctx.frame_rate, ctx.notes, ctx.no_rate)
    return Image(target, dets, failure, extra)


def conform(rf: ResultsFile, targets: Sequence[Optional[str]], frame_rate: Optional[float] = None,
            maybe_videos: bool = True) -> Conformed:
    """``rf`` as Timelapse should read it: entries moved to ``targets`` (None: left out).

    Most entries only change path; they take a fast path. ``maybe_videos=False``
    (no video among the targets) spares the extension test.
    """
    notes: Counter = Counter()
    plan = plan_categories(rf, notes)
    ctx = _Context(plan, bool(plan.detection_map or plan.classification_map), frame_rate, notes, [])
    fast = not ctx.remap
    images: list = []
    append = images.append
    all_images = rf.images
    for start in progress(range(0, len(targets), CHUNK), total=-(-len(targets) // CHUNK),
                          desc="Timelapse rules", unit="chunk"):
        for im, target in zip(all_images[start:start + CHUNK], targets[start:start + CHUNK]):
            if target is None:
                continue
            extra = im.extra
            video = (maybe_videos and target[-4:].lower() in VIDEO_TYPES) or (
                extra is not NO_EXTRA and extra.get("frame_rate") is not None)
            if fast and not video and (im.detections is None) is (im.failure is not None):
                append(im if im.file == target else Image(target, im.detections, im.failure, extra))
            else:
                append(_conform_image(im, target, video, ctx))
    results = attrs.evolve(
        rf,
        images=tuple(images),
        info=timelapse_info(rf),
        detection_categories=plan.detection_categories,
        classification_categories=plan.classification_categories,
        classification_category_descriptions=plan.descriptions,
    )
    return Conformed(results, notes, ctx.no_rate)
