"""The built-in filters and subset: keep some images, detections or classes.

Each filter is a registry.Filter with its own options class; mdi subset
offers the options of every installed filter, and subset(results, **options)
is the same from a notebook. Filters run in ascending order:

  10 path       keep images whose path contains --query (^ = starts with),
                replace the matched text with --replacement
  20 keep-list  keep images listed in another results file or present under a folder
  30 failed     drop images that failed
  40 threshold  drop detections with confidence below --confidence-threshold
  50 categories keep only some detection categories, each with its own threshold
  60 size       drop detections whose box area is outside the given range
  70 class-threshold  drop classifications below --classification-threshold
  80 rare-classes     remove classification classes seen fewer than N times

Differences from subset_json_detector_output.py (on purpose): an empty
query with a replacement prepends it to every path; ^prefix with an empty
replacement strips a leading folder; every threshold keeps >= (the old
category filter kept >); the keep-list and size filters run before the
classification filters, so rare classes are counted on what is left.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

import attrs

from .convert import structure_options
from .errors import MdiError
from .model import Detection, Image, ResultsFile
from .options import OptionError, non_negative, unit_interval
from .paths import all_different, normalize
from .registry import Filter


# -- path query / replacement ------------------------------------------------


@attrs.frozen
class PathOptions:
    query: Optional[str] = attrs.field(default=None, metadata={
        "metavar": "TEXT",
        "help": "keep images whose path contains TEXT; a leading ^ means 'starts with' "
                "(e.g. --query cam_2/ or --query ^site_a/)"})
    replacement: Optional[str] = attrs.field(default=None, metadata={
        "metavar": "TEXT",
        "help": "replace the matched query text with TEXT; with no query, prepend TEXT to every path "
                "(e.g. --query ^site_a/ --replacement '' strips a leading folder; "
                "--replacement projects/2024/ prepends)"})


def rewrite_paths(results: ResultsFile, options: PathOptions) -> ResultsFile:
    """Keep images matching the query; replace the matched text when asked.

    ^x matches and replaces only a leading x; a plain query replaces every
    occurrence (as today's tool does); an empty query matches all, so the
    replacement is prepended.
    """
    query, replacement = options.query or "", options.replacement
    anchored = query.startswith("^")
    needle = query[1:] if anchored else query
    if anchored:
        kept = [im for im in results.images if im.file.startswith(needle)]
    else:
        kept = [im for im in results.images if needle in im.file]
    if replacement is None or replacement == needle:  # nothing would change
        return results.with_images(kept)
    if anchored or not needle:  # a prefix swapped or added: distinct paths stay distinct
        cut = len(needle)
        rewritten = [Image(replacement + im.file[cut:], im.detections, im.failure, im.extra) for im in kept]
    else:
        rewritten = [Image(im.file.replace(needle, replacement), im.detections, im.failure, im.extra)
                     for im in kept]
    files = [im.file for im in rewritten]
    if "" in files:
        empty = kept[files.index("")]
        raise MdiError(f"the replacement leaves image {empty.file!r} with an empty path; choose a shorter query")
    if not anchored and needle and not all_different(files):
        _refuse_shared_paths(kept, files)
    return results.with_images(rewritten)


def _refuse_shared_paths(before: list, files: list[str]) -> None:
    """Name the first two images the rewrite gives the same path."""
    first: dict[str, str] = {}
    for old, new in zip(before, files):
        if new in first:
            raise MdiError(
                f"the replacement gives images {first[new]!r} and {old.file!r} the same path {new!r}; "
                "narrow the query (e.g. add a folder to it) so paths stay distinct")
        first[new] = old.file


# -- keep-list -----------------------------------------------------------------


@attrs.frozen
class KeepListOptions:
    keep_files_in: Optional[Path] = attrs.field(default=None, metadata={
        "metavar": "PATH",
        "help": "keep only images listed in this results file, or present under this folder "
                "(paths compared relative, with / ; e.g. --keep-files-in reviewed.json or "
                "--keep-files-in /data/traps/site_a)"})


def listed_files(source: Path) -> set[str]:
    """Normalized relative paths listed by a results file or found under a folder."""
    if source.is_dir():
        found = set()
        for dirpath, _, names in os.walk(source):
            rel = os.path.relpath(dirpath, source)
            prefix = "" if rel == "." else normalize(rel) + "/"
            found.update(prefix + n for n in names)
        return found
    if not source.exists():
        raise MdiError(f"--keep-files-in {source}: no such file or folder")
    from .api import load

    return {normalize(im.file) for im in load(source).images}


def keep_listed(results: ResultsFile, options: KeepListOptions) -> ResultsFile:
    wanted = listed_files(options.keep_files_in)
    return results.with_images(im for im in results.images if normalize(im.file) in wanted)


# -- failed images -------------------------------------------------------------


@attrs.frozen
class FailedOptions:
    remove_failed_images: bool = attrs.field(default=False, metadata={
        "help": "drop images that failed to load or process (e.g. --remove-failed-images)"})


def drop_failed(results: ResultsFile, options: FailedOptions) -> ResultsFile:
    return results.with_images(im for im in results.images if im.failure is None)


# -- detection filters ---------------------------------------------------------


def keep_detections(results: ResultsFile, keep: Callable[[Detection], bool]) -> ResultsFile:
    """Drop the detections ``keep`` refuses; images (and failed ones) all stay.

    Images that lose nothing are reused as they are, which keeps this fast.
    """
    out = []
    append = out.append
    for im in results.images:
        dets = im.detections
        if dets and not all(map(keep, dets)):
            im = Image(im.file, tuple(filter(keep, dets)), im.failure, im.extra)
        append(im)
    return results.with_images(out)


@attrs.frozen
class ThresholdOptions:
    confidence_threshold: Optional[float] = attrs.field(default=None, validator=unit_interval, metadata={
        "metavar": "CONF",
        "help": "drop detections with confidence below CONF, keeping >= CONF; failed images stay "
                "(e.g. --confidence-threshold 0.2)"})


def apply_threshold(results: ResultsFile, options: ThresholdOptions) -> ResultsFile:
    """``keep_detections`` with the test inlined: the most used filter, run on millions."""
    threshold = options.confidence_threshold
    out = []
    append = out.append
    for im in results.images:
        dets = im.detections
        if dets:
            kept = [d for d in dets if d.conf >= threshold]
            if len(kept) != len(dets):
                im = Image(im.file, tuple(kept), im.failure, im.extra)
        append(im)
    return results.with_images(out)


def parse_category_entry(entry: str) -> tuple[str, float]:
    """``animal`` → ``("animal", 0.0)``; ``person=0.5`` → ``("person", 0.5)``."""
    name, sep, value = entry.partition("=")
    if not name.strip():
        raise OptionError(f"--categories: expected NAME or NAME=THRESHOLD, got {entry!r}")
    if not sep:
        return name.strip(), 0.0
    try:
        threshold = float(value)
    except ValueError:
        raise OptionError(f"--categories: threshold of {name!r} must be a number, got {value!r}") from None
    if not 0.0 <= threshold <= 1.0:
        raise OptionError(f"--categories: threshold of {name!r} must be between 0 and 1, got {threshold}")
    return name.strip(), threshold


def _check_categories(instance: Any, attribute: attrs.Attribute, value: tuple) -> None:
    for entry in value:
        parse_category_entry(entry)


@attrs.frozen
class CategoryOptions:
    categories: tuple[str, ...] = attrs.field(default=(), validator=_check_categories, metadata={
        "metavar": "NAME[=CONF]",
        "help": "keep only detections of these categories (names or ids), each optionally with its own "
                "threshold, keeping >= CONF (e.g. --categories animal=0.2 person=0.5 vehicle)"})


def category_thresholds(results: ResultsFile, entries: Iterable[str]) -> dict[str, float]:
    """Category id → threshold, from names or ids; unknown ones are an error."""
    by_id: dict[str, float] = {}
    for entry in entries:
        name, threshold = parse_category_entry(entry)
        ids = results.category_ids(name) or ({name} if name in results.detection_categories else set())
        if not ids:
            known = ", ".join(f"{k}={v}" for k, v in results.detection_categories.items())
            raise MdiError(f"--categories: no detection category {name!r} in this file (it has {known})")
        for cid in ids:
            by_id[cid] = threshold
    return by_id


def keep_categories(results: ResultsFile, options: CategoryOptions) -> ResultsFile:
    thresholds = category_thresholds(results, options.categories)
    return keep_detections(results, lambda d: d.category in thresholds and d.conf >= thresholds[d.category])


@attrs.frozen
class SizeOptions:
    minimum_detection_size: Optional[float] = attrs.field(default=None, validator=unit_interval, metadata={
        "metavar": "AREA",
        "help": "drop detections whose box area (width x height, as a fraction of the image) is below AREA "
                "(e.g. --minimum-detection-size 0.001)"})
    maximum_detection_size: Optional[float] = attrs.field(default=None, validator=unit_interval, metadata={
        "metavar": "AREA",
        "help": "drop detections whose box area is above AREA (e.g. --maximum-detection-size 0.9)"})

    def __attrs_post_init__(self) -> None:
        low, high = self.minimum_detection_size, self.maximum_detection_size
        if low is not None and high is not None and low > high:
            raise OptionError(f"--minimum-detection-size {low} is above --maximum-detection-size {high}")


def keep_sizes(results: ResultsFile, options: SizeOptions) -> ResultsFile:
    low = options.minimum_detection_size or 0.0
    high = 1.0 if options.maximum_detection_size is None else options.maximum_detection_size
    return keep_detections(results, lambda d: low <= d.bbox[2] * d.bbox[3] <= high)


# -- classification filters ----------------------------------------------------


def map_classifications(results: ResultsFile, keep: Callable[[str, float], bool]) -> ResultsFile:
    """Drop the ``(class, conf)`` pairs ``keep`` refuses; a detection left with
    none loses its ``classifications`` key."""
    def detection(d: Detection) -> Detection:
        if not d.classifications:
            return d
        pairs = tuple(p for p in d.classifications if keep(*p))
        if len(pairs) == len(d.classifications):
            return d
        return Detection(d.category, d.conf, d.bbox, pairs or None, d.extra)

    out = []
    for im in results.images:
        dets = im.detections
        if dets and any(d.classifications for d in dets):
            im = Image(im.file, tuple(map(detection, dets)), im.failure, im.extra)
        out.append(im)
    return results.with_images(out)


@attrs.frozen
class ClassThresholdOptions:
    classification_threshold: Optional[float] = attrs.field(default=None, validator=unit_interval, metadata={
        "metavar": "CONF",
        "help": "drop species classifications with confidence below CONF, keeping >= CONF "
                "(e.g. --classification-threshold 0.5)"})


def apply_class_threshold(results: ResultsFile, options: ClassThresholdOptions) -> ResultsFile:
    threshold = options.classification_threshold
    return map_classifications(results, lambda _, conf: conf >= threshold)


@attrs.frozen
class RareClassOptions:
    min_classification_count: Optional[int] = attrs.field(default=None, validator=non_negative, metadata={
        "metavar": "N", "aliases": ("--remove-classification-categories-below-count",),
        "help": "remove classification classes seen fewer than N times (counting every classification "
                "of every detection) from the class lists and from detections; ids are kept "
                "(e.g. --min-classification-count 10)"})


def class_counts(results: ResultsFile) -> dict[str, int]:
    counts: dict[str, int] = {}
    for im in results.images:
        for d in im.detections or ():
            for class_id, _ in d.classifications or ():
                counts[class_id] = counts.get(class_id, 0) + 1
    return counts


def remove_rare_classes(results: ResultsFile, options: RareClassOptions) -> ResultsFile:
    counts = class_counts(results)
    keep = {c for c, n in counts.items() if n >= options.min_classification_count}
    trimmed = map_classifications(results, lambda class_id, _: class_id in keep)

    def only_kept(mapping):
        return None if mapping is None else {k: v for k, v in mapping.items() if k in keep}

    return attrs.evolve(
        trimmed,
        classification_categories=only_kept(results.classification_categories),
        classification_category_descriptions=only_kept(results.classification_category_descriptions),
    )


# -- registration and subset -----------------------------------------------------


BUILTIN_FILTERS = (
    Filter("path", PathOptions, rewrite_paths, order=10,
           help="keep images whose path matches --query; replace it with --replacement",
           applies=lambda o: o.query is not None or o.replacement is not None),
    Filter("keep-list", KeepListOptions, keep_listed, order=20,
           help="keep images listed in a results file or present under a folder",
           applies=lambda o: o.keep_files_in is not None),
    Filter("failed", FailedOptions, drop_failed, order=30,
           help="drop failed images", applies=lambda o: o.remove_failed_images),
    Filter("threshold", ThresholdOptions, apply_threshold, order=40,
           help="drop detections below a confidence threshold",
           applies=lambda o: o.confidence_threshold is not None),
    Filter("categories", CategoryOptions, keep_categories, order=50,
           help="keep only some detection categories, each with its own threshold",
           applies=lambda o: bool(o.categories)),
    Filter("size", SizeOptions, keep_sizes, order=60,
           help="drop detections by box area",
           applies=lambda o: o.minimum_detection_size is not None or o.maximum_detection_size is not None),
    Filter("class-threshold", ClassThresholdOptions, apply_class_threshold, order=70,
           help="drop classifications below a threshold",
           applies=lambda o: o.classification_threshold is not None),
    Filter("rare-classes", RareClassOptions, remove_rare_classes, order=80,
           help="remove classification classes seen fewer than N times",
           applies=lambda o: o.min_classification_count is not None),
)


def installed_filters() -> list[Filter]:
    from .plugins import filters

    return filters()


def option_classes(filters: Iterable[Filter]) -> list[type]:
    """The filters' options classes, each once, in filter order."""
    seen: list[type] = []
    for f in filters:
        if f.options not in seen:
            seen.append(f.options)
    return seen


def chosen_filters(values: Mapping[str, Any], filters: Iterable[Filter] | None = None) -> list[tuple[Filter, Any]]:
    """``(filter, options)`` for every filter the values ask for, in order.

    An option no installed filter knows is an error (a typo must not pass silently).
    """
    filters = installed_filters() if filters is None else sorted(filters, key=lambda f: f.order)
    known = {f.name for cls in option_classes(filters) for f in attrs.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise MdiError(f"unknown filter option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    chosen = []
    for f in filters:
        names = {a.name for a in attrs.fields(f.options)}
        options = structure_options(f.options, {k: v for k, v in values.items() if k in names})
        if f.applies(options):
            chosen.append((f, options))
    return chosen


def apply_filters(results: ResultsFile, chosen: Iterable[tuple[Filter, Any]]) -> ResultsFile:
    """Each chosen filter in turn. The garbage collector pauses meanwhile: filters
    build up to millions of small objects, and its passes would about double the time."""
    from .atomic import gc_paused

    with gc_paused():
        for f, options in chosen:
            results = f.apply(results, options)
    return results


def subset(results: ResultsFile | os.PathLike | str, **options: Any) -> ResultsFile:
    """The results after every filter the options ask for, in the documented order.

        subset(results, confidence_threshold=0.2, query="^site_a/", replacement="")

    Options are the filters' fields (``mdi subset --help`` lists them). Results
    may be a path. Unknown fields of the file survive.
    """
    if not isinstance(results, ResultsFile):
        from .api import load

        results = load(results)
    return apply_filters(results, chosen_filters(options))


# -- command line ----------------------------------------------------------------


def same_file(a: os.PathLike | str, b: os.PathLike | str) -> bool:
    """True when both name one file (through links too, when both exist)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def check_output(target: Path, inputs: Iterable[os.PathLike | str], overwrite: bool) -> None:
    """Refuse to replace an input, or an existing file unless ``overwrite``."""
    if any(same_file(source, target) for source in inputs):
        raise MdiError(f"{target} is an input file; choose another output")
    if Path(target).exists() and not overwrite:
        raise MdiError(f"{target} exists; add --overwrite to replace it")


def add_filter_options(parser) -> None:
    """Every installed filter's options, each once (the union of their classes)."""
    from . import cliopts

    filters = installed_filters()
    group = parser.add_argument_group(f"filters (applied in this order: {', '.join(f.name for f in filters)})")
    added: set[str] = set()
    for cls in option_classes(filters):
        names = tuple(f.name for f in attrs.fields(cls))
        cliopts.add_options(group, cls, skip=tuple(added))
        added.update(names)


def filter_values(args) -> dict[str, Any]:
    """The filter options the user gave on the command line."""
    from . import cliopts

    values: dict[str, Any] = {}
    for cls in option_classes(installed_filters()):
        values.update(cliopts.options_values(cls, args))
    return values


def add_output_options(parser, what: str = "file") -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace existing output {what} (never an input) (e.g. --overwrite)")
    parser.add_argument("--dry-run", action="store_true",
                        help=f"print the output {what} and image counts without writing (e.g. --dry-run)")
    parser.add_argument("--compact", action="store_true",
                        help="write JSON without indentation: smaller and faster; by default indent 1, "
                             "like MegaDetector (e.g. --compact)")


SUBSET_EPILOG = """examples:
  mdi subset md_results.json animals.json --confidence-threshold 0.2
  mdi subset md_results.json site_a.json --query ^site_a/ --replacement ''     # keep site_a, strip the folder
  mdi subset md_results.json moved.json --replacement /mnt/traps/2024/          # prepend to every path
  mdi subset md_results.json review.json --categories animal=0.3 person=0.6 --remove-failed-images
  mdi subset md_results.json kept.json --keep-files-in /data/traps/reviewed --dry-run"""


def add_subset_command(subparsers) -> None:
    import argparse

    from . import cliopts

    p = subparsers.add_parser(
        "subset", help="keep some images, detections or classes; rewrite paths",
        description=__doc__.split("\n\n", 1)[1], epilog=SUBSET_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="IN", help="results file to read (e.g. md_results.json)")
    p.add_argument("output", metavar="OUT", help="results file to write (e.g. subset.json)")
    add_output_options(p)
    add_filter_options(p)
    cliopts.add_loader_options(p)
    p.set_defaults(run=run_subset)


def run_subset(args) -> int:
    from .api import load
    from .cliopts import loader_values
    from .io import write
    from .registry import Report

    chosen = chosen_filters(filter_values(args))
    check_output(Path(args.output), [args.input], args.overwrite)
    results = load(args.input, **loader_values(args))
    kept = apply_filters(results, chosen)
    names = ", ".join(f.name for f, _ in chosen) or "none"
    if not args.dry_run:
        write(kept, args.output, None if args.compact else 1)
    summary = f"{args.output}: {len(kept.images):,} of {len(results.images):,} images (filters: {names})"
    print(Report("subset", summary, outputs=(args.output,), dry_run=args.dry_run).format())
    return 0
