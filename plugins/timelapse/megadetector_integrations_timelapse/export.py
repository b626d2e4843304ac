"""``mdi export timelapse``: match, apply Timelapse's rules, write."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from megadetector_integrations.atomic import gc_paused
from megadetector_integrations.errors import MdiError
from megadetector_integrations.model import Image, ResultsFile
from megadetector_integrations.paths import path_problem
from megadetector_integrations.registry import Report

from . import AVOID_NAME, DEFAULT_NAME, TimelapseOptions
from .matching import TIMELAPSE_TYPES, Prefix, Resolution, Tree, extension, folder_prefix, normalize, resolve, scan
from .rules import conform

#: Larger files are written without indentation: faster to write and to read,
#: and nobody reads a file of that size by eye (Timelapse does not mind).
INDENT_UP_TO = 100_000
#: Examples shown of matched and of unmatched entries; output files listed.
N_EXAMPLES = 5
N_LISTED = 10


def open_root(root: Path) -> Tree:
    if not root.is_dir():
        raise MdiError(f"--root {root}: {'no such folder' if not root.exists() else 'not a folder'}"
                       " (give the Timelapse root: the folder that holds the .tdb template)")
    return scan(root)


def match(results: ResultsFile, tree: Tree, options: TimelapseOptions) -> Resolution:
    """Resolve every entry, with the user's prefix or the detected one."""
    prefix = None
    if _manual(options):
        prefix = Prefix(folder_prefix(options.prefix_strip).lower(), folder_prefix(options.prefix_add))
    return resolve([im.file for im in results.images], tree, prefix)


def _unmatched_reason(file: str, prefix: Prefix) -> str:
    norm = normalize(file)
    if extension(norm) not in TIMELAPSE_TYPES:
        return "Timelapse holds only .jpg/.jpeg images and .avi/.asf/.mp4/.mov videos"
    moved = prefix.apply_keeping_case(norm)
    if moved is None:
        return f"does not start with '{prefix.strip}'"
    return f"no file {moved!r} under the root"


def _examples(results: ResultsFile, res: Resolution) -> tuple[list[str], list[str]]:
    matched, unmatched = [], []
    want_matched = min(N_EXAMPLES, res.matched)
    want_unmatched = min(N_EXAMPLES, len(res.targets) - res.matched)
    for im, target in zip(results.images, res.targets):
        if target is not None and len(matched) < want_matched:
            matched.append(f"{im.file!r} -> {target!r}")
        elif target is None and len(unmatched) < want_unmatched:
            unmatched.append(f"{im.file!r}: {_unmatched_reason(im.file, res.prefix)}")
        elif len(matched) == want_matched and len(unmatched) == want_unmatched:
            break
    return matched, unmatched


def _refuse(results: ResultsFile, res: Resolution, tree: Tree, options: TimelapseOptions) -> MdiError:
    _, unmatched = _examples(results, res)
    lines = [
        f"only {res.matched:,} of {len(res.targets):,} entries ({res.share:.1%}) match files under "
        f"{tree.root} ({res.prefix.describe()}; {len(tree.files):,} images/videos found there); "
        f"--min-match-share is {options.min_match_share:.0%}. Not matched, e.g.:",
        *(f"  {u}" for u in unmatched),
        *_automatic_alternative(results, tree, options),
        "Check --root (the folder holding the .tdb), set the prefix by hand with --prefix-strip /"
        " --prefix-add, or add --force to write the matching entries anyway.",
    ]
    return MdiError("\n".join(lines))


def _manual(options: TimelapseOptions) -> bool:
    return options.prefix_strip is not None or options.prefix_add is not None


def _automatic_alternative(results: ResultsFile, tree: Tree, options: TimelapseOptions) -> list[str]:
    """When a hand-set prefix fails, what automatic detection would match instead."""
    if not _manual(options):
        return []
    auto = resolve([im.file for im in results.images], tree)
    return [f"Without --prefix-strip/--prefix-add: {auto.prefix.describe()}, matching {auto.matched:,}."]


def _final_targets(results: ResultsFile, res: Resolution, keep_missing: bool, counts: Counter) -> list:
    """Where each entry goes: on-disk path, kept-missing path, or None (left out, counted)."""
    targets = list(res.targets)
    if not keep_missing:
        counts["not found under root (dropped)"] = targets.count(None)
        duplicates = not res.distinct
    else:
        for i, target in enumerate(targets):
            if target is None:
                moved = res.prefix.apply_keeping_case(normalize(results.images[i].file))
                if moved is None or path_problem(moved):
                    counts["not found, unusable path (dropped)"] += 1
                else:
                    targets[i] = moved
                    counts["not found (kept: --keep-missing)"] += 1
        present = [t.lower() for t in targets if t is not None]
        duplicates = len(set(present)) < len(present)
    if duplicates:  # Timelapse would insert such an entry's boxes twice
        _drop_duplicates(targets, counts)
    return targets


def _drop_duplicates(targets: list, counts: Counter) -> None:
    seen: set = set()
    for i, target in enumerate(targets):
        if target is not None:
            key = target.lower()
            if key in seen:
                targets[i] = None
                counts["duplicate entries for one file (dropped)"] += 1
            seen.add(key)


def _split(results: ResultsFile, level: int, counts: Counter) -> dict[str, ResultsFile]:
    """One results file per folder ``level`` deep, paths relative to that folder."""
    groups: dict[str, list] = {}
    for im in results.images:
        parts = im.file.split("/", level)
        if len(parts) <= level:
            counts[f"not inside a folder {level} level(s) deep (left out)"] += 1
            continue
        groups.setdefault("/".join(parts[:level]), []).append(Image(parts[level], im.detections, im.failure, im.extra))
    return {folder: results.with_images(images) for folder, images in sorted(groups.items())}


def _outputs(results: ResultsFile, tree: Tree, options: TimelapseOptions, counts: Counter) -> dict[Path, ResultsFile]:
    name = options.out.name if options.out else DEFAULT_NAME
    if name == AVOID_NAME:
        raise MdiError(f"do not name the output {AVOID_NAME}: Timelapse takes it for an AddaxAI file "
                       "and asks whether to import it; choose another name with -o")
    if options.per_folder is None:
        return {options.out or tree.root / DEFAULT_NAME: results}
    if options.out and options.out.name != str(options.out):
        raise MdiError(f"with --per-folder, -o gives only the file name written in each folder, got {options.out}")
    outputs = {}
    for folder, part in _split(results, options.per_folder, counts).items():
        where = tree.root / tree.folders.get(folder.lower() + "/", folder)
        if where.is_dir():
            outputs[where / name] = part
        else:
            counts["in a folder missing on disk (left out)"] += len(part.images)
    return outputs


def _refuse_overwrite(outputs, options: TimelapseOptions) -> None:
    existing = [str(p) for p in outputs if p.exists()]
    if existing and not options.overwrite:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise MdiError(f"{shown} exists; add --overwrite to replace it (nothing was written)")


def export_timelapse(results: ResultsFile, options: TimelapseOptions) -> Report:
    # Millions of new small objects: the cyclic collector would walk them again and again.
    with gc_paused():
        return _export(results, options)


def _export(results: ResultsFile, options: TimelapseOptions) -> Report:
    from megadetector_integrations.io import write

    tree = open_root(Path(options.root))
    res = match(results, tree, options)
    if res.share < options.min_match_share and not options.force:
        raise _refuse(results, res, tree, options)
    counts: Counter = Counter({"entries in the results": len(res.targets), "matched a file": res.matched})
    targets = _final_targets(results, res, options.keep_missing, counts)
    done = conform(results, targets, options.video_frame_rate, maybe_videos=tree.has_videos or options.keep_missing)
    if done.videos_without_frame_rate:
        shown = ", ".join(map(repr, done.videos_without_frame_rate[:5]))
        raise MdiError(
            f"{len(done.videos_without_frame_rate):,} video(s) have no frame rate (e.g. {shown}): Timelapse "
            "drops every box of such a video. Give the cameras' rate with --video-frame-rate FPS.")
    outputs = _outputs(done.results, tree, options, counts)
    _refuse_overwrite(outputs, options)
    if not options.dry_run:
        for path, part in outputs.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            write(part, path, indent=1 if len(part.images) <= INDENT_UP_TO else None)
    counts["entries to write" if options.dry_run else "entries written"] = sum(len(p.images) for p in outputs.values())
    counts.update(done.notes)
    return _report(results, res, tree, outputs, counts, options.dry_run)


def _report(results, res: Resolution, tree: Tree, outputs, counts: Counter, dry_run: bool) -> Report:
    matched, unmatched = _examples(results, res)
    lines = [f"{res.prefix.describe()}; {res.matched:,} of {len(res.targets):,} entries match "
             f"({res.share:.1%}) among {len(tree.files):,} images/videos under {tree.root}"]
    lines += [f"  matched, e.g. {m}" for m in matched[:3]]
    lines.append(f"{'would write' if dry_run else 'wrote'} {len(outputs)} file(s):")
    lines += [f"  {path} ({len(part.images):,} entries)" for path, part in list(outputs.items())[:N_LISTED]]
    if len(outputs) > N_LISTED:
        lines.append(f"  ... and {len(outputs) - N_LISTED} more")
    problems = [f"not matched: {u}" for u in unmatched]
    problems += [f"unreadable folder: {u}" for u in tree.unreadable]
    if tree.case_clashes:
        problems.append(f"{tree.case_clashes:,} file(s) under the root differ from another only in case: "
                        "Timelapse (Windows) can hold only one of each; the one found first was used")
    return Report("timelapse", "\n".join(lines), counts={k: v for k, v in counts.items() if v},
                  outputs=tuple(map(str, outputs)), problems=tuple(problems), dry_run=dry_run)
