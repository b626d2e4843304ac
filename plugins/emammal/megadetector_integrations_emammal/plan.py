"""What to write, decided without touching the database (pure functions).

1. ``build_rules``: detection categories, the blank decision and (optionally)
   species classifications → project taxa.
2. ``match_images``: result entries → the deployment's images, by file name
   (``raw_name`` is the file name, or ``<parent folder>_<file name>``).
3. ``decide``: one decision per eMammal sequence, from all its images.
4. ``plan_changes``: rows to insert and delete, given what is already there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, Mapping, Optional, Sequence

import attrs

from megadetector_integrations.errors import MdiError
from megadetector_integrations.model import Image, ResultsFile
from megadetector_integrations.paths import normalize

from .database import Row, Taxon

BLANK = "blank"
#: The eMammal integration app's defaults (matched case-insensitively to ``species``).
DEFAULT_TAXA = {"animal": "Unknown Animal", "person": "Homo sapiens", "vehicle": "Vehicle", BLANK: "No Animal"}
#: ``total_count`` of a blank sequence, as the eMammal app wrote it.
BLANK_COUNT = 1


# -- 1. rules ------------------------------------------------------------------


class TaxonIndex:
    """Find a project taxon by id, ``species`` or ``common_name`` (case-insensitive)."""

    def __init__(self, taxa: Iterable[Taxon]):
        self.taxa = list(taxa)
        self._by_name: dict[str, set[int]] = defaultdict(set)
        for t in self.taxa:
            for name in (t.species, t.common_name):
                if name:
                    self._by_name[name.strip().casefold()].add(t.id)
        self._by_id = {t.id: t for t in self.taxa}

    def find(self, text: str) -> Optional[Taxon]:
        text = text.strip()
        if text.isdigit() and int(text) in self._by_id:
            return self._by_id[int(text)]
        ids = self._by_name.get(text.casefold(), set())
        if len(ids) > 1:
            raise MdiError(f"taxon name {text!r} is ambiguous in this project (ids {sorted(ids)}); give the id")
        return self._by_id[ids.pop()] if ids else None

    def require(self, text: str, option: str) -> Taxon:
        taxon = self.find(text)
        if taxon is None:
            names = ", ".join(repr(t.species) for t in self.taxa[:15])
            more = ", ..." if len(self.taxa) > 15 else ""
            raise MdiError(f"{option}: the project has no taxon {text!r} (it has {names}{more}); "
                           "`mdi emammal taxa --project P` lists them")
        return taxon


@attrs.frozen
class Rules:
    """How detections become taxa. Taxa are ``emammal_project_taxa_id`` values."""

    threshold: float
    category_taxa: Mapping[str, int]
    blank_taxon: Optional[int]
    #: category id → why it has no taxon (reported when such detections occur).
    unmapped: Mapping[str, str] = attrs.field(factory=dict)
    species_threshold: float = 1.0
    class_taxa: Mapping[str, int] = attrs.field(factory=dict)
    #: classification id → name, for classes with no project taxon.
    unmapped_classes: Mapping[str, str] = attrs.field(factory=dict)

    def species_class(self, detection) -> Optional[str]:
        """The detection's best classification, when above the species threshold."""
        if detection.classifications:
            class_id, conf = max(detection.classifications, key=lambda c: c[1])
            if conf > self.species_threshold:
                return class_id
        return None

    def taxon(self, detection) -> Optional[int]:
        """The taxon of one detection above threshold, ``None`` when unmapped."""
        if self.class_taxa and (class_id := self.species_class(detection)) in self.class_taxa:
            return self.class_taxa[class_id]
        return self.category_taxa.get(detection.category)


def _category_key(results: ResultsFile, key: str) -> str:
    """A ``--map`` key (category name, id, or ``blank``) → category id or ``blank``."""
    if key.casefold() == BLANK:
        return BLANK
    for cid, name in results.detection_categories.items():
        if key.casefold() == name.casefold():
            return cid
    if key in results.detection_categories:
        return key
    names = ", ".join([*results.detection_categories.values(), BLANK])
    raise MdiError(f"--map {key}=...: the results have no detection category {key!r} (use one of: {names})")


def _binomial(description: Optional[str]) -> Optional[str]:
    """'Genus species' from a SpeciesNet taxonomy string 'id;class;order;family;genus;species;common'."""
    parts = (description or "").split(";")
    if len(parts) >= 6 and parts[4] and parts[5]:
        return f"{parts[4].capitalize()} {parts[5]}"
    return None


def build_rules(results: ResultsFile, taxa: Sequence[Taxon], *, threshold: float,
                category_map: Mapping[str, str], species: bool = False,
                species_map: Optional[Mapping[str, str]] = None, species_threshold: float = 0.5) -> Rules:
    """Resolve every mapping to taxa; a taxon name the user gave must exist."""
    index = TaxonIndex(taxa)
    chosen = {_category_key(results, k): (v, f"--map {k}") for k, v in category_map.items()}
    mapped: dict[str, int] = {}
    unmapped: dict[str, str] = {}
    for cid in [*results.detection_categories, BLANK]:
        name = BLANK if cid == BLANK else results.detection_categories[cid]
        if cid in chosen:
            mapped[cid] = index.require(*chosen[cid]).id
        elif name.casefold() in DEFAULT_TAXA and (t := index.find(DEFAULT_TAXA[name.casefold()])):
            mapped[cid] = t.id
        else:
            default = DEFAULT_TAXA.get(name.casefold())
            why = f"no taxon {default!r} in the project" if default else "no default taxon"
            unmapped[cid] = f"category '{name}': {why}; add --map {name}=TAXON"
    class_taxa, unmapped_classes = _species_taxa(results, index, species_map or {}) if species else ({}, {})
    return Rules(threshold, {k: v for k, v in mapped.items() if k != BLANK}, mapped.get(BLANK),
                 unmapped, species_threshold, class_taxa, unmapped_classes)


def _species_taxa(results: ResultsFile, index: TaxonIndex,
                  species_map: Mapping[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """Classification ids → taxa: ``--species-map``, else the name, else the binomial."""
    classes = results.classification_categories or {}
    by_name = {name.casefold(): cid for cid, name in classes.items()}
    explicit = {}
    for name, taxon in species_map.items():
        if name.casefold() not in by_name:
            raise MdiError(f"--species-map {name}=...: the results have no classification {name!r}")
        explicit[by_name[name.casefold()]] = index.require(taxon, f"--species-map {name}").id
    found, missing = {}, {}
    descriptions = results.classification_category_descriptions or {}
    for cid, name in classes.items():
        if cid in explicit:
            found[cid] = explicit[cid]
            continue
        binomial = _binomial(descriptions.get(cid))
        taxon = index.find(name) or (index.find(binomial) if binomial else None)
        if taxon is None:
            missing[cid] = name
        else:
            found[cid] = taxon.id
    return found, missing


# -- 2. matching ---------------------------------------------------------------


def raw_names(file: str) -> tuple[str, ...]:
    """The ``raw_name`` values an entry can have in eMammal, most specific first."""
    parts = normalize(file).split("/")
    return (f"{parts[-2]}_{parts[-1]}", parts[-1]) if len(parts) > 1 else (parts[-1],)


@attrs.frozen
class Match:
    by_sequence: dict[int, list[Image]]
    #: images per sequence in the deployment (matched or not).
    sequence_sizes: dict[int, int]
    unmatched: list[str]
    ambiguous: list[str]
    without_results: list[str]
    outside_folder: int = 0
    #: result entries not used because another entry matched the same image
    ambiguous_entries: int = 0


def match_images(images: Sequence[Image], deployment: Sequence[tuple[str, int]],
                 folder: Optional[str] = None) -> Match:
    """Pair result entries with the deployment's images, reporting what is left over."""
    sequence_of: dict[str, int] = {}
    duplicated: set[str] = set()
    sizes: Counter = Counter()
    for raw, seq in deployment:
        if raw in sequence_of:
            duplicated.add(raw)
        sequence_of[raw] = seq
        sizes[seq] += 1
    prefix = normalize(folder).strip("/") + "/" if folder else ""
    claims: dict[str, list[Image]] = defaultdict(list)
    unmatched, outside = [], 0
    for im in images:
        if prefix and not normalize(im.file).startswith(prefix):
            outside += 1
            continue
        raw = next((r for r in raw_names(im.file) if r in sequence_of), None)
        if raw is None:
            unmatched.append(im.file)
        else:
            claims[raw].append(im)
    by_sequence: dict[int, list[Image]] = defaultdict(list)
    ambiguous, n_ambiguous = [], 0
    for raw, ims in claims.items():
        if len(ims) > 1 or raw in duplicated:
            n_ambiguous += len(ims)
        if len(ims) > 1:
            files = ", ".join(im.file for im in ims)
            ambiguous.append(f"{files}: all match image {raw}; none used (pick the camera with --folder)")
        elif raw in duplicated:
            ambiguous.append(f"{ims[0].file}: several images of the deployment are named {raw}; not used")
        else:
            by_sequence[sequence_of[raw]].append(ims[0])
    without = sorted(raw for raw in sequence_of if raw not in claims)
    return Match(dict(by_sequence), dict(sizes), unmatched, ambiguous, without, outside, n_ambiguous)


# -- 3. decisions --------------------------------------------------------------


@attrs.frozen
class Decisions:
    #: sequence → taxon → total_count
    wanted: dict[int, dict[int, int]]
    #: sequences with no decision, and why
    skipped: list[str]
    failed: list[str]
    #: detections above threshold per unmapped category id / classification id
    unmapped: Counter
    unmapped_classes: Counter


def _image_counts(image: Image, rules: Rules, unmapped: Counter, unmapped_classes: Counter) -> Counter:
    """Detections above threshold per taxon in one image."""
    counts: Counter = Counter()
    for d in image.detections or ():
        if d.conf < rules.threshold:
            continue
        taxon = rules.taxon(d)
        if taxon is None:
            unmapped[d.category] += 1
            continue
        counts[taxon] += 1
        if rules.unmapped_classes and (class_id := rules.species_class(d)) in rules.unmapped_classes:
            unmapped_classes[class_id] += 1
    return counts


def decide(match: Match, rules: Rules) -> Decisions:
    """One decision per sequence: each taxon seen above threshold with its largest
    count in any one image; the blank taxon only when every image of the sequence
    has a result, none failed and none has a detection above threshold."""
    wanted: dict[int, dict[int, int]] = {}
    skipped, failed = [], []
    unmapped, unmapped_classes = Counter(), Counter()
    for seq, images in sorted(match.by_sequence.items()):
        best: dict[int, int] = {}
        seq_unmapped = sum(unmapped.values())
        n_failed = 0
        for im in images:
            if im.failed:
                failed.append(f"{im.file}: failed in MegaDetector ({im.failure})")
                n_failed += 1
                continue
            for taxon, n in _image_counts(im, rules, unmapped, unmapped_classes).items():
                best[taxon] = max(best.get(taxon, 0), n)
        missing = match.sequence_sizes[seq] - len(images)
        if best:
            wanted[seq] = best
        elif sum(unmapped.values()) > seq_unmapped:
            skipped.append(f"sequence {seq}: only detections of unmapped categories; not annotated")
        elif n_failed or missing:
            why = f"{n_failed} image(s) failed" if n_failed else f"{missing} image(s) have no result"
            skipped.append(f"sequence {seq}: no detection, but {why}; not marked blank")
        elif rules.blank_taxon is None:
            skipped.append(f"sequence {seq}: blank, but no taxon for blank (add --map blank=TAXON)")
        else:
            wanted[seq] = {rules.blank_taxon: BLANK_COUNT}
    return Decisions(wanted, skipped, failed, unmapped, unmapped_classes)


# -- 4. changes ----------------------------------------------------------------


@attrs.frozen
class Changes:
    inserts: list[Row]
    deletes: list[Row]
    unchanged: int
    #: sequence → why it was left as it is
    kept: dict[int, str]


def plan_changes(wanted: Mapping[int, Mapping[int, int]], existing: Iterable[Row],
                 machine: set[Row], replace: bool) -> Changes:
    """Rows to write so each decided sequence holds exactly its decision.

    A sequence already holding exactly the decision is left alone (re-runs are
    idempotent). One holding something else is left alone too, unless
    ``replace`` is given and every row it holds was written by mdi (``machine``):
    annotations made in eMammal are never touched.
    """
    have: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for seq, taxon, count in existing:
        have[seq].add((taxon, count))
    inserts, deletes, kept = [], [], {}
    unchanged = 0
    sequences = set(wanted) | ({s for s, _, _ in machine if s in have} if replace else set())
    for seq in sorted(sequences):
        want = set(wanted.get(seq, {}).items())
        old = have.get(seq, set())
        if old == want:
            unchanged += bool(want)
            continue
        if old and not replace:
            kept[seq] = "already annotated differently (--replace replaces what mdi wrote)"
            continue
        if any((seq, t, c) not in machine for t, c in old):
            kept[seq] = "has annotations made in eMammal; left as they are"
            continue
        deletes += [(seq, t, c) for t, c in sorted(old)]
        inserts += [(seq, t, c) for t, c in sorted(want)]
    return Changes(inserts, deletes, unchanged, kept)
