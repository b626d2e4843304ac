"""A real MariaDB server for the whole test session, and a fresh eMammal
``wild_id`` database (with realistic fixture rows) for each test."""

from __future__ import annotations

import itertools
import re
import json

import attrs
import pytest

from megadetector_integrations.testing import require_tool

USER, PASSWORD = "emammal", "s3cret pass"
_numbers = itertools.count(1)

#: Project 1's taxa: the app's four defaults plus three species (id, species, common name).
TAXA = [
    (1, "No Animal", "No Animal"),
    (2, "Unknown Animal", "Unknown Animal"),
    (3, "Homo sapiens", "Human"),
    (4, "Vehicle", "Vehicle"),
    (5, "Odocoileus virginianus", "White-tailed Deer"),
    (6, "Canis latrans", "Coyote"),
    (7, "Sciurus carolinensis", "Eastern Gray Squirrel"),
]
#: Deployment 10 'site_a cam_1': raw_name is the file name. sequence → images
CAM_1 = {
    100: ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"],
    101: ["IMG_0004.JPG", "IMG_0005.JPG"],
    102: ["IMG_0006.JPG"],
    103: ["IMG_0007.JPG", "IMG_0008.JPG"],
    104: ["IMG_0009.JPG"],
}
#: Deployment 11 'site_a cam_2': raw_name is <parent folder>_<file name>.
CAM_2 = {200: ["cam_2_IMG_0001.JPG", "cam_2_IMG_0002.JPG"], 201: ["cam_2_IMG_0003.JPG"]}


@pytest.fixture(scope="session")
def mariadb():
    """One private server per session (tmpfs data directory, socket and a TCP port)."""
    require_tool("mariadbd", "mysqld")
    require_tool("mariadb-install-db", "mysql_install_db")
    from megadetector_integrations_emammal.server import PrivateServer

    server = PrivateServer().start()
    try:
        server.create_user(USER, PASSWORD)
        yield server
    finally:
        server.stop()


@attrs.define
class WildId:
    """One test's eMammal database: its URL, and helpers to look inside."""

    server: object
    name: str
    record: object
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return self.server.url(USER, self.name)

    def args(self, *more: str) -> list[str]:
        return ["--db", self.url, "--record", str(self.record), *more]

    def query(self, sql: str, args=()) -> list[tuple]:
        with self.server.root(self.name) as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return [tuple(r) for r in cur.fetchall()]

    def annotations(self) -> list[tuple]:
        return sorted(self.query("SELECT sequence_id, project_taxa_id, total_count FROM emammal_sequence_annotation"))

    def schema(self) -> list[str]:
        """Every table's definition (the AUTO_INCREMENT counter left out: rows move it)."""
        tables = sorted(r[0] for r in self.query("SHOW TABLES"))
        return [re.sub(r" AUTO_INCREMENT=\d+", "", self.query(f"SHOW CREATE TABLE {t}")[0][1]) for t in tables]


@pytest.fixture
def wild_id(mariadb, tmp_path, monkeypatch):
    """A fresh eMammal client database: project 1 with two deployments and taxa,
    project 2 with its own deployment, and an empty deployment."""
    from megadetector_integrations_emammal.server import create_wild_id, insert

    name = f"wild_id_{next(_numbers)}"
    with mariadb.root() as conn:
        create_wild_id(conn, name)
        insert(conn, "project", ("project_id", "name"), [(1, "Mammals of the Blue Ridge"), (2, "Urban Wildlife")])
        insert(conn, "emammal_project", ("project_id",), [(1,), (2,)])
        insert(conn, "event", ("event_id", "name", "project_id"), [(5, "Spring 2024", 1), (6, "Parks", 2)])
        insert(conn, "deployment", ("deployment_id", "name"),
               [(10, "site_a cam_1"), (11, "site_a cam_2"), (12, "not loaded yet"), (20, "park cam")])
        insert(conn, "emammal_deployment", ("deployment_id", "event_id"), [(10, 5), (11, 5), (12, 5), (20, 6)])
        insert(conn, "emammal_project_taxa",
               ("emammal_project_taxa_id", "project_id", "species", "common_name"),
               [(i, 1, s, c) for i, s, c in TAXA] + [(51, 2, "Procyon lotor", "Raccoon"), (52, 2, "No Animal", None)])
        sequences = [(s, 10) for s in CAM_1] + [(s, 11) for s in CAM_2] + [(300, 20)]
        insert(conn, "image_sequence", ("image_sequence_id", "deployment_id"), sequences)
        images = [(raw, s) for group in (CAM_1, CAM_2) for s, raws in group.items() for raw in raws]
        insert(conn, "image", ("raw_name", "image_sequence_id"), images + [("PARK0001.JPG", 300)])
    monkeypatch.setenv("MDI_EMAMMAL_PASSWORD", PASSWORD)
    return WildId(mariadb, name, tmp_path / "record.jsonl")


def _detection(spec) -> dict:
    """``(category, conf)`` or ``(category, conf, [(class, conf), ...])`` → a detection."""
    category, conf, *classes = spec
    d = {"category": category, "conf": conf, "bbox": [0.1, 0.1, 0.2, 0.2]}
    if classes:
        d["classifications"] = [list(c) for c in classes[0]]
    return d


@pytest.fixture
def make_results(tmp_path):
    """Write a MegaDetector 1.4 results file: ``images`` maps file → detection
    specs (see ``_detection``) or a failure string."""

    def make(images: dict, threshold: float = 0.2, classes=None, descriptions=None, name="md.json"):
        doc = {
            "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt",
                     "detector_metadata": {"typical_detection_threshold": threshold}},
            "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
            "images": [{"file": f, "detections": None, "failure": d} if isinstance(d, str)
                       else {"file": f, "detections": [_detection(x) for x in d]} for f, d in images.items()],
        }
        if classes:
            doc["classification_categories"] = classes
        if descriptions:
            doc["classification_category_descriptions"] = descriptions
        path = tmp_path / name
        path.write_text(json.dumps(doc))
        return str(path)

    return make
