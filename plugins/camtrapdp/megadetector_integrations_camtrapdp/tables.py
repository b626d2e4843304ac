"""Rows of the three Camtrap DP tables, built from results and timestamps.

Pure functions of their inputs (no file access), so the hand-checked tests
can feed them exactly the media and times they need.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, tzinfo
from typing import Iterable, Mapping, NamedTuple, Optional

from megadetector_integrations.model import Detection, Image, ResultsFile, is_video

#: MegaDetector category names → Camtrap DP ``observationType``; other names are ``unknown``.
OBSERVATION_TYPES = {"animal": "animal", "person": "human", "human": "human", "vehicle": "vehicle"}

VIDEO_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska", ".wmv": "video/x-ms-wmv", ".mpg": "video/mpeg", ".mpeg": "video/mpeg",
    ".mts": "video/mp2t", ".asf": "video/x-ms-asf", ".flv": "video/x-flv", ".3gp": "video/3gpp",
    ".webm": "video/webm",
}
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff",
               ".tiff": "image/tiff", ".heic": "image/heic", ".bmp": "image/bmp", ".gif": "image/gif"}


class Medium(NamedTuple):
    """One media file that made it into the package."""

    index: int  # 1-based position in the results file: mediaID is "m<index>"
    image: Image
    path: str  # normalised results path
    deployment: str
    taken: datetime  # zone-aware
    camera: Optional[str] = None
    comment: str = ""  # e.g. where the timestamp came from, when not EXIF


class Taxon(NamedTuple):
    scientific_name: str
    rank: str
    entry: dict  # the package's ``taxonomic`` item


class Settings(NamedTuple):
    """What the exporter decided once, for every row."""

    detection_threshold: float
    classification_threshold: float
    sequence_gap: float
    capture_method: str
    file_public: bool
    media_base: str
    zone: tzinfo


def media_type(path: str) -> str:
    """IANA media type from the extension (Camtrap DP wants ``image/…`` or ``video/…``)."""
    ext = path[path.rfind("."):].lower() if "." in path else ""
    if ext in IMAGE_TYPES:
        return IMAGE_TYPES[ext]
    if ext in VIDEO_TYPES or is_video(path):
        return VIDEO_TYPES.get(ext, "video/" + ext.lstrip("."))
    return "image/" + (ext.lstrip(".") or "unknown")


def deployment_id(path: str, level: Optional[int], root_name: str) -> str:
    """The camera folder: the first ``level`` folders of ``path``, or all of them."""
    folders = path.split("/")[:-1]
    if level is not None:
        folders = folders[:level]
    return "/".join(folders) or root_name


def parse_taxon(description: Optional[str], common: str) -> Optional[Taxon]:
    """A SpeciesNet-style ``guid;class;order;family;genus;species;common`` string → taxon."""
    if not description:
        return None
    parts = [p.strip() for p in description.split(";")]
    if len(parts) < 7:
        return None
    _, klass, order, family, genus, species = parts[:6]
    vernacular = parts[6] or common
    ranks = [("class", klass), ("order", order), ("family", family), ("genus", genus)]
    if genus and species:
        name, rank = f"{genus.capitalize()} {species.lower()}", "species"
    else:
        found = [(r, v) for r, v in ranks if v]
        if not found:
            return None  # "blank", "human", ... carry no taxonomy
        rank, value = found[-1]
        name = value.capitalize()
    entry = {"scientificName": name, "taxonRank": rank, "kingdom": "Animalia"}
    entry.update({r: v.capitalize() for r, v in ranks if v})
    if vernacular:
        entry["vernacularNames"] = {"eng": vernacular}
    return Taxon(name, rank, entry)


def taxa_of(results: ResultsFile) -> dict[str, Taxon]:
    """Classification category id → taxon, for the categories that have a taxonomy."""
    descriptions = results.classification_category_descriptions or {}
    taxa = {}
    for cid, name in (results.classification_categories or {}).items():
        taxon = parse_taxon(descriptions.get(cid), name)
        if taxon:
            taxa[cid] = taxon
    return taxa


def group_events(media: list[Medium], gap: float) -> dict[int, int]:
    """Media index → event number: per deployment, a new event after more than ``gap`` seconds.

    Media are taken in (deployment, time, path) order; equal gaps stay in the event.
    """
    events: dict[int, int] = {}
    number = 0
    previous: Optional[Medium] = None
    for m in sorted(media, key=lambda m: (m.deployment, m.taken, m.path)):
        if previous is None or m.deployment != previous.deployment or (m.taken - previous.taken).total_seconds() > gap:
            number += 1
        events[m.index] = number
        previous = m
    return events


def stamp(dt: datetime) -> str:
    """``%Y-%m-%dT%H:%M:%S%z`` as Camtrap DP wants it (an offset is mandatory)."""
    return dt.replace(microsecond=0).isoformat()


def classified_by(info, classifier: bool) -> str:
    """``MegaDetector v5a.0.1 (md_v5a.0.0.pt)``, plus ``| classifier`` for species rows."""
    version = (info.detector_metadata or {}).get("megadetector_version")
    detector = info.detector or "unknown detector"
    name = f"MegaDetector {version} ({detector})" if version else f"MegaDetector ({detector})"
    if classifier and info.classifier:
        name += f" | {info.classifier}"
    return name


def completion_time(text: Optional[str], zone: tzinfo) -> str:
    """An ``info.*_completion_time`` as a Camtrap DP datetime; empty when unparseable."""
    if not text:
        return ""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return ""
    return stamp(dt if dt.tzinfo else dt.replace(tzinfo=zone))


def media_rows(media: list[Medium], s: Settings) -> Iterable[tuple]:
    """``media.csv`` rows in the schema's field order."""
    public = "true" if s.file_public else "false"
    for m in media:
        yield (
            f"m{m.index}", m.deployment, s.capture_method, stamp(m.taken), s.media_base + m.path, public,
            m.path.rsplit("/", 1)[-1], media_type(m.path), "", "", m.comment,
        )


class ObservationWriter:
    """Turns each medium into its observations (boxes, blanks, failures)."""

    def __init__(self, results: ResultsFile, s: Settings, events: Mapping[int, int]):
        self.s = s
        self.events = events
        self.taxa = taxa_of(results)
        self.names = results.classification_categories or {}
        self.types = {cid: OBSERVATION_TYPES.get(name, "unknown") for cid, name in results.detection_categories.items()}
        self.by_detector = classified_by(results.info, classifier=False)
        self.by_classifier = classified_by(results.info, classifier=True)
        self.detected_at = completion_time(results.info.detection_completion_time, s.zone)
        self.classified_at = completion_time(results.info.classification_completion_time, s.zone) or self.detected_at
        self.count = 0
        self.used_taxa: dict[str, dict] = {}

    def rows(self, m: Medium) -> list[tuple]:
        image = m.image
        when = stamp(m.taken)
        event = f"e{self.events[m.index]}"
        if image.failed:
            return [self._row(m, event, when, when, "unclassified", comment=f"MegaDetector failure: {image.failure}")]
        kept = [d for d in image.detections or () if d.conf >= self.s.detection_threshold]
        if not kept:
            return [self._row(m, event, when, when, "blank", by=self.by_detector, at=self.detected_at)]
        return [self._detection_row(m, event, when, d) for d in kept]

    def _detection_row(self, m: Medium, event: str, when: str, d: Detection) -> tuple:
        kind = self.types.get(d.category, "unknown")
        name, probability, by, at, tags = "", d.conf, self.by_detector, self.detected_at, []
        if d.classifications and kind == "animal":
            cid, p = d.classifications[0]
            taxon = self.taxa.get(cid)
            if p >= self.s.classification_threshold and taxon:
                name, probability, by, at = taxon.scientific_name, p, self.by_classifier, self.classified_at
                self.used_taxa.setdefault(name, taxon.entry)
            elif p >= self.s.classification_threshold:  # a class without taxonomy: keep it as a tag
                tags.append(f"classification:{self.names.get(cid, cid)}")
        start = end = when
        frame = d.extra.get("frame_number") if d.extra else None
        if frame is not None:
            tags.append(f"frameNumber:{frame}")
            rate = m.image.extra.get("frame_rate") if m.image.extra else None
            if rate:
                start = end = stamp(m.taken + timedelta(seconds=int(frame / rate)))
        x, y, w, h = d.bbox
        box = (x, y, w, h) if w > 0 and h > 0 else ("", "", "", "")
        return self._row(m, event, start, end, kind, name=name, box=box, by=by, at=at,
                         probability=probability, tags="|".join(tags))

    def _row(self, m, event, start, end, kind, name="", box=("", "", "", ""), by="", at="",
             probability="", tags="", comment="") -> tuple:
        self.count += 1
        count = 1 if kind in ("animal", "human", "vehicle") else ""
        method = "machine" if by else ""
        return (
            f"o{self.count}", m.deployment, f"m{m.index}", event, start, end, "media", kind, "", name, count,
            "", "", "", "", "", "", "", *box, method, by, at, probability, tags, comment,
        )


def deployment_rows(media: list[Medium], locations: Mapping[str, Mapping[str, str]],
                    undated: set[str], fields: list[str]) -> list[tuple]:
    """``deployments.csv`` rows: start/end from the media, the rest from ``locations``."""
    spans: dict[str, list] = {}
    cameras: dict[str, Counter] = {}
    for m in media:
        span = spans.setdefault(m.deployment, [m.taken, m.taken])
        if m.taken < span[0]:
            span[0] = m.taken
        if m.taken > span[1]:
            span[1] = m.taken
        if m.camera:
            cameras.setdefault(m.deployment, Counter())[m.camera] += 1
    rows = []
    for dep in sorted(spans):
        values = {"deploymentID": dep, "deploymentStart": stamp(spans[dep][0]), "deploymentEnd": stamp(spans[dep][1])}
        if dep in cameras:
            values["cameraModel"] = cameras[dep].most_common(1)[0][0]
        if dep in undated:
            values["timestampIssues"] = "true"
        values.update({k: v for k, v in locations.get(dep, {}).items() if v != ""})
        rows.append(tuple(values.get(f, "") for f in fields))
    return rows


def spatial(locations: Iterable[tuple[float, float]]) -> Optional[dict]:
    """GeoJSON coverage: a Point for one place, else the bounding Polygon."""
    points = sorted(set(locations))
    if not points:
        return None
    if len(points) == 1:
        lat, lon = points[0]
        return {"type": "Point", "coordinates": [lon, lat]}
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    w, e, s, n = min(lons), max(lons), min(lats), max(lats)
    if w == e or s == n:  # all on one line: a LineString keeps the GeoJSON valid
        return {"type": "LineString", "coordinates": [[w, s], [e, n]]}
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
