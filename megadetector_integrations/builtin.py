"""The host's own hook implementations: the MegaDetector reader (it runs
last, after every plugin's loader) and the built-in filters."""

from __future__ import annotations

from pathlib import Path

from .hookspecs import hookimpl


@hookimpl(trylast=True)
def mdi_load(path: Path, data: bytes):
    from .api import remember_problems
    from .io import read_results

    results, problems = read_results(data, str(path))
    remember_problems(results, problems)
    return results
