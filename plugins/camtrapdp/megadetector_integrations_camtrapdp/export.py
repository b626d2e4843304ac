"""The export run: read dates, build the tables, write the package atomically."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from megadetector_integrations import __version__ as HOST_VERSION
from megadetector_integrations.atomic import atomic_output, gc_paused
from megadetector_integrations.errors import MdiError
from megadetector_integrations.model import ResultsFile
from megadetector_integrations.paths import normalize, path_problem
from megadetector_integrations.progress import progress
from megadetector_integrations.registry import Report
from megadetector_integrations.thresholds import typical_classification_threshold, typical_detection_threshold

from . import tables, timestamps
from .validation import PROFILE_URL, SCHEMA_URLS, load_schema

FILES = ("deployments.csv", "media.csv", "observations.csv")


def export(results: ResultsFile, options) -> Report:
    settings = _settings(results, options)
    _check_paths(options)
    locations = read_locations(options.locations) if options.locations else {}
    extra_metadata = read_metadata(options.metadata) if options.metadata else {}
    contributors = contributors_of(options.contributors, extra_metadata)

    problems: list[str] = []
    deployment_fields = [f["name"] for f in load_schema("deployments")["fields"]]
    with gc_paused():
        media, undated = dated_media(results, options, settings.zone, problems)
        events = tables.group_events(media, settings.sequence_gap)
        observer = tables.ObservationWriter(results, settings, events)
        observations = [row for m in media for row in observer.rows(m)]
        deployments = tables.deployment_rows(media, locations, undated, deployment_fields)
    coordinates = _coordinates(deployments, deployment_fields)
    problems += _location_problems(options.locations, locations, deployments, coordinates)
    descriptor = package_descriptor(options, extra_metadata, contributors, deployments, deployment_fields,
                                    coordinates.values(), observer.used_taxa)
    counts = {
        "deployments": len(deployments), "media": len(media), "events": len(set(events.values())),
        "observations": len(observations), "media left out": len(results.images) - len(media),
    }
    outputs = tuple(str(options.out / name) for name in ("datapackage.json", *FILES))
    if options.dry_run:
        return Report("camtrapdp", f"would write a Camtrap DP package to {options.out}", counts, outputs,
                      tuple(problems), dry_run=True)

    options.out.mkdir(parents=True, exist_ok=True)
    write_csv(options.out / "deployments.csv", deployment_fields, deployments)
    write_csv(options.out / "media.csv", _field_names("media"), tables.media_rows(media, settings))
    write_csv(options.out / "observations.csv", _field_names("observations"), observations)
    with atomic_output(options.out / "datapackage.json") as fh:  # last: a package is complete once it exists
        fh.write(json.dumps(descriptor, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")

    summary = f"Camtrap DP package in {options.out}"
    if options.validate:
        from .validation import validate_package

        invalid = validate_package(options.out)
        problems += [f"validation: {p}" for p in invalid]
        summary += " (valid)" if not invalid else f" ({len(invalid)} validation problem(s))"
    return Report("camtrapdp", summary, counts, outputs, tuple(problems))


def _settings(results: ResultsFile, options) -> tables.Settings:
    """Thresholds (the results' own defaults unless given) and the camera time zone."""
    detection = options.threshold
    classification = options.classification_threshold
    return tables.Settings(
        detection_threshold=typical_detection_threshold(results.info) if detection is None else detection,
        classification_threshold=(typical_classification_threshold(results.info) if classification is None
                                  else classification),
        sequence_gap=options.sequence_gap, capture_method=options.capture_method,
        file_public=options.file_public, media_base=options.media_base,
        zone=timestamps.parse_timezone(options.timezone),
    )


def _field_names(table: str) -> list[str]:
    return [f["name"] for f in load_schema(table)["fields"]]


def _check_paths(options) -> None:
    if not options.images.is_dir():
        raise MdiError(f"--images {options.images}: no such folder (the folder the results' paths are relative to)")
    if options.out.exists() and not options.out.is_dir():
        raise MdiError(f"-o {options.out}: exists and is not a folder")
    if (options.out / "datapackage.json").exists() and not options.overwrite:
        raise MdiError(f"{options.out} already holds a datapackage.json; add --overwrite to replace the package")
    base = options.media_base
    if base[:1] in (".", "/", "~") or ".." in base:
        raise MdiError(f"--media-base {base!r}: Camtrap DP filePath may not start with '.', '/' or '~' "
                       "nor contain '..'; give a URL (https://...) or a folder name inside the package")


def _location_problems(source, locations: Mapping, deployments: list[tuple], coordinates: Mapping) -> list[str]:
    problems = [f"{source}: deploymentID {dep!r} matches no folder with dated media; ignored"
                for dep in sorted(set(locations) - {row[0] for row in deployments})]
    missing = [row[0] for row in deployments if row[0] not in coordinates]
    if missing:
        problems.append(
            f"{len(missing)} deployment(s) without latitude/longitude (e.g. {missing[0]!r}): Camtrap DP requires "
            "them; add a --locations CSV with columns deploymentID,latitude,longitude"
        )
    return problems


def dated_media(results: ResultsFile, options, zone, problems: list[str]) -> tuple[list[tables.Medium], set[str]]:
    """Every media file with a timestamp; the others are reported (or mtime-dated on request).

    Returns the media and the deployments where any timestamp is a file time.
    """
    root_name = options.images.resolve().name or "root"
    candidates = []
    for index, image in enumerate(results.images, 1):
        path = normalize(image.file)
        why = path_problem(image.file) or ("starts with '.' or '~' (not allowed in Camtrap DP filePath)"
                                            if path[:1] in ".~" else None)
        if why:
            problems.append(f"images[{index - 1}] {image.file!r}: file: {why}; left out")
            continue
        candidates.append((index, image, path))

    base = str(options.images).rstrip("/\\")
    paths = [f"{base}/{path}" for _, _, path in candidates]
    stamps: list[timestamps.Stamp] = []
    for chunk in progress(timestamps.read_stamps(paths), total=-(-len(paths) // timestamps.CHUNK),
                          desc="reading dates", unit="chunk"):
        stamps.extend(chunk)

    media, undated = [], set()
    for (index, image, path), full, stamp in zip(candidates, paths, stamps):
        dep = tables.deployment_id(path, options.deployment_level, root_name)
        taken, comment = timestamps.to_datetime(stamp, zone), ""
        if taken is None and options.undated == "mtime":
            try:
                taken = datetime.fromtimestamp(int(os.stat(full).st_mtime), zone)
                comment = "timestamp from the file's modification time (no EXIF date)"
                undated.add(dep)
            except OSError:
                pass
        if taken is None:
            why = "not found under --images" if not os.path.exists(full) else "no EXIF DateTimeOriginal"
            problems.append(f"images[{index - 1}] {image.file!r}: timestamp: {why}; left out "
                            "(Camtrap DP requires one; --undated mtime uses the file time)")
            continue
        media.append(tables.Medium(index, image, path, dep, taken, stamp.camera, comment))
    return media, undated


def contributors_of(given: tuple[str, ...], metadata: Mapping) -> list[dict]:
    """``Name <email>`` strings (first one the contact) or the metadata file's list."""
    people = []
    for n, text in enumerate(given):
        name, _, email = text.partition("<")
        person = {"title": name.strip() or email.strip(" >"), "role": "contact" if n == 0 else "contributor"}
        if email.strip(" >"):
            person["email"] = email.strip(" >")
        people.append(person)
    people = people or list(metadata.get("contributors") or [])
    if not people:
        raise MdiError("Camtrap DP requires at least one contributor: add --contributor 'Your Name <you@example.org>' "
                       "(or a contributors list in --metadata)")
    return people


def read_metadata(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MdiError(f"--metadata {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise MdiError(f"--metadata {path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise MdiError(f"--metadata {path}: expected a JSON object like {{\"title\": ..., \"project\": {{...}}}}")
    return data


def read_locations(path: Path) -> dict[str, dict[str, str]]:
    """deploymentID → deployments.csv values, checked where mistakes are common."""
    fields = {f["name"]: f for f in load_schema("deployments")["fields"]}
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MdiError(f"--locations {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MdiError(f"--locations {path}: cannot read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    if "deploymentID" not in columns:
        raise MdiError(f"--locations {path}: needs a deploymentID column (the camera folder, e.g. site_a/cam_1); "
                       f"found {', '.join(columns) or 'no header'}")
    unknown = [c for c in columns if c not in fields or c in ("deploymentStart", "deploymentEnd")]
    if unknown:
        raise MdiError(f"--locations {path}: unknown column(s) {', '.join(unknown)}; allowed: "
                       + ", ".join(f for f in fields if f not in ("deploymentStart", "deploymentEnd")))
    found = {}
    for line, row in enumerate(reader, 2):
        dep = (row.get("deploymentID") or "").strip()
        if not dep:
            raise MdiError(f"--locations {path}: line {line}: deploymentID: empty")
        for name, value in row.items():
            _check_number(path, line, name, (value or "").strip(), fields[name])
        found[dep] = {k: (v or "").strip() for k, v in row.items()}
    return found


def _check_number(path, line: int, name: str, value: str, field: dict) -> None:
    if not value or field["type"] not in ("number", "integer"):
        return
    limits = field.get("constraints", {})
    try:
        number = int(value) if field["type"] == "integer" else float(value)
    except ValueError:
        raise MdiError(f"--locations {path}: line {line}: {name}: {value!r} is not a{'n integer' if field['type'] == 'integer' else ' number'}") from None
    low, high = limits.get("minimum"), limits.get("maximum")
    if (low is not None and number < low) or (high is not None and number > high):
        raise MdiError(f"--locations {path}: line {line}: {name}: {value} is outside [{low}, {high}]")


def _coordinates(rows: list[tuple], fields: list[str]) -> dict[str, tuple[float, float]]:
    lat, lon = fields.index("latitude"), fields.index("longitude")
    return {row[0]: (float(row[lat]), float(row[lon])) for row in rows if row[lat] != "" and row[lon] != ""}


def package_descriptor(options, extra: Mapping, contributors, deployments, fields,
                       coordinates, taxa: Mapping[str, dict]) -> dict:
    """``datapackage.json``: profile, resources, metadata, and coverage computed from the data."""
    start, end = fields.index("deploymentStart"), fields.index("deploymentEnd")
    project = {
        "title": options.project_title or options.images.resolve().name or "camera trap project",
        "samplingDesign": options.sampling_design,
        "captureMethod": [options.capture_method],
        "individualAnimals": False,
        "observationLevel": ["media"],
    }
    project.update(extra.get("project") or {})
    if options.project_title:
        project["title"] = options.project_title
    descriptor = {
        "resources": [
            {"name": name, "path": f"{name}.csv", "profile": "tabular-data-resource", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8", "schema": SCHEMA_URLS[name]}
            for name in ("deployments", "media", "observations")
        ],
        "profile": PROFILE_URL,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "contributors": contributors,
        "sources": [{"title": "megadetector-integrations", "version": HOST_VERSION}],
        "project": project,
        "temporal": {
            "start": min((row[start][:10] for row in deployments), default=""),
            "end": max((row[end][:10] for row in deployments), default=""),
        },
        "taxonomic": [taxa[name] for name in sorted(taxa)],
    }
    geo = tables.spatial(coordinates)
    if geo:
        descriptor["spatial"] = geo
    for key, value in extra.items():
        if key not in ("resources", "profile", "created", "project", "temporal", "taxonomic"):
            descriptor[key] = value
    if options.contributors:
        descriptor["contributors"] = contributors
    return descriptor


def write_csv(path: Path, header: list[str], rows) -> None:
    with atomic_output(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        text.flush()
        text.detach()  # atomic_output closes the file itself


def write_demo_locations(path: Path) -> Path:
    """Coordinates for the bundled sample's four cameras (made up, near Ghent)."""
    rows = [("site_a/cam_1", 51.0543, 3.7174, "Site A camera 1"), ("site_a/cam_2", 51.0551, 3.7190, "Site A camera 2"),
            ("site_b/cam_1", 51.0602, 3.7301, "Site B camera 1"), ("site_b/cam_2", 51.0611, 3.7322, "Site B camera 2")]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, ["deploymentID", "latitude", "longitude", "locationName"], rows)
    return path
