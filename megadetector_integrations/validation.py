"""Validation of results files, with one precise message per problem.

Two layers: ``structural_problems`` checks plain parsed JSON (types, required
keys, ranges) so it can be turned into the model safely; ``semantic_problems``
checks a model (undefined categories, duplicates, failures, unsafe paths,
video rules). Loading runs both; ``mdi validate`` prints what they find.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from .errors import Problem
from .model import ResultsFile, is_video
from .paths import path_problem

_NUMBER = (int, float)


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def image_where(index: int, file: Any) -> str:
    return f"images[{index}] {file!r}" if isinstance(file, str) else f"images[{index}]"


def _is_unit(x: Any) -> bool:
    return isinstance(x, _NUMBER) and not isinstance(x, bool) and 0.0 <= x <= 1.0


def _categories_problems(doc: Mapping, key: str, required: bool) -> Iterable[Problem]:
    if key not in doc:
        if required:
            yield Problem(key, "required key missing")
        return
    cats = doc[key]
    if cats is None and not required:
        return
    if not isinstance(cats, dict):
        yield Problem(key, f"expected an object mapping id strings to names, got {_show(cats)}")
        return
    for cid, name in cats.items():
        if not cid.isdigit():
            yield Problem(f"{key}[{cid!r}]", "category ids must be non-negative integers written as strings")
        if not isinstance(name, str) or not name.strip():
            yield Problem(f"{key}[{cid!r}]", f"expected a non-blank name, got {_show(name)}")


def _detection_problems(where: str, det: Any) -> Iterable[Problem]:
    if not isinstance(det, dict):
        yield Problem(where, f"expected an object, got {_show(det)}")
        return
    for key in ("category", "conf", "bbox"):
        if key not in det:
            yield Problem(f"{where}.{key}", "required key missing")
    cat = det.get("category")
    if "category" in det and not isinstance(cat, str):
        yield Problem(f"{where}.category", f"expected a category id string, got {_show(cat)}")
    if "conf" in det and not _is_unit(det["conf"]):
        yield Problem(f"{where}.conf", f"expected a number in [0, 1], got {_show(det['conf'])}")
    bbox = det.get("bbox")
    if "bbox" in det and not (
        isinstance(bbox, list) and len(bbox) == 4 and all(map(_is_unit, bbox))
    ):
        yield Problem(f"{where}.bbox", f"expected 4 numbers in [0, 1], got {_show(bbox)}")
    for key in ("classifications",):
        pairs = det.get(key)
        if pairs is None:
            continue
        if not isinstance(pairs, list):
            yield Problem(f"{where}.{key}", f"expected a list of [class_id, conf] pairs, got {_show(pairs)}")
            continue
        for j, pair in enumerate(pairs):
            if not (
                isinstance(pair, list) and len(pair) == 2
                and isinstance(pair[0], str) and _is_unit(pair[1])
            ):
                yield Problem(
                    f"{where}.{key}[{j}]",
                    f"expected [class_id string, number in [0, 1]], got {_show(pair)}",
                )
    frame = det.get("frame_number")
    if frame is not None and not (isinstance(frame, int) and not isinstance(frame, bool) and frame >= 0):
        yield Problem(f"{where}.frame_number", f"expected an integer >= 0, got {_show(frame)}")


def image_structure_problems(index: int, image: Any) -> list[Problem]:
    """Type and range problems of one ``images[]`` entry (empty when it is sound)."""
    if not isinstance(image, dict):
        return [Problem(f"images[{index}]", f"expected an object, got {_show(image)}")]
    where = image_where(index, image.get("file"))
    found = []
    if "file" not in image:
        found.append(Problem(where, "file: required key missing"))
    elif not isinstance(image["file"], str) or not image["file"]:
        found.append(Problem(where, f"file: expected a non-empty path string, got {_show(image['file'])}"))
    dets = image.get("detections")
    if dets is not None:
        if not isinstance(dets, list):
            found.append(Problem(where, f"detections: expected a list or null, got {_show(dets)}"))
        else:
            for j, det in enumerate(dets):
                found.extend(
                    Problem(where, f"{p.where}: {p.message}")
                    for p in _detection_problems(f"detections[{j}]", det)
                )
    failure = image.get("failure")
    if failure is not None and not isinstance(failure, str):
        found.append(Problem(where, f"failure: expected a string or null, got {_show(failure)}"))
    for key in ("max_detection_conf", "frame_rate"):
        value = image.get(key)
        if value is not None and not (isinstance(value, _NUMBER) and not isinstance(value, bool)):
            found.append(Problem(where, f"{key}: expected a number, got {_show(value)}"))
    frames = image.get("frames_processed")
    if frames is not None and not (isinstance(frames, list) and all(isinstance(f, int) for f in frames)):
        found.append(Problem(where, f"frames_processed: expected a list of integers, got {_show(frames)}"))
    return found


def structural_problems(doc: Any) -> list[Problem]:
    """Problems that stop a parsed JSON document from becoming a ``ResultsFile``."""
    if not isinstance(doc, dict):
        return [Problem("(top level)", f"expected a JSON object, got {_show(doc)}")]
    found: list[Problem] = []
    info = doc.get("info")
    if "info" not in doc:
        found.append(Problem("info", "required key missing"))
    elif not isinstance(info, dict):
        found.append(Problem("info", f"expected an object, got {_show(info)}"))
    elif "format_version" not in info:
        found.append(Problem("info.format_version", "required key missing (files older than format 1.0 are not supported)"))
    elif not isinstance(info["format_version"], (str, int, float)) or isinstance(info["format_version"], bool):
        found.append(Problem("info.format_version", f"expected a version string such as '1.6', got {_show(info['format_version'])}"))
    else:
        try:
            float(info["format_version"])
        except ValueError:
            found.append(Problem("info.format_version", f"expected a version string such as '1.6', got {_show(info['format_version'])}"))
    found.extend(_categories_problems(doc, "detection_categories", required=True))
    found.extend(_categories_problems(doc, "classification_categories", required=False))
    descriptions = doc.get("classification_category_descriptions")
    if descriptions is not None and not (
        isinstance(descriptions, dict) and all(isinstance(v, str) for v in descriptions.values())
    ):
        found.append(Problem("classification_category_descriptions", "expected an object mapping ids to strings"))
    images = doc.get("images")
    if "images" not in doc:
        found.append(Problem("images", "required key missing"))
    elif not isinstance(images, list):
        found.append(Problem("images", f"expected a list, got {_show(images)}"))
    else:
        for i, image in enumerate(images):
            found.extend(image_structure_problems(i, image))
    return found


def semantic_problems(rf: ResultsFile, indices: Sequence[int] | None = None) -> list[Problem]:
    """Problems of a loaded model. ``indices`` maps positions to ``images[]`` indices
    of the input when some broken entries were left out of ``rf``."""
    found: list[Problem] = []
    det_cats = rf.detection_categories
    cls_cats = rf.classification_categories or {}
    seen: dict[str, int] = {}
    for pos, im in enumerate(rf.images):
        index = indices[pos] if indices is not None else pos
        file = im.file
        where = None
        first = seen.setdefault(file, index)
        if first != index:
            where = image_where(index, file)
            found.append(Problem(where, f"file: duplicate entry, first seen at images[{first}]"))
        unsafe = path_problem(file)
        if unsafe:
            where = where or image_where(index, file)
            found.append(Problem(where, f"file: unsafe path: {unsafe}", "unsafe"))
        dets = im.detections
        if im.failure is not None:
            if dets is not None:
                found.append(Problem(
                    where or image_where(index, file),
                    "failure: a failed image must have detections null, got a list",
                ))
        elif dets is None:
            found.append(Problem(
                where or image_where(index, file),
                "detections: required for an image without a failure (use [] for no detections)",
            ))
        video = im.frame_rate is not None or is_video(file)
        for j, d in enumerate(dets or ()):
            if d.category not in det_cats:
                found.append(Problem(
                    where or image_where(index, file),
                    f"detections[{j}].category: {d.category!r} is not defined in detection_categories",
                ))
            if d.classifications:
                for k, (cid, _) in enumerate(d.classifications):
                    if cid not in cls_cats:
                        found.append(Problem(
                            where or image_where(index, file),
                            f"detections[{j}].classifications[{k}]: class {cid!r} is not defined in classification_categories",
                        ))
            if video and d.frame_number is None:
                found.append(Problem(
                    where or image_where(index, file),
                    f"detections[{j}].frame_number: required for videos", "warning",
                ))
        if video and im.failure is None and not (im.frame_rate and im.frame_rate > 0):
            found.append(Problem(
                where or image_where(index, file),
                f"frame_rate: videos need a frame rate > 0, got {im.frame_rate!r}", "warning",
            ))
    return found
