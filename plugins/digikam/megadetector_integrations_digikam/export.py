"""``mdi export xmp``: results → tag rules → one job per image → workers → report."""

from __future__ import annotations

import collections
import functools
import os
import time
from pathlib import Path
from typing import Iterator

from megadetector_integrations.errors import MdiError
from megadetector_integrations.journal import Journal
from megadetector_integrations.paths import normalize, path_problem
from megadetector_integrations.progress import progress
from megadetector_integrations.registry import Report
from megadetector_integrations.thresholds import typical_classification_threshold, typical_detection_threshold

from .files import Job, run_jobs
from .rules import TagRules, category_label


def export_xmp(results, options) -> Report:
    images_root = Path(options.images)
    if not images_root.is_dir():
        raise MdiError(f"--images {images_root}: no such folder; name the folder the results' paths are relative to")
    rules = tag_rules(results, options)
    problems: list[str] = []
    jobs = make_jobs(results, options, rules, images_root, problems)
    workers = 1 if len(results.images) < 100 else options.workers or min(os.cpu_count() or 1, 8)
    done = progress(run_jobs(jobs, workers, options.threads), total=len(results.images),
                    desc="removing tags" if options.remove else "tagging")
    counts: collections.Counter = collections.Counter()
    tag_sets: collections.Counter = collections.Counter()  # counted per tag set: far fewer than images
    journal_path = None if options.dry_run else _journal_path(options, images_root)
    with Journal(journal_path) if journal_path else _NoJournal() as journal:
        journal.write(event="start", target="xmp", images=str(images_root), remove=options.remove,
                      sidecar=options.sidecar, time=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        for job, outcome in done:
            counts[outcome.status] += 1
            if outcome.detail:
                problems.append(f"{outcome.file}: {outcome.detail}")
            if outcome.status == "skipped":
                continue
            tag_sets[job.tags] += 1
            if outcome.status != "unchanged":
                journal.write(event=outcome.status, file=outcome.file, path=outcome.target,
                              tags=_joined(job.tags), old_xmp=outcome.old_packet)
    tag_counts: collections.Counter = collections.Counter()
    for tags, images in tag_sets.items():
        tag_counts.update(dict.fromkeys(_joined(tags), images))
    verb = "untagged" if options.remove else "tagged"
    where = "sidecars" if options.sidecar else "embedded XMP"
    changed = counts["written"] + counts["removed"]
    skipped = counts["skipped"] + len(results.images) - sum(counts.values())
    summary = (f"{changed:,} of {len(results.images):,} images {verb} ({where}), "
               f"{counts['unchanged']:,} already up to date, {skipped:,} skipped")
    return Report(
        "xmp", summary,
        counts={**{k: counts[k] for k in ("written", "removed", "unchanged", "skipped") if counts[k]},
                **dict(sorted(tag_counts.items()))},
        outputs=(str(journal_path),) if journal_path else (),
        problems=tuple(problems), dry_run=options.dry_run,
    )


@functools.lru_cache(maxsize=4096)
def _joined(tags: tuple) -> tuple[str, ...]:
    return tuple("|".join(t) for t in tags)


def tag_rules(results, options) -> TagRules:
    """Thresholds and names from the results file, overridden by the options."""
    default = options.threshold if options.threshold is not None else typical_detection_threshold(results.info)
    thresholds = {cat: default for cat in results.detection_categories}
    for key, value in options.category_threshold.items():
        ids = [key] if key in results.detection_categories else sorted(results.category_ids(key))
        if not ids:
            known = ", ".join(f"{name} ({cat})" for cat, name in results.detection_categories.items())
            raise MdiError(f"--category-threshold {key}={value}: no category '{key}' in the results file; "
                           f"it has {known}")
        thresholds.update(dict.fromkeys(ids, value))
    classification = options.classification_threshold
    return TagRules(
        root=options.root,
        labels={cat: category_label(name) for cat, name in results.detection_categories.items()},
        thresholds=thresholds,
        species_root=options.species_root or None,
        class_names=dict(results.classification_categories or {}),
        classification_threshold=(classification if classification is not None
                                  else typical_classification_threshold(results.info)),
        bands=options.bands or None,
        review=options.review or None,
    )


def make_jobs(results, options, rules: TagRules, images_root: Path, problems: list[str]) -> Iterator[Job]:
    """One job per image, refusing unsafe and repeated paths (added to ``problems``)."""
    roots = (options.root,)  # every tag under it is ours; species tags are recorded when written
    seen = set()
    safe_path = SafePaths(images_root)
    for index, image in enumerate(results.images):
        try:
            path = safe_path(image.file)
        except ValueError as exc:
            problems.append(f"images[{index}] {image.file!r}: skipped: {exc}")
            continue
        if path in seen:
            problems.append(f"images[{index}] {image.file!r}: listed twice; tagged once")
            continue
        seen.add(path)
        tags = () if options.remove else rules.tags_for(image)
        yield Job(image.file, path, safe_path.real_root, tags, roots, options.sidecar,
                  options.sidecar_name == "image.xmp", options.keep_mtime, options.dry_run)


class SafePaths:
    """``paths.safe_join`` as a string, resolving each folder only once.

    Absolute paths, '..' and folders that resolve outside the root are refused
    here; an image that is itself a symlink is checked by the worker that
    opens it (``files._resolve``), which saves a system call per image.
    """

    def __init__(self, root: Path):
        self.root = str(root)
        self.real_root = os.path.realpath(root).rstrip(os.sep) + os.sep
        self.real_folders: dict[str, str] = {}

    def __call__(self, file: str) -> str:
        problem = path_problem(file)
        if problem:
            raise ValueError(f"unsafe path {file!r}: {problem}")
        target = os.path.join(self.root, normalize(file))
        folder = os.path.dirname(target)
        real_folder = self.real_folders.get(folder)
        if real_folder is None:
            real_folder = self.real_folders[folder] = os.path.realpath(folder) + os.sep
        if not real_folder.startswith(self.real_root):
            raise ValueError(f"unsafe path {file!r}: resolves outside {self.root}")
        return target


def _journal_path(options, images_root: Path) -> Path:
    if options.journal:
        return Path(options.journal)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return images_root / ".megadetector-integrations" / f"xmp-{stamp}-{os.getpid()}.jsonl"


class _NoJournal:
    """Stands in for a journal on a dry run."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def write(self, **record) -> None:
        pass
