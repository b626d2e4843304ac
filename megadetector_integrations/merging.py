"""Merge several results files into one (mdi merge, mdi.merge).

Images come from every input, in input order. Categories are matched by
name: a category of a later file takes the id the same name already has;
a new name keeps its id when free, else gets the next free number. The
info block and unknown top-level keys come from the first input (later
ones add keys the first lacks). An image present in more than one input is
an error unless on_duplicate says which to keep: first, or
most-detections (a failed image counts as fewer than none; ties keep the
earlier one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Mapping, Optional, Sequence

import attrs

from .convert import structure_options
from .errors import MdiError
from .model import Detection, Image, ResultsFile
from .paths import normalize

OnDuplicate = Literal["error", "first", "most-detections"]


@attrs.frozen
class MergeOptions:
    on_duplicate: OnDuplicate = attrs.field(default="error", metadata={
        "help": "what to do with an image found in more than one input: error (refuse), first (keep "
                "the earliest input's), most-detections (keep the one with most detections) "
                "(e.g. --on-duplicate most-detections)"})


def add_categories(merged: dict[str, str], incoming: Mapping[str, str]) -> dict[str, str]:
    """Add one file's categories to merged by name; return its id → merged id.

    Names are matched against earlier files only, so a file that repeats a
    name under two ids keeps both, as it had them.
    """
    earlier: dict[str, str] = {}
    for cid, name in merged.items():
        earlier.setdefault(name, cid)
    renumber = {}
    for cid, name in incoming.items():
        if merged.get(cid) == name:
            renumber[cid] = cid
        elif name in earlier:
            renumber[cid] = earlier[name]
        else:
            new_id = cid if cid not in merged else str(1 + max(int(k) for k in merged if k.isdigit()))
            merged[new_id] = name
            renumber[cid] = new_id
    return renumber


def renumber_images(images: Sequence[Image], detection_ids: Mapping[str, str],
                    class_ids: Mapping[str, str]) -> Sequence[Image]:
    """The images with category and class ids renamed (unchanged when no id moves)."""
    moved = {k: v for k, v in detection_ids.items() if k != v}
    moved_classes = {k: v for k, v in class_ids.items() if k != v}
    if not moved and not moved_classes:
        return images

    def detection(d: Detection) -> Detection:
        pairs = d.classifications
        if pairs and moved_classes:
            pairs = tuple((moved_classes.get(c, c), p) for c, p in pairs)
        return Detection(moved.get(d.category, d.category), d.conf, d.bbox, pairs, d.extra)

    return [im if not im.detections else Image(im.file, tuple(map(detection, im.detections)), im.failure, im.extra)
            for im in images]


def merged_categories(loaded: Sequence[ResultsFile]):
    """The merged category maps, and for each input its (detection, class) id renumbering."""
    detections: dict[str, str] = {}
    classes: Optional[dict[str, str]] = None
    descriptions: Optional[dict[str, str]] = None
    renumbering = []
    for rf in loaded:
        class_ids: dict[str, str] = {}
        if rf.classification_categories is not None:
            classes = {} if classes is None else classes
            class_ids = add_categories(classes, rf.classification_categories)
        if rf.classification_category_descriptions is not None:
            descriptions = {} if descriptions is None else descriptions
            for cid, text in rf.classification_category_descriptions.items():
                descriptions.setdefault(class_ids.get(cid, cid), text)
        renumbering.append((add_categories(detections, rf.detection_categories), class_ids))
    return detections, classes, descriptions, renumbering


def _detection_count(im: Image) -> int:
    return -1 if im.detections is None else len(im.detections)


def collect_images(sources: Sequence[tuple[str, Sequence[Image]]], on_duplicate: str) -> list[Image]:
    """The images of every (name, images) source, in order, one per path."""
    images: list[Image] = []
    where: dict[str, int] = {}  # normalized path → index in images
    came_from: list[str] = []  # source name of each image, for messages
    for name, source_images in sources:
        for im in source_images:
            key = normalize(im.file)
            index = where.get(key)
            if index is None:
                where[key] = len(images)
                images.append(im)
                came_from.append(name)
            elif on_duplicate == "error":
                raise MdiError(f"image {im.file!r} is in both {came_from[index]} and {name}; choose which to keep "
                               "with --on-duplicate first or --on-duplicate most-detections")
            elif on_duplicate == "most-detections" and _detection_count(im) > _detection_count(images[index]):
                images[index] = im
                came_from[index] = name
    return images


def merge(inputs: Sequence[ResultsFile | os.PathLike | str], on_duplicate: str = "error",
          names: Optional[Sequence[str]] = None) -> ResultsFile:
    """One results object with the images of all inputs (objects or paths).

        merged = merge(["site_a.json", "site_b.json"], on_duplicate="first")

    names label the inputs in messages (default: their paths, or "input N").
    """
    from .atomic import gc_paused

    options = structure_options(MergeOptions, {"on_duplicate": on_duplicate})
    if not inputs:
        raise MdiError("merge needs at least one results file")
    if names is None:
        names = [f"input {i + 1}" if isinstance(x, ResultsFile) else str(x) for i, x in enumerate(inputs)]
    loaded = [x if isinstance(x, ResultsFile) else _load(x) for x in inputs]
    detections, classes, descriptions, renumbering = merged_categories(loaded)
    extra: dict = {}
    for rf in loaded:
        for key, value in rf.extra.items():
            extra.setdefault(key, value)
    with gc_paused():
        sources = [(name, renumber_images(rf.images, *ids)) for name, rf, ids in zip(names, loaded, renumbering)]
        images = collect_images(sources, options.on_duplicate)
    return attrs.evolve(loaded[0], images=tuple(images), detection_categories=detections,
                        classification_categories=classes, classification_category_descriptions=descriptions,
                        extra=extra)


def _load(path: os.PathLike | str) -> ResultsFile:
    from .api import load

    return load(path)


# -- command line ----------------------------------------------------------------


def add_merge_command(subparsers) -> None:
    import argparse

    from . import cliopts
    from .filters import add_output_options

    p = subparsers.add_parser(
        "merge", help="merge several results files into one",
        description=__doc__.split("\n\n", 1)[1],
        epilog="examples:\n"
               "  mdi merge site_a.json site_b.json -o all.json\n"
               "  mdi merge run1.json rerun_failed.json -o fixed.json --on-duplicate most-detections\n"
               "  mdi merge split/*.json -o joined.json --dry-run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="results files, in order of priority "
                   "(e.g. a.json b.json)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="merged results file to write (e.g. -o merged.json)")
    cliopts.add_options(p, MergeOptions)
    add_output_options(p)
    cliopts.add_loader_options(p)
    p.set_defaults(run=run_merge)


def run_merge(args) -> int:
    from .api import load
    from .cliopts import loader_values
    from .filters import check_output
    from .io import write
    from .registry import Report

    check_output(Path(args.output), args.inputs, args.overwrite)
    loaded = [load(p, **loader_values(args)) for p in args.inputs]
    merged = merge(loaded, getattr(args, "on_duplicate", "error"), names=args.inputs)
    if not args.dry_run:
        write(merged, args.output, None if args.compact else 1)
    counts = {name: len(rf.images) for name, rf in zip(args.inputs, loaded)}
    summary = f"{args.output}: {len(merged.images):,} images from {len(loaded)} file(s)"
    problems = tuple(f"{name}: its info block differs from {args.inputs[0]}'s, which the output keeps"
                     for name, rf in zip(args.inputs[1:], loaded[1:]) if rf.info != loaded[0].info)
    print(Report("merge", summary, counts=counts, outputs=(args.output,), problems=problems,
                 dry_run=args.dry_run).format())
    return 0
