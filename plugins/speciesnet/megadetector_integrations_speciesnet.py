"""SpeciesNet input: SpeciesNet's ``predictions.json`` wherever a results file is accepted.

Once installed, ``mdi.load``, ``mdi validate``, ``mdi convert``, ``mdi subset``
and every exporter read SpeciesNet's native output. The file is recognised by
its content (a top-level ``predictions`` list), never by its name.

How each SpeciesNet field lands in the MegaDetector model:

- ``filepath``: made relative to a base folder (given, or else the longest
  folder all paths share), with forward slashes;
- ``failures`` without ``detections``: a failed image; with ``detections``
  (a classifier or geolocation failure) the image keeps its boxes and the
  list stays in the image entry as ``failures``;
- ``detections``: categories 1/2/3 become animal/person/vehicle;
- ``prediction`` and ``prediction_score`` (else the top raw class): the
  classification of every *animal* box; with ``top_n`` the classifier's raw
  top-N scores also go on those boxes as ``raw_classifications``;
- each class's common name names the classification category, its full
  7-part taxonomy string is the category's description;
- ``model_version``: ``info.classifier`` and ``info.detector``;
- everything else (``prediction``, ``prediction_source``, ``country``, ...)
  stays in the image entry under its own name.

Options for the ``load`` hook (which gets only the file) come from environment
variables; ``load_predictions`` takes them as arguments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import attrs

from megadetector_integrations import hookimpl

ENV_BASE_FOLDER = "MDI_SPECIESNET_BASE_FOLDER"
ENV_TOP_N = "MDI_SPECIESNET_TOP_N"
ENV_WHOLE_IMAGE = "MDI_SPECIESNET_WHOLE_IMAGE_DETECTION"

#: SpeciesNet detection category → the labels it may carry. The ids stay; the names
#: become MegaDetector's animal/person/vehicle.
LABELS = {"1": ("animal",), "2": ("human", "person"), "3": ("vehicle",)}
ANIMAL = "1"
#: The category of boxes invented for a whole-image prediction (as MegaDetector's converter names it).
WHOLE_IMAGE_CATEGORY = ("4", "unknown")
WHOLE_IMAGE_BOX = (0.0, 0.0, 1.0, 1.0)
#: Common names of predictions that say nothing was seen or classified.
NOTHING_SEEN = frozenset({"blank", "no cv result"})
#: Per-image fields turned into model fields; all others stay in the image entry.
CONSUMED = frozenset({"filepath", "detections", "classifications", "model_version"})
DETECTION_CONSUMED = frozenset({"category", "label", "conf", "bbox"})
#: Scores a hair outside [0, 1] are float rounding in SpeciesNet's sums; they are clamped.
SLACK = 1e-6
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _non_negative(instance, attribute, value) -> None:
    from megadetector_integrations.errors import MdiError

    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MdiError(f"{attribute.name}: expected a whole number >= 0, got {value!r}")


@attrs.frozen
class SpeciesNetOptions:
    """How a ``predictions.json`` becomes MegaDetector results."""

    base_folder: Optional[str] = attrs.field(default=None, metadata={
        "help": "folder the image paths are made relative to (default: the longest folder they all share; "
                "'' keeps them as written)"})
    top_n: int = attrs.field(default=0, validator=_non_negative, metadata={
        "help": "also keep the classifier's top N raw scores on animal boxes, as raw_classifications"})
    whole_image_detection: bool = attrs.field(default=False, metadata={
        "help": "add a whole-image 'unknown' box for a non-blank prediction on an image without boxes"})


def options_from_env(env: Optional[dict] = None) -> SpeciesNetOptions:
    """Options for the ``load`` hook, from ``MDI_SPECIESNET_*`` environment variables."""
    from megadetector_integrations.errors import MdiError

    env = os.environ if env is None else env
    top_n = env.get(ENV_TOP_N, "").strip() or "0"
    if not top_n.isdigit():
        raise MdiError(f"{ENV_TOP_N}={top_n!r}: expected a whole number >= 0, e.g. {ENV_TOP_N}=5")
    whole = env.get(ENV_WHOLE_IMAGE, "").strip().lower() or "0"
    if whole not in _TRUE | _FALSE:
        raise MdiError(f"{ENV_WHOLE_IMAGE}={whole!r}: expected 1 or 0 (true/false, yes/no)")
    return SpeciesNetOptions(
        base_folder=env.get(ENV_BASE_FOLDER) or None, top_n=int(top_n), whole_image_detection=whole in _TRUE,
    )


# -- recognising and reading the file --


_HEAD_BYTES = 1 << 16


def speciesnet_document(data: bytes) -> Optional[dict]:
    """The parsed file when it is SpeciesNet's (a top-level ``predictions`` key and no
    ``images``), else ``None``. SpeciesNet writes ``predictions`` first, so a byte search
    of the file's start rejects other files (even huge ones) before any parsing."""
    if data.find(b'"predictions"', 0, _HEAD_BYTES) < 0:
        return None
    import orjson

    from megadetector_integrations.atomic import gc_paused

    try:
        with gc_paused():
            doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None  # the host's reader reports where the JSON breaks
    if isinstance(doc, dict) and "predictions" in doc and "images" not in doc:
        return doc
    return None


@hookimpl
def mdi_register_loader_options():
    """``--base-folder``, ``--top-n`` and ``--whole-image-detection`` on every command that loads."""
    return SpeciesNetOptions


@hookimpl
def mdi_load(path: Path, data: bytes, options):
    """The ``load`` hook: SpeciesNet files only. Options given on the command line
    (or to ``mdi.load``) win over ``MDI_SPECIESNET_*`` environment variables."""
    doc = speciesnet_document(data)
    if doc is None:
        return None
    from megadetector_integrations.convert import structure_options

    ours = {a.name for a in attrs.fields(SpeciesNetOptions)}
    given = {k: v for k, v in options.items() if k in ours}
    chosen = structure_options(SpeciesNetOptions, {**attrs.asdict(options_from_env()), **given})
    return predictions_to_results(doc, str(path), chosen)


def load_predictions(
    path: os.PathLike | str,
    base_folder: Optional[str] = None,
    top_n: int = 0,
    whole_image_detection: bool = False,
):
    """Load a SpeciesNet ``predictions.json`` as ``ResultsFile`` (the notebook way).

    ``base_folder``: paths are made relative to it (default: the longest folder
    they share; ``""`` keeps them as written). ``top_n``: keep the classifier's
    top N raw scores on animal boxes. ``whole_image_detection``: give a
    non-blank prediction on an image without boxes a whole-image box.
    """
    from megadetector_integrations.errors import MdiError, Problem, ResultsError

    options = SpeciesNetOptions(base_folder, top_n, whole_image_detection)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise MdiError(f"{path}: cannot read: {exc.strerror}") from None
    doc = speciesnet_document(data)
    if doc is None:
        not_ours = Problem("(file)", "not a SpeciesNet predictions file (no top-level 'predictions' list)")
        raise ResultsError(str(path), [not_ours])
    return predictions_to_results(doc, str(path), options)


# -- conversion --


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unit(value: Any) -> Optional[float]:
    """``value`` as a float in [0, 1], or ``None`` when it is not a number in that range."""
    if type(value) is float and 0.0 <= value <= 1.0:  # the common case, first
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -SLACK <= value <= 1 + SLACK:
        return None
    return min(max(float(value), 0.0), 1.0)


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value.strip() else None


def class_name(label: str) -> str:
    """A readable name for a SpeciesNet class: the common name of a 7-part taxonomy
    string (``guid;class;order;family;genus;species;common name``), else the binomial
    or the lowest named rank; labels of other shapes name themselves."""
    tokens = [t.strip() for t in label.split(";")]
    if len(tokens) != 7:
        return label.strip()
    guid, *ranks, common = tokens
    if common:
        return common
    genus, species = ranks[3], ranks[4]
    if genus and species:
        return f"{genus} {species}"
    return next((rank for rank in reversed(ranks) if rank), guid or label)


def is_nothing_seen(label: str) -> bool:
    """True for SpeciesNet's ``blank`` and ``no cv result`` classes."""
    return class_name(label).lower() in NOTHING_SEEN


def common_folder(files: list[str]) -> str:
    """The longest folder every path lies in, with a trailing ``/`` (``""`` when none)."""
    if not files:
        return ""
    prefix = os.path.commonprefix([min(files), max(files)])
    return prefix[: prefix.rfind("/") + 1]


def _folder_prefix(base_folder: str) -> str:
    folder = base_folder.replace("\\", "/").rstrip("/")
    return folder + "/" if folder or base_folder.startswith(("/", "\\")) else ""


class _Conversion:
    """One conversion: the class ids handed out so far and the problems found."""

    def __init__(self, options: SpeciesNetOptions):
        self.options = options
        self.class_ids: dict[str, str] = {}  # SpeciesNet class string → classification id
        self.versions: dict[str, None] = {}  # model versions seen, in order
        self.whole_image_boxes = 0
        self.problems: list = []  # (entry index, Problem)
        self.index = 0
        self.path: Any = None

    def at(self, index: int, path: Any) -> None:
        """Name the entry that problems found from now on belong to."""
        self.index, self.path = index, path

    def problem(self, field: str, message: str) -> None:
        from megadetector_integrations.errors import Problem

        where = f"predictions[{self.index}]"
        if isinstance(self.path, str):
            where += f" {self.path!r}"
        self.problems.append((self.index, Problem(where, f"{field}: {message}")))

    def class_id(self, label: str) -> str:
        found = self.class_ids.get(label)
        if found is None:
            found = self.class_ids[label] = str(len(self.class_ids) + 1)
        return found

    def value(self, entry: dict, key: str, field: str, check, expected: str, required: bool = False):
        """``check(entry[key])``; a problem when it is missing (and required) or fails the check."""
        raw = entry.get(key)
        if raw is None:
            if required:
                self.problem(field, "required key missing" if key not in entry else f"expected {expected}, got None")
            return None
        value = check(raw)
        if value is None:
            self.problem(field, f"expected {expected}, got {_show(raw)}")
        return value

    # - per image -

    def files(self, predictions: list) -> list[Optional[str]]:
        """Each entry's ``filepath`` with forward slashes (``None`` when unusable)."""
        from megadetector_integrations.paths import normalize

        files: list[Optional[str]] = []
        for i, entry in enumerate(predictions):
            self.at(i, entry.get("filepath") if isinstance(entry, dict) else None)
            if not isinstance(entry, dict):
                self.problem("(entry)", f"expected an object, got {_show(entry)}")
                files.append(None)
                continue
            path = self.value(entry, "filepath", "filepath", _text, "a non-empty path string", required=True)
            files.append(None if path is None else normalize(path))
        return files

    def relative_files(self, files: list[Optional[str]]) -> tuple[list[Optional[str]], str]:
        """Paths relative to the base folder, and the folder used (with a trailing ``/``)."""
        given = self.options.base_folder
        prefix = common_folder([f for f in files if f is not None]) if given is None else _folder_prefix(given)
        out: list[Optional[str]] = []
        first_seen: dict[str, int] = {}
        for i, file in enumerate(files):
            self.at(i, file)
            if file is None:
                out.append(None)
            elif not file.startswith(prefix) or len(file) == len(prefix):
                self.problem("filepath", f"not inside the base folder {prefix.rstrip('/') or prefix!r}; "
                             "name the folder the images are in")
                out.append(None)
            else:
                rel = file[len(prefix):]
                first = first_seen.setdefault(rel, i)
                if first != i:
                    self.problem("filepath", f"duplicate entry, first seen at predictions[{first}]")
                out.append(rel)
        return out, prefix

    def image(self, entry: dict, file: Optional[str]):
        """The model ``Image`` of one entry (``None`` when it has problems)."""
        from megadetector_integrations.model import NO_EXTRA, Image

        found_before = len(self.problems)
        failures = self.value(entry, "failures", "failures", _string_list, "a list of strings")
        version = self.value(entry, "model_version", "model_version", _text, "a version string")
        if version is not None:
            self.versions.setdefault(version, None)
        best, raw = self.classes(entry)
        detections = None
        if entry.get("detections") is None:
            if not failures and not entry.get("failures"):  # a malformed list is reported already
                self.problem("detections", "required (a list of boxes) unless 'failures' says the detector failed; "
                             "classifier-only output cannot be converted")
        elif not isinstance(entry["detections"], list):
            self.problem("detections", f"expected a list, got {_show(entry['detections'])}")
        else:
            detections = tuple(self.detection(j, d, best, raw) for j, d in enumerate(entry["detections"]))
            if not detections and best and self.options.whole_image_detection and not is_nothing_seen(best[0]):
                detections = (self.whole_image_box(best, raw),)
        if len(self.problems) > found_before or file is None:
            return None
        consumed = CONSUMED if detections is not None else CONSUMED | {"failures"}
        extra = {k: v for k, v in entry.items() if k not in consumed} or NO_EXTRA
        if detections is None:
            return Image(file, None, "SpeciesNet failure: " + ", ".join(failures), extra)
        return Image(file, detections, None, extra)

    def classes(self, entry: dict) -> tuple[Optional[tuple[str, float]], tuple[tuple[str, float], ...]]:
        """The image's verdict ``(class string, score)``: SpeciesNet's ``prediction``, else
        its top raw class; and the raw ``(class string, score)`` pairs, best first."""
        raw: tuple = ()
        found = self.value(entry, "classifications", "classifications", _raw_classes,
                           "an object with equally long lists 'classes' (strings) and 'scores' (numbers in [0, 1])")
        if found is not None:
            raw = found
        prediction = self.value(entry, "prediction", "prediction", _text, "a class string")
        if prediction is None:
            return (raw[0] if raw else None), raw
        score = self.value(entry, "prediction_score", "prediction_score", _unit, "a number in [0, 1]", required=True)
        return (None if score is None else (prediction, score)), raw

    # - per box -

    def detection(self, j: int, raw: Any, best, raw_classes):
        from megadetector_integrations.model import NO_EXTRA, Detection

        field = f"detections[{j}]"
        if not isinstance(raw, dict):
            self.problem(field, f"expected an object, got {_show(raw)}")
            return None
        category = self.value(raw, "category", f"{field}.category", _category,
                              "'1' (animal), '2' (human) or '3' (vehicle)", required=True)
        label = raw.get("label")
        if category is not None and label is not None and label not in LABELS[category]:
            self.problem(f"{field}.label", f"{_show(label)} does not match category {category!r} "
                         f"({' or '.join(LABELS[category])})")
        conf = self.value(raw, "conf", f"{field}.conf", _unit, "a number in [0, 1]", required=True)
        bbox = self.value(raw, "bbox", f"{field}.bbox", _box, "[x_min, y_min, width, height] in [0, 1]", required=True)
        extra = {k: v for k, v in raw.items() if k not in DETECTION_CONSUMED}
        if category != ANIMAL or best is None:
            return Detection(category, conf, bbox, None, extra or NO_EXTRA)
        return Detection(category, conf, bbox, *self.classified(best, raw_classes, extra))

    def whole_image_box(self, best, raw_classes):
        from megadetector_integrations.model import Detection

        self.whole_image_boxes += 1
        return Detection(WHOLE_IMAGE_CATEGORY[0], best[1], WHOLE_IMAGE_BOX, *self.classified(best, raw_classes, {}))

    def classified(self, best, raw_classes, extra: dict):
        """A classified box's ``classifications`` (the image's verdict) and ``extra``
        (with ``top_n``, the raw top-N scores added as ``raw_classifications``)."""
        from megadetector_integrations.model import NO_EXTRA

        classifications = self.pairs((best,))
        if self.options.top_n and raw_classes:
            extra = {**extra, "raw_classifications": self.pairs(raw_classes[: self.options.top_n])}
        return classifications, extra or NO_EXTRA

    def pairs(self, classes) -> tuple[tuple[str, float], ...]:
        return tuple((self.class_id(label), score) for label, score in classes)

    # - the whole file -

    def info(self, base_prefix: str):
        from megadetector_integrations.model import Info

        versions = list(self.versions)
        text = ", ".join(versions) or "(version not recorded)"
        options = self.options
        record = {
            "converted_from": "SpeciesNet predictions.json",
            "base_folder": base_prefix.rstrip("/") or base_prefix,
            "base_folder_source": "longest common folder" if options.base_folder is None else "given",
            "model_versions": versions,
            "top_n_raw_scores": options.top_n,
            "whole_image_detection": options.whole_image_detection,
            "whole_image_detections_added": self.whole_image_boxes,
        }
        return Info(
            detector=f"MegaDetector via SpeciesNet {text}",
            classifier=f"SpeciesNet {text}" if self.class_ids else None,
            extra={"custom_metadata": {"speciesnet_conversion": record}},
        )


def _category(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value in LABELS else None


def _string_list(value: Any) -> Optional[tuple[str, ...]]:
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    return tuple(value) if ok else None


def _box(value: Any) -> Optional[tuple[float, float, float, float]]:
    if not isinstance(value, list) or len(value) != 4:
        return None
    x, y, w, h = value
    if type(x) is type(y) is type(w) is type(h) is float and 0.0 <= min(value) and max(value) <= 1.0:
        return (x, y, w, h)  # the common case, first
    box = tuple(map(_unit, value))
    return None if None in box else box


def _raw_classes(value: Any) -> Optional[tuple[tuple[str, float], ...]]:
    """SpeciesNet's ``{"classes": [...], "scores": [...]}`` as ``(class, score)`` pairs."""
    if not isinstance(value, dict):
        return None
    classes, scores = value.get("classes"), value.get("scores")
    if not (isinstance(classes, list) and isinstance(scores, list) and len(classes) == len(scores)):
        return None
    pairs = tuple(zip(map(_text, classes), map(_unit, scores)))
    return None if any(c is None or s is None for c, s in pairs) else pairs


def predictions_to_results(doc: dict, source: str, options: SpeciesNetOptions = SpeciesNetOptions()):
    """A parsed SpeciesNet file as ``ResultsFile``; ``ResultsError`` lists every problem,
    each naming the entry (index and filepath) and the field."""
    from megadetector_integrations.atomic import gc_paused
    from megadetector_integrations.errors import Problem, ResultsError
    from megadetector_integrations.model import DEFAULT_DETECTION_CATEGORIES, NO_EXTRA, ResultsFile

    predictions = doc["predictions"]
    if not isinstance(predictions, list):
        raise ResultsError(source, [Problem("predictions", f"expected a list of entries, got {_show(predictions)}")])
    run = _Conversion(options)
    with gc_paused():
        files, prefix = run.relative_files(run.files(predictions))
        images = []
        for i, (entry, file) in enumerate(zip(predictions, files)):
            if isinstance(entry, dict):
                run.at(i, entry.get("filepath"))
                images.append(run.image(entry, file))
    if run.problems:
        run.problems.sort(key=lambda found: found[0])
        raise ResultsError(source, [problem for _, problem in run.problems])
    categories = dict(DEFAULT_DETECTION_CATEGORIES)
    if run.whole_image_boxes:
        categories[WHOLE_IMAGE_CATEGORY[0]] = WHOLE_IMAGE_CATEGORY[1]
    labels = {cid: label for label, cid in run.class_ids.items()}
    return ResultsFile(
        images=tuple(images),
        info=run.info(prefix),
        detection_categories=categories,
        classification_categories={cid: class_name(label) for cid, label in labels.items()} or None,
        classification_category_descriptions=labels or None,
        extra={k: v for k, v in doc.items() if k != "predictions"} or NO_EXTRA,
    )
