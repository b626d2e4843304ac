"""The host's own hook implementations: the MegaDetector reader (it runs
last, after every plugin's loader), the built-in filters, and the
subset, split and merge commands."""

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


@hookimpl
def mdi_register_filters():
    from .filters import BUILTIN_FILTERS

    return list(BUILTIN_FILTERS)


@hookimpl
def mdi_register_commands(subparsers):
    from .filters import add_subset_command
    from .merging import add_merge_command
    from .splitting import add_split_command

    add_subset_command(subparsers)
    add_split_command(subparsers)
    add_merge_command(subparsers)
