"""Every SQL statement the plugin runs against the eMammal ``wild_id`` database.

Only the tables and columns the original eMammal integration app used are
read or written (see the plugin README); the schema is never altered. Table
names are left unqualified, so the database named in the connection is used.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import attrs

from megadetector_integrations.errors import MdiError

#: Rows per INSERT/DELETE statement: large enough to be fast, well under max_allowed_packet.
BATCH = 5000

Row = tuple[int, int, int]  # (sequence_id, project_taxa_id, total_count)


@attrs.frozen
class Taxon:
    id: int
    species: str
    common_name: Optional[str] = None

    @property
    def label(self) -> str:
        return self.common_name or self.species


@attrs.frozen
class Deployment:
    id: int
    name: str
    project_id: Optional[int]


def _all(conn, sql: str, args: Sequence = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def projects(conn) -> list[tuple[int, str]]:
    """eMammal projects: ``(project_id, name)``."""
    return _all(conn, "SELECT p.project_id, p.name FROM project p "
                      "JOIN emammal_project e ON e.project_id = p.project_id ORDER BY p.project_id")


def find_project(conn, text: str) -> int:
    """A project id from an id or an exact (case-insensitive) name."""
    found = projects(conn)
    for pid, name in found:
        if text == str(pid) or text.casefold() == (name or "").casefold():
            return pid
    known = ", ".join(f"{pid} ({name})" for pid, name in found) or "none"
    raise MdiError(f"no eMammal project {text!r} (projects: {known}); `mdi emammal projects` lists them")


def deployments(conn, project_id: int) -> list[tuple]:
    """``(deployment_id, name, event_id, event name, images, sequences, annotated sequences)``."""
    return _all(conn, """
        SELECT d.deployment_id, d.name, ev.event_id, ev.name,
               (SELECT COUNT(*) FROM image i JOIN image_sequence s ON s.image_sequence_id = i.image_sequence_id
                 WHERE s.deployment_id = d.deployment_id),
               (SELECT COUNT(*) FROM image_sequence s WHERE s.deployment_id = d.deployment_id),
               (SELECT COUNT(DISTINCT a.sequence_id) FROM emammal_sequence_annotation a
                  JOIN image_sequence s ON s.image_sequence_id = a.sequence_id
                 WHERE s.deployment_id = d.deployment_id)
          FROM deployment d
          JOIN emammal_deployment ed ON ed.deployment_id = d.deployment_id
          JOIN event ev ON ev.event_id = ed.event_id
         WHERE ev.project_id = %s
         ORDER BY d.deployment_id""", (project_id,))


def taxa(conn, project_id: int) -> list[Taxon]:
    rows = _all(conn, "SELECT emammal_project_taxa_id, species, common_name FROM emammal_project_taxa "
                      "WHERE project_id = %s ORDER BY emammal_project_taxa_id", (project_id,))
    return [Taxon(int(i), s or "", c) for i, s, c in rows]


def deployment(conn, deployment_id: int) -> Deployment:
    rows = _all(conn, """
        SELECT d.deployment_id, d.name, ev.project_id
          FROM deployment d
          LEFT JOIN emammal_deployment ed ON ed.deployment_id = d.deployment_id
          LEFT JOIN event ev ON ev.event_id = ed.event_id
         WHERE d.deployment_id = %s""", (deployment_id,))
    if not rows:
        raise MdiError(f"no deployment {deployment_id} in the eMammal database; "
                       "`mdi emammal deployments --project P` lists the deployments")
    did, name, project_id = rows[0]
    return Deployment(int(did), name or "", project_id)


def deployment_images(conn, deployment_id: int) -> list[tuple[str, int]]:
    """``(raw_name, image_sequence_id)`` of every image of the deployment."""
    return _all(conn, "SELECT i.raw_name, i.image_sequence_id FROM image_sequence s "
                      "JOIN image i ON i.image_sequence_id = s.image_sequence_id "
                      "WHERE s.deployment_id = %s", (deployment_id,))


def annotations(conn, deployment_id: int) -> list[Row]:
    """Every annotation row of the deployment's sequences."""
    return _all(conn, "SELECT a.sequence_id, a.project_taxa_id, a.total_count "
                      "FROM emammal_sequence_annotation a "
                      "JOIN image_sequence s ON s.image_sequence_id = a.sequence_id "
                      "WHERE s.deployment_id = %s", (deployment_id,))


def supports_transactions(conn) -> bool:
    """False when the annotation table's engine (e.g. MyISAM) cannot roll back."""
    rows = _all(conn, "SELECT e.TRANSACTIONS FROM information_schema.TABLES t "
                      "JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE "
                      "WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = 'emammal_sequence_annotation'")
    return not rows or rows[0][0] == "YES"


def _batches(rows: Sequence[Row]) -> Iterable[Sequence[Row]]:
    return (rows[i:i + BATCH] for i in range(0, len(rows), BATCH))


def delete_rows(conn, rows: Sequence[Row]) -> None:
    """Delete exactly these (sequence, taxon, count) rows."""
    with conn.cursor() as cur:
        for batch in _batches(rows):
            marks = ",".join(["(%s,%s,%s)"] * len(batch))
            cur.execute("DELETE FROM emammal_sequence_annotation "
                        f"WHERE (sequence_id, project_taxa_id, total_count) IN ({marks})",
                        [v for row in batch for v in row])


def insert_rows(conn, rows: Sequence[Row], progress=None) -> None:
    with conn.cursor() as cur:
        for batch in (progress or (lambda b: b))(list(_batches(rows))):
            marks = ",".join(["(%s,%s,%s)"] * len(batch))
            cur.execute("INSERT INTO emammal_sequence_annotation (sequence_id, project_taxa_id, total_count) "
                        f"VALUES {marks}", [v for row in batch for v in row])


def verify_rows(conn, deployment_id: int) -> list[tuple]:
    """``(raw_name, taxon label, total_count)`` per image, as the app's Verify button listed them.

    Images without annotations are listed too, with ``None``.
    """
    return _all(conn, """
        SELECT i.raw_name, COALESCE(t.common_name, t.species), a.total_count
          FROM image_sequence s
          JOIN image i ON i.image_sequence_id = s.image_sequence_id
          LEFT JOIN emammal_sequence_annotation a ON a.sequence_id = s.image_sequence_id
          LEFT JOIN emammal_project_taxa t ON t.emammal_project_taxa_id = a.project_taxa_id
         WHERE s.deployment_id = %s
         ORDER BY i.raw_name, t.species""", (deployment_id,))
