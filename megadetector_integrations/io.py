"""Reading and writing MegaDetector results files (format 1.0 to 1.6).

Reading tries a fast path first: msgspec decodes the bytes straight into the
model, checking types and ranges in C and refusing unknown fields. Anything
unusual (unknown fields, old-style values, errors) goes the careful way: a
generic parse, a full structural check with precise messages, then
conversion that keeps unknown fields in ``extra``. Writing encodes the
model's structs directly, in chunks.
"""

from __future__ import annotations

import os
from itertools import chain
from pathlib import Path
from typing import Any, Iterator, Optional

import msgspec

from . import convert
from .atomic import atomic_output, gc_paused
from .errors import Problem, ResultsError
from .model import CURRENT_FORMAT_VERSION, EXTRA_KEY, Image, ResultsFile
from .paths import all_different
from .validation import image_structure_problems, semantic_problems, structural_problems


class _Document(msgspec.Struct, forbid_unknown_fields=True):
    info: msgspec.Raw
    detection_categories: dict[str, str]
    images: tuple[Image, ...]
    classification_categories: Optional[dict[str, str]] = None
    classification_category_descriptions: Optional[dict[str, str]] = None


_decoder = msgspec.json.Decoder(_Document)


def parse_json(data: bytes, source: str) -> Any:
    """Parse JSON bytes, raising ``ResultsError`` (with the position) when invalid."""
    try:
        with gc_paused():
            return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ResultsError(source, [Problem("(file)", f"not valid JSON: {exc}")]) from None


def _sound_categories(cats: dict) -> bool:
    """Ids are digit strings and names are not blank (the validator's rules)."""
    return all(k.isdigit() for k in cats) and all(v.strip() for v in cats.values())


def _fast_check(doc: _Document) -> bool:
    """True when the typed decode leaves nothing for the validator to say.

    The decode itself refused unknown fields and checked types and ranges;
    what is left are the rules across fields and images. Failed images must
    carry ``"detections": null``, the others a list.
    """
    images = doc.images
    det_cats = doc.detection_categories
    cls_cats = doc.classification_categories or {}
    if not all(_sound_categories(c) for c in (det_cats, cls_cats)):
        return False
    # Comprehensions over flat lists: the fastest way through millions of objects.
    if any(im.detections is not None for im in images if im.failure is not None):
        return False
    try:  # a successful image without detections (None) stops the chain: careful path
        detections = list(chain.from_iterable([im.detections for im in images if im.failure is None]))
    except TypeError:
        return False
    if not {d.category for d in detections} <= det_cats.keys():
        return False
    classified = [d.classifications for d in detections if d.classifications is not None]
    if classified and not {pair[0] for pair in chain.from_iterable(classified)} <= cls_cats.keys():
        return False
    files = [im.file for im in images]
    return all_different(files) and not _suspicious_paths(files)


_VIDEO_ENDING = None


def _suspicious_paths(files: list) -> bool:
    """Any path that is absolute, has ``..``, a colon or a video extension:
    substring searches over all paths joined, a few C-speed passes."""
    global _VIDEO_ENDING
    if _VIDEO_ENDING is None:
        import re

        from .model import VIDEO_EXTENSIONS

        _VIDEO_ENDING = re.compile(r"\.(?:%s)\n" % "|".join(sorted(e[1:] for e in VIDEO_EXTENSIONS)))
    joined = "\n" + "\n".join(files) + "\n"
    if "\n/" in joined or "\\" in joined or ":" in joined or ".." in joined:
        return True
    return _VIDEO_ENDING.search(joined.lower()) is not None


def _is_version_string(value: Any) -> bool:
    try:
        return isinstance(value, str) and float(value) >= 1.0
    except ValueError:
        return False


def _fast_read(data: bytes) -> Optional[ResultsFile]:
    """The model straight from bytes, or ``None`` when the careful path is needed.

    Only a file with nothing to report comes back: any problem sends it the
    careful way, which finds and words every one.
    """
    try:
        with gc_paused():
            doc = _decoder.decode(data)
    except msgspec.MsgspecError:
        return None
    info = msgspec.json.decode(doc.info)
    if not isinstance(info, dict) or not _is_version_string(info.get("format_version")):
        return None
    if not _fast_check(doc):
        return None
    return ResultsFile(
        images=doc.images,
        info=convert.info_from_dict(info),
        detection_categories=doc.detection_categories,
        classification_categories=doc.classification_categories,
        classification_category_descriptions=doc.classification_category_descriptions,
    )


def _careful_read(data: bytes, source: str) -> tuple[Optional[ResultsFile], list[Problem]]:
    """Parse generically, collect every problem, build the model from sound parts."""
    doc = parse_json(data, source)
    problems = structural_problems(doc)
    if not isinstance(doc, dict) or any(not p.where.startswith("images[") for p in problems):
        return None, problems
    sound, indices = [], []
    with gc_paused():
        for i, raw in enumerate(doc["images"]):
            if not image_structure_problems(i, raw):
                sound.append(convert.image_from_dict(raw))
                indices.append(i)
        rf = convert.results_from_dict({**doc, "images": []}).with_images(sound)
    return rf, problems + semantic_problems(rf, indices)


def read_results(data: bytes, source: str = "<bytes>", strict: bool = True) -> tuple[ResultsFile | None, list[Problem]]:
    """Read MegaDetector results from bytes: ``(model, problems)``.

    With ``strict``, raise ``ResultsError`` when any problem has severity ``error``.
    """
    with gc_paused():
        rf = _fast_read(data)
        problems: list[Problem] = []
        if rf is None:
            rf, problems = _careful_read(data, source)
    if strict and (rf is None or any(p.severity == "error" for p in problems)):
        raise ResultsError(source, problems)
    return rf, problems


_CHUNK = 20_000


def _json_pieces(rf: ResultsFile, indent: int | None) -> Iterator[bytes]:
    """Current-format JSON in pieces, a chunk of images at a time.

    Converting and encoding in chunks reuses the same memory over and over
    instead of building one huge structure: faster, and a fraction of the peak.
    """
    encode = msgspec.json.Encoder().encode
    head = encode(convert.results_to_dict(rf.with_images(()), CURRENT_FORMAT_VERSION))
    if indent:
        head = msgspec.json.format(head, indent=indent)
    cut = head.rindex(b"[]")  # "images" is the last key: its empty list marks the spot
    yield head[:cut] + b"["
    pad = b" " * (indent or 0)
    images = rf.images
    for start in range(0, len(images), _CHUNK):
        part = _encode_images(encode, images[start:start + _CHUNK])
        sep = b"," if start else b""
        if indent:  # format the chunk where it sits, inside {"images": [...]}, and cut it out
            part = msgspec.json.format(b'{"images":' + part + b"}", indent=indent)
            yield sep + part[part.index(b"[") + 1:part.rindex(b"]") - 1 - len(pad)]
        else:
            yield sep + part[1:-1]
    yield (b"\n" + pad + b"]" if indent and images else b"]") + head[cut + 2:] + b"\n"


_EXTRA_MARK = b'"%s":' % EXTRA_KEY.encode()


def _encode_images(encode, images) -> bytes:
    """A JSON array of images. msgspec encodes the structs as they are; a chunk
    where any image or box carries unknown fields (rare) is redone through
    plain dicts, which merge those fields in and recompute ``max_detection_conf``."""
    out = encode(images)
    if _EXTRA_MARK in out:
        out = encode(list(map(convert.image_to_dict, images)))
    return out


def dumps(rf: ResultsFile, indent: int | None = None) -> bytes:
    """The results as current-format JSON bytes; ``indent`` 1 matches MegaDetector."""
    with gc_paused():
        return b"".join(_json_pieces(rf, indent))


def write(rf: ResultsFile, path: os.PathLike | str, indent: int | None = 1) -> Path:
    """Write ``rf`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    with gc_paused(), atomic_output(path) as fh:
        for piece in _json_pieces(rf, indent):
            fh.write(piece)
    return path
