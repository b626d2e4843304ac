"""The ``mdi`` command. Subcommands import what they need when they run,
so ``mdi --help`` starts fast."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional, Sequence

EPILOG = """examples:
  mdi validate results.json
  mdi plugins
  mdi export folders results.json --images /data/traps --out /data/sorted --dry-run
  mdi export xmp results.json --images /data/traps --sidecar
  mdi demo mdi-demo
Each command has its own --help."""


def _version() -> str:
    from . import __version__

    return __version__


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser(with_plugins: bool = True, loader_options: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mdi",
        description="Carry MegaDetector results into the tools ecologists work in.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    loading = []  # commands that read results files get the loaders' options

    p = sub.add_parser("plugins", help="list installed plugins and what each provides",
                       description="List installed plugins with version and what each provides.")
    p.set_defaults(run=_run_plugins)

    p = sub.add_parser(
        "validate", help="check results files; exit 0 when valid, 1 otherwise",
        description="Check results files and list every problem, one per line, as\n"
        "FILE: images[N] 'path': field: problem. Exit 0 when valid, 1 otherwise.\n"
        "Absolute paths and '..' segments are reported as unsafe.",
        epilog="example:\n  mdi validate md_results.json other.json",
        formatter_class=_Formatter,
    )
    p.add_argument("files", nargs="+", metavar="RESULTS", help="results files (.json)")
    p.add_argument("--allow-unsafe", action="store_true",
                   help="report unsafe (absolute or '..') paths but exit 0 for them")
    p.set_defaults(run=_run_validate)
    loading.append(p)

    p = sub.add_parser(
        "export", help="export results to an integration (mdi export TARGET --help)",
        description="Run an installed exporter. `mdi export TARGET --help` shows its options.",
        epilog="example:\n  mdi export folders md_results.json --images /data/traps --out /data/sorted",
        formatter_class=_Formatter, add_help=False,
    )
    p.add_argument("target", nargs="?", metavar="TARGET", help="exporter name (see `mdi plugins`)")
    p.add_argument("-h", "--help", action="store_true", help="show help (of TARGET when given)")
    p.set_defaults(run=_run_export, export_parser=p)

    p = sub.add_parser(
        "convert", help="write any loadable input as a current-format MegaDetector file",
        description="Load any input an installed loader reads (e.g. SpeciesNet predictions.json)\n"
        "and write it as a current-format MegaDetector results file.",
        epilog="example:\n  mdi convert predictions.json -o md_results.json",
        formatter_class=_Formatter,
    )
    p.add_argument("input", metavar="IN")
    p.add_argument("-o", "--output", required=True, metavar="OUT.json")
    p.add_argument("--compact", action="store_true", help="no indentation (smaller, faster)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(run=_run_convert)
    loading.append(p)

    p = sub.add_parser(
        "demo", help="run every installed exporter on the bundled sample",
        description="Copy the bundled sample (JPEGs and a results file) into OUT_DIR and run\n"
        "every installed exporter on its own copy; print what each produced.",
        epilog="example:\n  mdi demo mdi-demo",
        formatter_class=_Formatter,
    )
    p.add_argument("out_dir", nargs="?", default="mdi-demo", metavar="OUT_DIR",
                   help="where to put the copies and outputs (default: ./mdi-demo)")
    p.set_defaults(run=_run_demo)

    if with_plugins:
        from .plugins import manager

        manager().hook.mdi_register_commands(subparsers=sub)
    if loader_options:
        from .cliopts import add_loader_options

        for p in loading:
            add_loader_options(p)
    return parser


def add_lazy_command(subparsers, name: str, help: str, add: Callable) -> None:
    """Register ``mdi NAME``, whose real parser (and imports) are built only when it runs.

    ``add(subparsers)`` adds the real parser, as a ``mdi_register_commands``
    hook would; ``mdi --help`` shows only ``help``, so start-up stays light.
    """
    stub = subparsers.add_parser(name, help=help, add_help=False)
    stub.add_argument("words", nargs=argparse.REMAINDER)
    stub.set_defaults(lazy=add)


def _run_lazy(add: Callable, argv: Sequence[str]) -> int:
    real = argparse.ArgumentParser(prog="mdi")
    add(real.add_subparsers())
    args = real.parse_args(argv)
    return args.run(args) or 0


def _run_plugins(args) -> int:
    from .plugins import describe

    for row in describe():
        print(f"{row['name']:<14} {row['distribution']} {row['version']}")
        for item in row["provides"]:
            print(f"    {item}")
    return 0


def _run_validate(args) -> int:
    from .api import validate
    from .cliopts import loader_values

    bad = 0
    for file in args.files:
        problems = validate(file, **loader_values(args))
        for p in problems:
            print(p.format(file))
        failing = [p for p in problems if p.severity == "error" or (p.severity == "unsafe" and not args.allow_unsafe)]
        if failing:
            bad += 1
            print(f"{file}: INVALID ({len(failing)} problem(s))", file=sys.stderr)
        else:
            print(f"{file}: valid" + (f" ({len(problems)} warning(s))" if problems else ""))
    return 1 if bad else 0


def _run_export(args, rest: Sequence[str]) -> int:
    from . import cliopts
    from .api import load
    from .convert import structure_options
    from .plugins import exporters, get_exporter

    if not args.target:
        args.export_parser.print_help()
        names = sorted(exporters())
        print("\ninstalled targets: " + (", ".join(names) if names else "none (pip install megadetector-integrations-folders, ...)"))
        return 0 if args.help else 2
    exporter = get_exporter(args.target)
    parser = argparse.ArgumentParser(
        prog=f"mdi export {args.target}", description=exporter.help, formatter_class=_Formatter,
    )
    parser.add_argument("results", metavar="RESULTS", help="results file (any format a loader reads)")
    cliopts.add_options(parser, exporter.options)
    cliopts.add_loader_options(parser)
    if args.help:
        parser.print_help()
        return 0
    ns = parser.parse_args(rest)
    options = structure_options(exporter.options, cliopts.options_values(exporter.options, ns))
    report = exporter.run(load(ns.results, **cliopts.loader_values(ns)), options)
    print(report.format())
    return 0


def _run_convert(args) -> int:
    from pathlib import Path

    from .api import load, write
    from .cliopts import loader_values
    from .errors import MdiError

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise MdiError(f"{out} exists; add --overwrite to replace it")
    if out.exists() and out.resolve() == Path(args.input).resolve():
        raise MdiError(f"{out} is the input file; choose another output")
    results = load(args.input, **loader_values(args))
    write(results, out, indent=None if args.compact else 1)
    print(f"wrote {out}: {len(results.images):,} images")
    return 0


def _run_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.out_dir)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .errors import MdiError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # Plugin commands are only needed when the first word is not a core command.
        core = {"validate", "export", "convert", "demo", "plugins", "--version"}
        first = argv[0] if argv else None
        parser = build_parser(with_plugins=first not in core,
                              loader_options=first in ("validate", "convert"))
        args, rest = parser.parse_known_args(argv)
        if getattr(args, "lazy", None):
            return _run_lazy(args.lazy, argv)
        run = getattr(args, "run", None)
        if run is None:
            parser.print_help()
            return 2
        if run is _run_export:
            return run(args, rest)
        if rest:
            parser.error("unrecognized arguments: " + " ".join(rest))
        return run(args) or 0
    except MdiError as exc:
        print(f"mdi: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mdi: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mdi validate big.json | head`: the reader left
        sys.stderr.close()
        return 141


def console_main() -> None:
    """The ``mdi`` executable: ``main``, then exit without tearing down every object.

    Freeing millions of results objects one by one at exit costs ~0.5 s per
    million images for nothing. Exit handlers still run (plugins use them, e.g.
    to stop a server) and output is flushed first.
    """
    import atexit
    import os

    from . import api

    api.keep_until_exit = []
    status = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    console_main()
