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


def _add_subset(subparsers):
    from .filters import add_subset_command

    add_subset_command(subparsers)


def _add_split(subparsers):
    from .splitting import add_split_command

    add_split_command(subparsers)


def _add_merge(subparsers):
    from .merging import add_merge_command

    add_merge_command(subparsers)


@hookimpl(tryfirst=True)  # listed right after the core commands in `mdi --help`
def mdi_register_commands(subparsers):
    from .cli import add_lazy_command

    add_lazy_command(subparsers, "subset", "keep some images, detections or classes; rewrite paths", _add_subset)
    add_lazy_command(subparsers, "split", "split a results file into one file per folder", _add_split)
    add_lazy_command(subparsers, "merge", "merge several results files into one", _add_merge)
