"""eMammal: write MegaDetector results as sequence annotations into the eMammal
desktop client's MySQL database (``wild_id``), replacing the Windows
"eMammal integration app".

    mdi emammal deployments --project 1
    mdi export emammal md_results.json --deployment 12 --dry-run

Modules, one job each: ``connection`` (reaching the database), ``database``
(every SQL statement), ``plan`` (what to write, no database), ``export``
(the exporter), ``commands`` (``mdi emammal ...``), ``server`` (a private
MariaDB server for tests, the benchmark and the demo).
"""

from __future__ import annotations

from megadetector_integrations.hookspecs import hookimpl

HELP = """Write one annotation per eMammal sequence into the eMammal desktop client's database.

Each sequence is decided from all its images: every category with a detection
at or above the threshold gets its taxon, counted as the most detections of it
in any one image; a sequence without any gets the blank taxon (never both).
Result entries match images by file name (raw_name = file name, or
<parent folder>_<file name>). One transaction: all rows or none. Re-runs add
nothing twice; the database schema is never changed.

examples:
  export MDI_EMAMMAL_PASSWORD=...     # or type it when asked
  mdi export emammal md_results.json --deployment 12 --dry-run
  mdi export emammal md_results.json --deployment 12 --map animal="Unknown Animal" --threshold 0.3
  mdi export emammal md_results.json --deployment 12 --folder site_a/cam_1 --species
  mdi export emammal md_results.json --deployment 12 --threshold 0.5 --replace
  mdi emammal verify --deployment 12
Find ids and taxon names with `mdi emammal projects|deployments|taxa`."""


@hookimpl
def mdi_register_exporters():
    from megadetector_integrations.registry import Exporter

    from .export import EmammalOptions, export_emammal

    return [Exporter("emammal", EmammalOptions, export_emammal, help=HELP, demo=demo)]


@hookimpl
def mdi_register_commands(subparsers):
    from .commands import add_commands

    add_commands(subparsers)


def demo(images_root, out_dir):
    """Options for ``mdi demo``: a private MariaDB server holding one deployment of
    the sample's ``site_a`` images (stopped when the process ends). Without a
    server binary, the options point at a socket that does not exist, so the
    demo reports that clearly instead of touching any real database."""
    import atexit
    from pathlib import Path

    from .export import EmammalOptions
    from .server import PrivateServer, find_binary

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = out / "emammal-record.jsonl"
    if not find_binary("mariadbd", "mysqld"):
        missing = out / "mariadb-server-not-installed.sock"
        return EmammalOptions(db=f"mysql://root:@localhost/wild_id?unix_socket={missing}", deployment=1,
                              record=record)
    server = PrivateServer().start()
    atexit.register(server.stop)
    with server.root() as conn:
        _demo_database(conn, Path(images_root) / "site_a")
    return EmammalOptions(db=f"mysql://root:@localhost/wild_id?unix_socket={server.socket}",
                          deployment=1, folder="site_a", species=True, record=record)


def _demo_database(conn, site) -> None:
    """Project 1, deployment 1 'site_a': two images per sequence, as eMammal names them."""
    from .server import create_wild_id, insert

    create_wild_id(conn, "wild_id")
    insert(conn, "project", ("project_id", "name"), [(1, "mdi demo project")])
    insert(conn, "emammal_project", ("project_id",), [(1,)])
    insert(conn, "event", ("event_id", "name", "project_id"), [(1, "demo sub-project", 1)])
    insert(conn, "deployment", ("deployment_id", "name"), [(1, "site_a")])
    insert(conn, "emammal_deployment", ("deployment_id", "event_id"), [(1, 1)])
    taxa = ["No Animal", "Unknown Animal", "Homo sapiens", "Vehicle",
            "Odocoileus virginianus", "Canis latrans", "Meleagris gallopavo"]
    insert(conn, "emammal_project_taxa", ("emammal_project_taxa_id", "project_id", "species"),
           [(i, 1, name) for i, name in enumerate(taxa, 1)])
    files = sorted(p for p in site.rglob("*") if p.is_file())
    raw = [f"{p.parent.name}_{p.name}" for p in files]
    sequences = [(100 + i // 2,) for i in range(len(raw))]
    insert(conn, "image_sequence", ("image_sequence_id", "deployment_id"), sorted({(s, 1) for (s,) in sequences}))
    insert(conn, "image", ("raw_name", "image_sequence_id"), [(r, s) for r, (s,) in zip(raw, sequences)])
