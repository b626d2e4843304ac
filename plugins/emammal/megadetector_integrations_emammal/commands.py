"""``mdi emammal projects|deployments|taxa|verify``: find ids without the eMammal GUI."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  export MDI_EMAMMAL_PASSWORD=...          # or type it when asked
  mdi emammal projects
  mdi emammal deployments --project 1
  mdi emammal taxa --project 1
  mdi export emammal md_results.json --deployment 12 --dry-run
  mdi emammal verify --deployment 12
The eMammal desktop client must be open (its database is at localhost:3307);
--db mysql://USER@HOST:PORT/wild_id points elsewhere."""


def add_commands(subparsers) -> None:
    from megadetector_integrations import cliopts

    from .connection import ConnectionOptions

    top = subparsers.add_parser(
        "emammal", help="look into the eMammal desktop client's database (projects, taxa, ...)",
        description="List eMammal projects, deployments and taxa, and check what was written.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.set_defaults(run=lambda args: top.print_help() or 2)
    sub = top.add_subparsers(title="commands", metavar="COMMAND")
    specs = [
        ("projects", "list eMammal projects (ids for --project)", None, _projects),
        ("deployments", "list a project's deployments (ids for --deployment)", "project", _deployments),
        ("taxa", "list a project's taxa (names for --map and --species-map)", "project", _taxa),
        ("verify", "list each image of a deployment with its annotations", "deployment", _verify),
    ]
    for name, text, needs, run in specs:
        p = sub.add_parser(name, help=text, description=text + ".", epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if needs == "project":
            p.add_argument("--project", required=True, help="project id or name (`mdi emammal projects`)")
        elif needs == "deployment":
            p.add_argument("--deployment", required=True, type=int, help="deployment id")
        cliopts.add_options(p, ConnectionOptions)
        p.set_defaults(run=_with_connection(run))


def _with_connection(run):
    """Build the connection options from the parsed flags, connect, and call ``run(conn, args)``."""

    def command(args) -> int:
        from megadetector_integrations import cliopts
        from megadetector_integrations.convert import structure_options

        from .connection import ConnectionOptions, connect

        options = structure_options(ConnectionOptions, cliopts.options_values(ConnectionOptions, args))
        with connect(options) as conn:
            run(conn, args)
            conn.rollback()  # read only
        return 0

    return command


def _table(header: tuple, rows: list) -> None:
    cells = [tuple("" if v is None else str(v) for v in row) for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _projects(conn, args) -> None:
    from . import database as db

    _table(("project_id", "name"), db.projects(conn))


def _deployments(conn, args) -> None:
    from . import database as db

    rows = db.deployments(conn, db.find_project(conn, args.project))
    _table(("deployment_id", "name", "event_id", "sub-project", "images", "sequences", "annotated"), rows)


def _taxa(conn, args) -> None:
    from . import database as db

    rows = [(t.id, t.species, t.common_name) for t in db.taxa(conn, db.find_project(conn, args.project))]
    _table(("project_taxa_id", "species", "common_name"), rows)


def _verify(conn, args) -> None:
    from . import database as db

    dep = db.deployment(conn, args.deployment)
    lines: dict[str, list[str]] = {}
    for raw, label, count in db.verify_rows(conn, dep.id):
        labels = lines.setdefault(raw, [])
        if label is not None:
            labels.append(f"{label} x{count}")
    for raw, labels in lines.items():
        print(f"{raw} - {', '.join(labels) if labels else '(no annotation)'}")
    annotated = sum(1 for labels in lines.values() if labels)
    print(f"deployment {dep.id} '{dep.name}': {annotated} of {len(lines)} images annotated")
