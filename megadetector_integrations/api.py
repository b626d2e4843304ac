"""The notebook API: load, validate, filter, export, write.

    import megadetector_integrations as mdi
    results = mdi.load("md_results.json")
    results = mdi.subset(results, confidence_threshold=0.2)
    report = mdi.export(results, "folders", images="/data/traps", out="/data/sorted")
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import attrs

from .errors import MdiError, Problem, ResultsError
from .model import ResultsFile
from .registry import Report

#: Set to a list by the ``mdi`` executable: results loaded or written are kept here
#: until the process exits (without freeing them one by one, ~0.4 s per million images).
keep_until_exit: list | None = None

#: Problems found while reading, by ``id`` of the results object (the validator
#: reuses them); entries go when the results object does.
_problems_found: dict[int, tuple[weakref.ref, list[Problem]]] = {}


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MdiError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MdiError(f"{path}: is a folder, expected a results .json file") from None
    except OSError as exc:
        raise MdiError(f"{path}: cannot read: {exc.strerror}") from None


def load(path: os.PathLike | str, **loader_options: Any) -> ResultsFile:
    """Load a results file in any format an installed plugin reads.

    MegaDetector files (format 1.0–1.6) are read by the host; plugins add
    others (e.g. SpeciesNet's ``predictions.json``), with their own options
    (e.g. ``base_folder=``). Raises ``ResultsError`` listing every problem when
    the file is broken, ``MdiError`` when it is missing.
    """
    from .plugins import manager

    unknown = set(loader_options) - {a.name for cls in loader_options_classes() for a in attrs.fields(cls)}
    if unknown:
        raise MdiError(f"unknown loader option(s): {', '.join(sorted(unknown))}")
    path = Path(path)
    data = _read_bytes(path)
    results = manager().hook.mdi_load(path=path, data=data, options=loader_options)
    if results is None:
        raise ResultsError(str(path), [Problem("(file)", "not a results file that any installed loader reads")])
    if keep_until_exit is not None:
        keep_until_exit.append(results)
    return results


def remember_problems(results: ResultsFile, problems: list[Problem]) -> None:
    """Keep what a reader found, so ``validate`` need not look again."""
    key = id(results)
    _problems_found[key] = (weakref.ref(results, lambda _: _problems_found.pop(key, None)), problems)


def loader_options_classes() -> list[type]:
    """The options classes of installed loaders (see ``mdi_register_loader_options``)."""
    from .plugins import manager

    return [cls for cls in manager().hook.mdi_register_loader_options() if cls is not None]


def validate(path: os.PathLike | str, **loader_options: Any) -> list[Problem]:
    """Every problem of a results file (empty when it is valid)."""
    from .validation import semantic_problems

    try:
        results = load(path, **loader_options)
    except ResultsError as exc:
        return list(exc.problems)
    ref, found = _problems_found.get(id(results), (None, None))
    return list(found) if ref is not None and ref() is results else semantic_problems(results)


def write(results: ResultsFile, path: os.PathLike | str, indent: int | None = 1) -> Path:
    """Write current-format JSON atomically; ``indent=None`` for compact output."""
    from .io import write as _write

    if keep_until_exit is not None:
        keep_until_exit.append(results)
    return _write(results, path, indent)


def export(results: ResultsFile | os.PathLike | str, target: str, **options: Any) -> Report:
    """Run an installed exporter, e.g. ``export(results, "folders", images=..., out=...)``.

    ``options`` are the fields of the exporter's options class.
    """
    from .convert import structure_options
    from .plugins import get_exporter

    exporter = get_exporter(target)
    if not isinstance(results, ResultsFile):
        results = load(results)
    return exporter.run(results, structure_options(exporter.options, options))
