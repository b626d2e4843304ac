"""The hook specifications: everything a plugin can add to the host.

A plugin is a module with functions marked ``@hookimpl`` whose names match the
specs below, registered under the ``megadetector_integrations`` entry-point
group. Each hook is optional; implement only what the plugin provides.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

import pluggy

if TYPE_CHECKING:  # keep start-up light: argparse and the model only for type checkers
    import argparse

    from .model import ResultsFile
    from .registry import Exporter, Filter

PROJECT = "megadetector_integrations"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def mdi_load(path: Path, data: bytes, options: Mapping[str, Any]) -> Optional["ResultsFile"]:
    """Read a results file in a format this plugin knows.

    :param path: the file being loaded (for messages; its content is ``data``).
    :param data: the file's bytes.
    :param options: the loader options the user gave (see
        ``mdi_register_loader_options``), by field name; take only your own.
    :return: the results, or ``None`` when the content is not this plugin's
        format. Decide from the content, not the file name. The first plugin
        that returns results wins; the host's own MegaDetector reader runs last.
        Raise ``ResultsError`` for a file of your format that is broken.
    """


@hookspec
def mdi_register_loader_options() -> Optional[type]:
    """An attrs options class for this plugin's loader, or ``None``.

    Its fields become input options of every command that reads results files
    (``mdi validate``, ``convert``, ``export``, ``subset``...), e.g.
    ``--base-folder``, and of ``mdi.load(path, **options)``; the values given
    reach ``mdi_load`` as ``options``.
    """


@hookspec
def mdi_register_filters() -> Iterable["Filter"]:
    """Filters this plugin adds (``Filter`` objects, applied in ``order``).

    Filters transform results (``ResultsFile`` → ``ResultsFile``). ``mdi subset``,
    the notebook API and exporters share them.
    """


@hookspec
def mdi_register_exporters() -> Iterable["Exporter"]:
    """Exporters this plugin adds (``Exporter`` objects).

    An exporter has a name (``mdi export NAME``), an attrs options class (which
    becomes its command-line options) and a function taking results and options
    that returns a ``Report``.
    """


@hookspec
def mdi_register_commands(subparsers: "argparse._SubParsersAction") -> None:
    """Add ``mdi`` subcommands, e.g. ``mdi folders undo``.

    Call ``subparsers.add_parser(name, help=...)`` and set a ``run`` default on
    the new parser: ``parser.set_defaults(run=function)``. ``run`` receives the
    parsed ``argparse.Namespace`` and returns an exit status (or ``None`` for 0);
    raise ``MdiError`` for user mistakes. Import heavy modules inside ``run``,
    or register with ``megadetector_integrations.cli.add_lazy_command`` so the
    parser itself is built only when the command runs.
    """
