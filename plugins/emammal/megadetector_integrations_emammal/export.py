"""``mdi export emammal``: write one annotation decision per eMammal sequence.

Everything is read and written in one transaction: either every row lands or
none does. Which rows mdi wrote is kept in a small journal outside the
database (the user's schema is never altered), so ``--replace`` can replace
exactly those and never touch annotations made in eMammal.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from typing import Mapping, Optional

import attrs

from megadetector_integrations.errors import MdiError
from megadetector_integrations.registry import Report

from .connection import ConnectionOptions, resolve

_unit = attrs.validators.optional([attrs.validators.ge(0.0), attrs.validators.le(1.0)])


@attrs.frozen(kw_only=True)
class EmammalOptions(ConnectionOptions):
    deployment: int = attrs.field(metadata={
        "help": "eMammal deployment id (`mdi emammal deployments --project P` lists them)"})
    map: Mapping[str, str] = attrs.field(factory=dict, metadata={
        "metavar": "CATEGORY=TAXON",
        "help": "taxon for a detection category or 'blank', by species, common name or id "
                "(defaults: animal='Unknown Animal' person='Homo sapiens' vehicle='Vehicle' "
                "blank='No Animal')"})
    threshold: Optional[float] = attrs.field(default=None, validator=_unit, metadata={
        "help": "detections count when conf >= this (default: the results file's "
                "typical_detection_threshold, else as MegaDetector chooses)"})
    species: bool = attrs.field(default=False, metadata={
        "help": "use species classifications: a detection whose best class is above "
                "--species-threshold gets the project taxon of that name"})
    species_map: Mapping[str, str] = attrs.field(factory=dict, metadata={
        "metavar": "CLASS=TAXON", "help": "taxon for a classification name (with --species)"})
    species_threshold: Optional[float] = attrs.field(default=None, validator=_unit, metadata={
        "help": "classifications count when conf > this (default: the results file's, else 0.5)"})
    folder: Optional[str] = attrs.field(default=None, metadata={
        "help": "only use result entries under this folder (e.g. the camera's folder), "
                "when the results cover more than this deployment"})
    replace: bool = attrs.field(default=False, metadata={
        "help": "replace the annotations mdi wrote earlier for this deployment "
                "(annotations made in eMammal are never touched)"})
    dry_run: bool = attrs.field(default=False, metadata={
        "help": "print the rows that would be written and change nothing"})
    record: Optional[Path] = attrs.field(default=None, metadata={
        "help": "journal of the rows mdi wrote, used by --replace "
                "(default: one file per database in ~/.local/state/megadetector-integrations/emammal)"})


# -- the record of what mdi wrote --------------------------------------------


def default_record(options: ConnectionOptions) -> Path:
    """One journal per database, in the user's state folder."""
    target = resolve(options, ask=False)
    where = target.socket or f"{target.host}_{target.port}"
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{where}_{target.database}").strip("_") + ".jsonl"
    base = os.environ.get("XDG_STATE_HOME") or os.environ.get("LOCALAPPDATA") or Path.home() / ".local" / "state"
    return Path(base) / "megadetector-integrations" / "emammal" / name


def machine_rows(path: Path, deployment: int) -> set[tuple[int, int, int]]:
    """Rows mdi wrote to ``deployment`` and has not deleted since."""
    from megadetector_integrations.journal import read_journal

    rows: set = set()
    if path.exists():
        for entry in read_journal(path):
            if entry.get("deployment") == deployment:
                rows -= set(map(tuple, entry.get("deleted", ())))
                rows |= set(map(tuple, entry.get("inserted", ())))
    return rows


def _remember(path: Path, deployment: int, changes) -> None:
    """Append this run's rows to the record (after the commit: never claims unwritten rows)."""
    from megadetector_integrations.journal import Journal

    try:
        with Journal(path) as journal:
            journal.write(time=time.strftime("%Y-%m-%dT%H:%M:%S%z"), deployment=deployment,
                          inserted=changes.inserts, deleted=changes.deletes)
    except OSError as exc:
        raise MdiError(f"the rows were written, but recording them in {path} failed ({exc.strerror}); "
                       "--replace will treat them as made in eMammal") from None


# -- the export ----------------------------------------------------------------


def export_emammal(results, options: EmammalOptions) -> Report:
    from megadetector_integrations.thresholds import (typical_classification_threshold,
                                                      typical_detection_threshold)

    from . import database as db
    from .connection import connect
    from .plan import build_rules, decide, match_images, plan_changes

    threshold = options.threshold
    if threshold is None:
        threshold = typical_detection_threshold(results.info)
    species_threshold = options.species_threshold
    if species_threshold is None:
        species_threshold = typical_classification_threshold(results.info)
    record = options.record or default_record(options)
    with connect(options) as conn:
        dep = db.deployment(conn, options.deployment)
        if dep.project_id is None:
            raise MdiError(f"deployment {dep.id} belongs to no eMammal project (no emammal_deployment/event "
                           "row), so it has no taxa; save the deployment in eMammal first")
        taxa = db.taxa(conn, dep.project_id)
        rules = build_rules(results, taxa, threshold=threshold, category_map=options.map,
                            species=options.species, species_map=options.species_map,
                            species_threshold=species_threshold)
        images = db.deployment_images(conn, dep.id)
        if not images:
            raise MdiError(f"deployment {dep.id} '{dep.name}' has no images; load the photos into it "
                           "in eMammal first (Load New Photos)")
        match = match_images(results.images, images, options.folder)
        if not match.by_sequence and not match.ambiguous:
            raise MdiError(_nothing_matches(results, match, dep, images, options.folder))
        decisions = decide(match, rules)
        changes = plan_changes(decisions.wanted, db.annotations(conn, dep.id),
                               machine_rows(record, dep.id), options.replace)
        transactional = db.supports_transactions(conn)
        if options.dry_run:
            conn.rollback()
            _print_rows(changes, taxa)
        else:
            _write(conn, changes)
            if changes.inserts or changes.deletes:
                _remember(record, dep.id, changes)
    return _report(results, options, dep, taxa, rules, match, decisions, changes, transactional, record)


def _nothing_matches(results, match, dep, images, folder) -> str:
    examples = ", ".join(sorted(raw for raw, _ in images)[:3])
    scope = (f"--folder {folder} keeps {len(results.images) - match.outside_folder} of "
             f"{len(results.images)} entries; " if folder else "")
    return (f"none of the result entries match an image of deployment {dep.id} '{dep.name}' "
            f"({scope}its {len(images)} images are named like {examples}); nothing was written. "
            "Are these results for another deployment? Check --deployment (or --folder)")


def _write(conn, changes) -> None:
    """Apply the changes in the open transaction and commit; roll back on any failure."""
    import pymysql

    from . import database as db
    from megadetector_integrations.progress import progress

    try:
        db.delete_rows(conn, changes.deletes)
        db.insert_rows(conn, changes.inserts,
                       lambda batches: progress(batches, total=len(batches), desc="eMammal", unit="batch"))
    except BaseException as exc:
        try:
            conn.rollback()
        except Exception:
            pass  # a lost connection rolls back on the server
        if isinstance(exc, pymysql.err.MySQLError):
            raise MdiError(f"writing to the eMammal database failed ({exc.args[-1]}); the transaction "
                           "was rolled back and nothing was written") from None
        raise
    try:
        conn.commit()
    except pymysql.err.MySQLError as exc:
        raise MdiError(f"the eMammal database failed while committing ({exc.args[-1]}); whether the "
                       "rows were written is unknown: check with `mdi emammal verify`") from None


def _print_rows(changes, taxa) -> None:
    labels = {t.id: t.label for t in taxa}
    rows = [("delete", r) for r in changes.deletes] + [("insert", r) for r in changes.inserts]
    print(f"{'action':<7} {'sequence_id':>11} {'project_taxa_id':>15} {'total_count':>11}  taxon")
    for action, (seq, taxon, count) in rows:
        print(f"{action:<7} {seq:>11} {taxon:>15} {count:>11}  {labels.get(taxon, '?')}")
    sys.stdout.flush()


def _report(results, options, dep, taxa, rules, match, decisions, changes, transactional, record) -> Report:
    names = results.detection_categories
    problems = []
    if not transactional:
        problems.append("the annotation table's storage engine has no transactions (MyISAM?): "
                        "an interrupted write could not have been rolled back")
    problems += [f"{rules.unmapped[cid]} ({n} detection(s) above threshold)"
                 for cid, n in sorted(decisions.unmapped.items()) if cid in rules.unmapped]
    problems += [f"category '{names.get(cid, cid)}' ({n} detection(s)): no taxon"
                 for cid, n in sorted(decisions.unmapped.items()) if cid not in rules.unmapped]
    problems += [f"classification '{rules.unmapped_classes[cid]}': no project taxon; {n} detection(s) "
                 f"counted as their category's taxon (add --species-map '{rules.unmapped_classes[cid]}=TAXON')"
                 for cid, n in sorted(decisions.unmapped_classes.items())]
    problems += [f"sequence {seq}: {why}" for seq, why in sorted(changes.kept.items())]
    problems += decisions.skipped + decisions.failed + match.ambiguous
    problems += [f"{file}: matches no image of deployment {dep.id}" for file in match.unmatched]
    problems += [f"{raw}: image of deployment {dep.id} has no result" for raw in match.without_results]
    verb = "would insert" if options.dry_run else "inserted"
    counts = {
        "result entries": len(results.images),
        "outside --folder": match.outside_folder,
        "matched images": sum(map(len, match.by_sequence.values())),
        "unmatched entries": len(match.unmatched) + match.ambiguous_entries,
        "images without result": len(match.without_results),
        "failed images": len(decisions.failed),
        "sequences decided": len(decisions.wanted),
        "sequences unchanged": changes.unchanged,
        "sequences left as is": len(changes.kept),
        f"rows {'to delete' if options.dry_run else 'deleted'}": len(changes.deletes),
        f"rows {'to insert' if options.dry_run else 'inserted'}": len(changes.inserts),
    }
    counts = {k: v for k, v in counts.items() if v or k in ("matched images", "sequences decided")}
    touched = len({s for s, _, _ in changes.inserts + changes.deletes})
    summary = (f"deployment {dep.id} '{dep.name}': {verb} {len(changes.inserts)} annotation row(s) "
               f"for {touched} sequence(s)")
    outputs = () if options.dry_run else (resolve(options, ask=False).describe(), str(record))
    return Report("emammal", summary, counts, outputs, tuple(problems), options.dry_run)
