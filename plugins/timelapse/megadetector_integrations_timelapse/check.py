"""``mdi timelapse check``: what Timelapse would trip over, before the user opens it.

Works on the plain parsed JSON, not the host model: the traps are in details
the model smooths over (a missing ``detections`` key versus ``null``, an
integer class id, ``classifications: null``). Every rule names the section of
timelapse.md it comes from.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import attrs

from megadetector_integrations.errors import MdiError, ResultsError

from . import AVOID_NAME
from .matching import TIMELAPSE_TYPES, Tree, extension, is_timelapse_video, normalize, resolve

#: Findings listed per rule unless ``--all``.
SHOWN_PER_RULE = 10


@attrs.frozen(slots=True)
class Finding:
    rule: str
    where: str
    message: str

    def format(self) -> str:
        return f"{self.where}: {self.message} [{self.rule}]"


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _file_name_findings(path: Path) -> Iterator[Finding]:
    if path.name == AVOID_NAME:
        yield Finding("file-name", "(file name)",
                      f"Timelapse warns that {AVOID_NAME} probably comes from AddaxAI run outside it (B.2)")


def _info_findings(doc: dict, has_classes: bool) -> Iterator[Finding]:
    info = doc.get("info")
    if not isinstance(info, dict):
        yield Finding("info", "info", "missing: Timelapse silently imports nothing (B.2)")
        return
    if not isinstance(info.get("format_version"), str):
        yield Finding("format-version", "info.format_version",
                      f"expected a version string such as \"1.6\", got {info.get('format_version')!r} (B.11)")
    meta = info.get("detector_metadata")
    meta = meta if isinstance(meta, dict) else {}
    for key in ("typical_detection_threshold", "conservative_detection_threshold"):
        if not _number(meta.get(key)):
            yield Finding("thresholds", f"info.detector_metadata.{key}",
                          "missing: Timelapse falls back to 0.2 / 0.05, whatever the model (B.6)")
    if has_classes:
        cmeta = info.get("classifier_metadata")
        if not (isinstance(cmeta, dict) and _number(cmeta.get("typical_classification_threshold"))):
            yield Finding("thresholds", "info.classifier_metadata.typical_classification_threshold",
                          "missing: Timelapse falls back to 0.5 (B.6)")


def _names_findings(cats: dict, key: str) -> Iterator[Finding]:
    first_id: dict = {}
    for cid, name in cats.items():
        if not isinstance(name, str) or not name.strip():
            yield Finding("blank-name", f"{key}[{cid!r}]", f"blank name {name!r}: Timelapse needs a label (B.11)")
        elif name in first_id:
            yield Finding("duplicate-name", f"{key}[{cid!r}]",
                          f"name {name!r} also used by {first_id[name]!r}: Timelapse stops to ask about merging (B.2)")
        else:
            first_id[name] = cid


def _category_findings(doc: dict) -> Iterator[Finding]:
    det = doc.get("detection_categories")
    if not isinstance(det, dict):
        yield Finding("detection-categories", "detection_categories",
                      "missing: no categories reach Timelapse's database (B.3)")
        det = {}
    if "0" in det:
        yield Finding("category-0", "detection_categories['0']",
                      f"{det['0']!r} uses id \"0\", Timelapse's Empty: its boxes look like empty images (B.6)")
    yield from _names_findings(det, "detection_categories")
    cls = doc.get("classification_categories")
    if isinstance(cls, dict) and cls:
        yield from _names_findings(cls, "classification_categories")
        first = min(cls)
        if cls[first] in set(det.values()):
            yield Finding("addaxai", f"classification_categories[{first!r}]",
                          f"the lowest class id is named {cls[first]!r} like a detection category: "
                          "Timelapse asks whether the file comes from AddaxAI (B.2)")


def _detection_findings(where: str, j: int, det: Any, video: bool) -> Iterator[Finding]:
    if not isinstance(det, dict):
        return
    if det.get("conf") is None:
        yield Finding("conf-null", where, f"detections[{j}].conf is missing or null: Timelapse cannot read the file (B.3)")
    if "classifications" in det and det["classifications"] is None:
        yield Finding("classifications-null", where,
                      f"detections[{j}].classifications is null: Timelapse cannot read the file; omit it or use [] (B.3)")
    for k, pair in enumerate(det.get("classifications") or ()):
        if isinstance(pair, list) and pair and not isinstance(pair[0], str):
            yield Finding("class-id-type", where,
                          f"detections[{j}].classifications[{k}] id {pair[0]!r} is not a string: the import fails (B.3)")
    if video and "frame_number" not in det:
        yield Finding("video-frame-number", where,
                      f"detections[{j}] of a video has no frame_number: Timelapse puts it on frame 0 (B.8)")


def _path_findings(where: str, file: str) -> Iterator[Finding]:
    if file[:1] in ("/", "\\") or file[1:2] == ":":
        yield Finding("absolute-path", where, "absolute path: never matches a Timelapse file (B.5)")
    elif file.startswith(("./", ".\\")):
        yield Finding("dot-slash", where, "leading './': never matches a Timelapse file (B.5)")
    elif extension(normalize(file)) not in TIMELAPSE_TYPES:
        yield Finding("file-type", where,
                      "Timelapse holds only .jpg/.jpeg images and .avi/.asf/.mp4/.mov videos (B.5)")


def _image_findings(i: int, im: Any) -> Iterator[Finding]:
    if not isinstance(im, dict) or not isinstance(im.get("file"), str):
        yield Finding("entry", f"images[{i}]", "not an entry with a 'file' path")
        return
    file = im["file"]
    where = f"images[{i}] {file!r}"
    yield from _path_findings(where, file)
    dets = im.get("detections")
    if im.get("failure") is not None:
        if "detections" not in im:
            yield Finding("failure-detections", where,
                          "failed but has no \"detections\": null: Timelapse shows it as Empty (B.3)")
        elif dets is not None:
            yield Finding("failure-detections", where, "failed but \"detections\" is not null (B.11)")
    elif "detections" not in im:
        yield Finding("no-detections", where, "no \"detections\" key: Timelapse shows it as Empty (B.3)")
    video = is_timelapse_video(normalize(file)) or "frame_rate" in im
    if video and im.get("failure") is None:
        rate = im.get("frame_rate")
        if not (_number(rate) and rate > 0):
            yield Finding("video-frame-rate", where,
                          f"video frame_rate {rate!r}: Timelapse drops every box of this video (B.8)")
        if "frames_processed" not in im:
            yield Finding("video-frames-processed", where, "video has no frames_processed (required from format 1.5; B.11)")
    if isinstance(dets, list):
        for j, det in enumerate(dets):
            yield from _detection_findings(where, j, det, video)


def _resolution_findings(files: list, tree: Tree) -> Iterator[Finding]:
    """Entries Timelapse will not find as written, and folder case that differs from disk."""
    index = tree.files
    seen: dict = {}
    for i, file in enumerate(files):
        if not isinstance(file, str):
            continue
        path = file.replace("\\", "/")
        key = path.lower()
        where = f"images[{i}] {file!r}"
        if key in seen:
            yield Finding("duplicate-entry", where, f"same file as images[{seen[key]}]: its boxes are imported twice (B.9)")
            continue
        seen[key] = i
        on_disk = index.get(key)
        if on_disk is None:
            if extension(key) in TIMELAPSE_TYPES and not path.startswith(("/", "./")) and path[1:2] != ":":
                yield Finding("not-found", where, f"no such file under {tree.root}: Timelapse skips it (B.9)")
        elif path.rpartition("/")[0] != on_disk.rpartition("/")[0]:
            yield Finding("folder-case", where,
                          f"folder spelled {on_disk.rpartition('/')[0]!r} on disk: keep folder case as on disk (B.5)")


def check_document(doc: Any, path: Path, tree: Tree) -> list[Finding]:
    """Every finding for a parsed results file against a scanned Timelapse root."""
    if not isinstance(doc, dict):
        return [Finding("json", "(top level)", "not a JSON object: Timelapse cannot read the file (B.10)")]
    images = doc.get("images")
    images = images if isinstance(images, list) else []
    has_classes = bool(doc.get("classification_categories"))
    found = [*_file_name_findings(path), *_info_findings(doc, has_classes), *_category_findings(doc)]
    for i, im in enumerate(images):
        found.extend(_image_findings(i, im))
    files = [im.get("file") if isinstance(im, dict) else None for im in images]
    found.extend(_resolution_findings(files, tree))
    return found


def _prefix_hint(files: list, tree: Tree) -> str:
    paths = [f for f in files if isinstance(f, str)]
    res = resolve(paths, tree)
    return (f"hint: `mdi export timelapse RESULTS --root {tree.root}` would {res.prefix.describe()}, "
            f"matching {res.matched:,} of {len(paths):,} entries, and fix the other findings")


def _print_findings(findings: list, source: Path, show_all: bool, out) -> set:
    """One line per finding (the first few of each rule unless ``show_all``); returns the rules."""
    per_rule: dict = {}
    for f in findings:
        per_rule[f.rule] = per_rule.get(f.rule, 0) + 1
        if show_all or per_rule[f.rule] <= SHOWN_PER_RULE:
            print(f"{source}: {f.format()}", file=out)
    for rule, n in per_rule.items():
        if not show_all and n > SHOWN_PER_RULE:
            print(f"{source}: ... {n - SHOWN_PER_RULE:,} more [{rule}] (--all lists them)", file=out)
    return set(per_rule)


def run_check(results: Path, root: Path, show_all: bool = False, out=None) -> int:
    """``mdi timelapse check``: exit status 0 when Timelapse will read everything, else 1."""
    from megadetector_integrations.io import parse_json

    from .export import open_root

    out = out or sys.stdout
    try:
        data = results.read_bytes()
    except OSError as exc:
        raise MdiError(f"{results}: cannot read: {exc.strerror}") from None
    tree = open_root(root)
    try:
        doc = parse_json(data, str(results))
    except ResultsError as exc:
        print(f"{results}: {exc.problems[0].message} [json]", file=out)
        return 1
    findings = check_document(doc, results, tree)
    rules = _print_findings(findings, results, show_all, out)
    images = [im for im in doc.get("images") or () if isinstance(im, dict)] if isinstance(doc, dict) else []
    if not findings:
        print(f"{results}: ready for Timelapse ({len(images):,} entries, all found under {root})", file=out)
        return 0
    if rules & {"not-found", "absolute-path", "dot-slash"}:
        print(_prefix_hint([im.get("file") for im in images], tree), file=out)
    print(f"{results}: {len(findings):,} finding(s) in {len(rules)} rule(s)", file=out)
    return 1
