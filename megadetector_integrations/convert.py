"""All conversion between plain data and the model, in one cattrs converter.

The bulk hooks (image and detection) are written by hand because they run
millions of times; cattrs dispatches to them, and does everything else
(info blocks, options classes of plugins, reports) from type annotations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import attrs
import cattrs

from .model import NO_EXTRA, Detection, Image, Info, ResultsFile

converter = cattrs.Converter(forbid_extra_keys=True)

DETECTION_KEYS = frozenset(("category", "conf", "bbox", "classifications"))
IMAGE_KEYS = frozenset(("file", "detections", "failure"))
INFO_KEYS = frozenset(a.name for a in attrs.fields(Info) if a.name != "extra")
TOP_KEYS = frozenset(a.name for a in attrs.fields(ResultsFile) if a.name != "extra")


def _extra(d: Mapping[str, Any], known: frozenset) -> Mapping[str, Any]:
    return NO_EXTRA if d.keys() <= known else {k: v for k, v in d.items() if k not in known}


# -- plain data → model (input already checked by validate.structural_problems) --


def detection_from_dict(d: Mapping[str, Any]) -> Detection:
    cls = d.get("classifications")
    return Detection(
        str(d["category"]),
        float(d["conf"]),
        tuple(map(float, d["bbox"])),
        None if cls is None else tuple((str(c), float(p)) for c, p in cls),
        _extra(d, DETECTION_KEYS),
    )


def image_from_dict(d: Mapping[str, Any]) -> Image:
    dets = d.get("detections")
    detections = None if dets is None else tuple(map(detection_from_dict, dets))
    extra = _extra(d, IMAGE_KEYS)
    if "max_detection_conf" in extra:  # never trusted: recomputed from the detections
        extra = {**extra, "max_detection_conf": max((x.conf for x in detections or ()), default=0.0)}
    return Image(d["file"], detections, d.get("failure"), extra)


def info_from_dict(d: Mapping[str, Any]) -> Info:
    known = {k: v for k, v in d.items() if k in INFO_KEYS}
    if "format_version" in known:
        known["format_version"] = str(known["format_version"])
    return Info(**known, extra=_extra(d, INFO_KEYS))


def results_from_dict(doc: Mapping[str, Any]) -> ResultsFile:
    return ResultsFile(
        images=tuple(map(image_from_dict, doc["images"])),
        info=info_from_dict(doc["info"]),
        detection_categories=dict(doc["detection_categories"]),
        classification_categories=doc.get("classification_categories"),
        classification_category_descriptions=doc.get("classification_category_descriptions"),
        extra=_extra(doc, TOP_KEYS),
    )


# -- model → plain data, in the current format --


def detection_to_dict(d: Detection) -> dict:
    out = {"category": d.category, "conf": d.conf, "bbox": d.bbox}
    if d.classifications is not None:
        out["classifications"] = d.classifications
    if d.extra is not NO_EXTRA:
        out.update(d.extra)
    return out


def image_to_dict(im: Image) -> dict:
    dets = im.detections
    out: dict = {
        "file": im.file,
        "detections": None if dets is None else [
            {"category": d.category, "conf": d.conf, "bbox": d.bbox}
            if d.classifications is None and d.extra is NO_EXTRA
            else detection_to_dict(d)
            for d in dets
        ],
    }
    if im.failure is not None:
        out["failure"] = im.failure
    if im.extra is not NO_EXTRA:
        out.update(im.extra)
        if "max_detection_conf" in out:  # recomputed: filters may have dropped boxes
            out["max_detection_conf"] = max((x.conf for x in dets or ()), default=0.0)
    return out


def info_to_dict(info: Info, format_version: str | None = None) -> dict:
    out = {a.name: getattr(info, a.name) for a in attrs.fields(Info) if a.name != "extra"}
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in out.items() if v is not None}
    if format_version:
        out["format_version"] = format_version
    out.update(info.extra)
    return out


def results_to_dict(rf: ResultsFile, format_version: str | None = None) -> dict:
    out: dict = {"info": info_to_dict(rf.info, format_version)}
    out["detection_categories"] = dict(rf.detection_categories)
    if rf.classification_categories is not None:
        out["classification_categories"] = dict(rf.classification_categories)
    if rf.classification_category_descriptions is not None:
        out["classification_category_descriptions"] = dict(rf.classification_category_descriptions)
    out.update(rf.extra)
    out["images"] = list(map(image_to_dict, rf.images))  # last, so writers can stream it
    return out


converter.register_structure_hook(Detection, lambda d, _: detection_from_dict(d))
converter.register_structure_hook(Image, lambda d, _: image_from_dict(d))
converter.register_structure_hook(Info, lambda d, _: info_from_dict(d))
converter.register_structure_hook(ResultsFile, lambda d, _: results_from_dict(d))
converter.register_unstructure_hook(Detection, detection_to_dict)
converter.register_unstructure_hook(Image, image_to_dict)
converter.register_unstructure_hook(Info, info_to_dict)
converter.register_unstructure_hook(ResultsFile, results_to_dict)
converter.register_structure_hook(Path, lambda v, _: Path(v))
converter.register_unstructure_hook(Path, str)


_TYPE_WORDS = {float: "a number", int: "a whole number", bool: "true or false", str: "text", Path: "a path"}


def structure_options(cls: type, values: Mapping[str, Any]):
    """Build an options object of a filter or exporter from plain values
    (command-line strings or notebook values).

    Raises ``MdiError`` naming each bad option (as its flag) and keeping what
    a validator said, so bad input never shows a traceback.
    """
    from .errors import MdiError
    from .options import OptionError

    known = {f.name for f in attrs.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise MdiError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return converter.structure(dict(values), cls)
    except cattrs.BaseValidationError as exc:
        said = [e for e in _leaf_errors(exc) if isinstance(e, (OptionError, ValueError)) and str(e)
                and not isinstance(e, cattrs.BaseValidationError)]
        typed = _type_problems(cls, values)
        raise MdiError("; ".join(typed or [str(e) for e in said] or [str(exc)])) from None
    except (OptionError, TypeError, ValueError) as exc:
        raise MdiError(str(exc)) from None


def _leaf_errors(exc: BaseException):
    for sub in getattr(exc, "exceptions", ()):
        yield from _leaf_errors(sub)
    if not hasattr(exc, "exceptions"):
        yield exc


def _type_problems(cls: type, values: Mapping[str, Any]) -> list[str]:
    """One message per value that does not convert to its field's type."""
    import typing

    from .options import flag

    hints = typing.get_type_hints(cls)
    found = []
    for name, value in values.items():
        tp = hints[name]
        if typing.get_origin(tp) is typing.Union:  # Optional[X] → X
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        try:
            converter.structure(value, tp)
        except Exception:
            choices = typing.get_args(tp) if typing.get_origin(tp) is typing.Literal else ()
            wanted = "one of " + ", ".join(map(str, choices)) if choices else _TYPE_WORDS.get(tp, str(tp))
            found.append(f"{flag(name)}: expected {wanted}, got {value!r}")
    return found
