"""Hand-checked rows for a small fixture: two cameras, a video, a failure, an
undated image, a missing file, an unsafe path, and event edges (a gap of
exactly --sequence-gap stays in the event, one second more starts a new one)."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

import megadetector_integrations as mdi
from megadetector_integrations.testing import require_tool
from megadetector_integrations_camtrapdp.validation import validate_package

BRUSSELS_SUMMER = "+02:00"


def det(category, conf, bbox=(0.1, 0.2, 0.3, 0.4), classifications=None, **extra):
    d = {"category": category, "conf": conf, "bbox": list(bbox), **extra}
    if classifications:
        d["classifications"] = classifications
    return d


@pytest.fixture
def fixture(tmp_path, files):
    root = tmp_path / "traps"
    files.jpeg(root / "siteA/cam1/a1.jpg", "2024:05:01 10:00:00", model="CamOne")
    files.jpeg(root / "siteA/cam1/a2.jpg", "2024:05:01 10:01:00", model="CamOne")  # +60 s: same event
    files.jpeg(root / "siteA/cam1/a3.jpg", "2024:05:01 10:02:01", model="CamOne")  # +61 s: new event
    undated = files.jpeg(root / "siteA/cam1/a4.jpg", None)
    os.utime(undated, (1714557600, 1714557600))  # 2024-05-01T10:00:00Z
    files.jpeg(root / "siteA/cam2/b1.jpg", "2024:05:01 10:00:30", offset="+00:00", model="CamTwo")
    files.mp4(root / "siteA/cam2/v1.mp4", datetime(2024, 5, 1, 8, 0, 0, tzinfo=timezone.utc))
    images = [
        {"file": "siteA/cam1/a1.jpg", "detections": [det("1", 0.9, classifications=[["1", 0.95], ["2", 0.03]])]},
        {"file": "siteA/cam1/a2.jpg", "detections": [det("2", 0.8, (0.5, 0.5, 0.2, 0.4))]},
        {"file": "siteA/cam1/a3.jpg", "detections": [det("1", 0.1)]},  # below the 0.2 threshold: blank
        {"file": "siteA/cam1/a4.jpg", "detections": []},
        {"file": "siteA/cam2/b1.jpg", "detections": None, "failure": "Failure image access"},
        {"file": "siteA/cam2/v1.mp4", "frame_rate": 10.0,
         "detections": [det("1", 0.7, (0.0, 0.0, 1.0, 1.0), classifications=[["2", 0.3]], frame_number=25)]},
        {"file": "siteA/cam2/missing.jpg", "detections": []},
        {"file": "../evil.jpg", "detections": []},
    ]
    results = files.results(tmp_path / "md.json", images)
    return root, results


def export(root: Path, results: Path, out: Path, **options):
    options = {"images": root, "out": out, "contributors": ["Ann Smith <ann@example.org>"],
               "timezone": "Europe/Brussels", **options}
    return mdi.export(mdi.load(results), "camtrapdp", **options)


def rows(out: Path, table: str) -> list[dict]:
    with open(out / f"{table}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_hand_checked_rows(fixture, tmp_path):
    root, results = fixture
    out = tmp_path / "pkg"
    report = export(root, results, out)

    media = rows(out, "media")
    assert [(m["mediaID"], m["deploymentID"], m["timestamp"], m["filePath"], m["fileMediatype"]) for m in media] == [
        ("m1", "siteA/cam1", "2024-05-01T10:00:00+02:00", "siteA/cam1/a1.jpg", "image/jpeg"),
        ("m2", "siteA/cam1", "2024-05-01T10:01:00+02:00", "siteA/cam1/a2.jpg", "image/jpeg"),
        ("m3", "siteA/cam1", "2024-05-01T10:02:01+02:00", "siteA/cam1/a3.jpg", "image/jpeg"),
        ("m5", "siteA/cam2", "2024-05-01T10:00:30+00:00", "siteA/cam2/b1.jpg", "image/jpeg"),  # camera's own offset
        ("m6", "siteA/cam2", "2024-05-01T10:00:00+02:00", "siteA/cam2/v1.mp4", "video/mp4"),  # mvhd is UTC
    ]
    assert {m["filePublic"] for m in media} == {"false"}
    assert {m["captureMethod"] for m in media} == {"activityDetection"}

    obs = rows(out, "observations")
    key = ("observationID", "deploymentID", "mediaID", "eventID", "eventStart", "eventEnd", "observationType",
           "scientificName", "count", "bboxX", "bboxY", "bboxWidth", "bboxHeight", "classificationProbability",
           "observationTags")
    assert [tuple(o[k] for k in key) for o in obs] == [
        ("o1", "siteA/cam1", "m1", "e1", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00+02:00", "animal",
         "Vulpes vulpes", "1", "0.1", "0.2", "0.3", "0.4", "0.95", ""),
        ("o2", "siteA/cam1", "m2", "e1", "2024-05-01T10:01:00+02:00", "2024-05-01T10:01:00+02:00", "human",
         "", "1", "0.5", "0.5", "0.2", "0.4", "0.8", ""),
        ("o3", "siteA/cam1", "m3", "e2", "2024-05-01T10:02:01+02:00", "2024-05-01T10:02:01+02:00", "blank",
         "", "", "", "", "", "", "", ""),
        ("o4", "siteA/cam2", "m5", "e4", "2024-05-01T10:00:30+00:00", "2024-05-01T10:00:30+00:00", "unclassified",
         "", "", "", "", "", "", "", ""),
        # frame 25 at 10 fps: 2 s into the video; the badger guess (0.3) is below 0.5
        ("o5", "siteA/cam2", "m6", "e3", "2024-05-01T10:00:02+02:00", "2024-05-01T10:00:02+02:00", "animal",
         "", "1", "0.0", "0.0", "1.0", "1.0", "0.7", "frameNumber:25"),
    ]
    assert obs[0]["classifiedBy"] == "MegaDetector v5a.0.1 (md_v5a.0.0.pt) | my-classifier"
    assert obs[0]["classificationTimestamp"] == "2024-06-01T12:30:00+02:00"
    assert obs[1]["classifiedBy"] == "MegaDetector v5a.0.1 (md_v5a.0.0.pt)"
    assert {o["classificationMethod"] for o in obs[:3] + obs[4:]} == {"machine"}
    assert obs[3]["observationComments"] == "MegaDetector failure: Failure image access"
    assert {o["observationLevel"] for o in obs} == {"media"}

    deployments = {d["deploymentID"]: d for d in rows(out, "deployments")}
    assert list(deployments) == ["siteA/cam1", "siteA/cam2"]
    assert deployments["siteA/cam1"]["deploymentStart"] == "2024-05-01T10:00:00+02:00"
    assert deployments["siteA/cam1"]["deploymentEnd"] == "2024-05-01T10:02:01+02:00"
    assert deployments["siteA/cam1"]["cameraModel"] == "TestMake-CamOne"
    assert deployments["siteA/cam2"]["deploymentStart"] == "2024-05-01T10:00:00+02:00"  # 08:00Z, the video
    assert deployments["siteA/cam2"]["deploymentEnd"] == "2024-05-01T10:00:30+00:00"
    assert deployments["siteA/cam1"]["latitude"] == ""  # nobody told us where the cameras are

    package = json.loads((out / "datapackage.json").read_text())
    assert package["taxonomic"] == [{
        "scientificName": "Vulpes vulpes", "taxonRank": "species", "kingdom": "Animalia", "class": "Mammalia",
        "order": "Carnivora", "family": "Canidae", "genus": "Vulpes", "vernacularNames": {"eng": "red fox"},
    }]
    assert package["temporal"] == {"start": "2024-05-01", "end": "2024-05-01"}
    assert package["contributors"] == [{"title": "Ann Smith", "role": "contact", "email": "ann@example.org"}]
    assert "spatial" not in package

    assert report.counts["media"] == 5 and report.counts["events"] == 4 and report.counts["media left out"] == 3
    problems = "\n".join(report.problems)
    assert "images[3] 'siteA/cam1/a4.jpg': timestamp: no EXIF DateTimeOriginal" in problems
    assert "images[6] 'siteA/cam2/missing.jpg': timestamp: not found under --images" in problems
    assert "images[7] '../evil.jpg': file: '..' segment" in problems
    assert "2 deployment(s) without latitude/longitude" in problems

    # Without coordinates the package is knowingly incomplete, and the validator says exactly that
    found = validate_package(out)
    assert any("'spatial' is a required property" in p for p in found)
    assert any("latitude" in p and "constraint-error" in p for p in found)


def test_locations_make_it_valid(fixture, tmp_path):
    root, results = fixture
    locations = tmp_path / "cams.csv"
    locations.write_text("deploymentID,latitude,longitude,locationName,habitat\n"
                         "siteA/cam1,50.5,4.25,North,forest\nsiteA/cam2,50.75,4.5,South,\n")
    out = tmp_path / "pkg"
    report = export(root, results, out, locations=locations, validate=True)
    assert report.summary.endswith("(valid)"), report.problems
    deployments = {d["deploymentID"]: d for d in rows(out, "deployments")}
    assert deployments["siteA/cam1"]["latitude"] == "50.5" and deployments["siteA/cam1"]["habitat"] == "forest"
    assert deployments["siteA/cam2"]["locationName"] == "South"
    package = json.loads((out / "datapackage.json").read_text())
    assert package["spatial"] == {"type": "Polygon", "coordinates": [
        [[4.25, 50.5], [4.5, 50.5], [4.5, 50.75], [4.25, 50.75], [4.25, 50.5]]]}


def test_undated_by_file_time(fixture, tmp_path):
    root, results = fixture
    out = tmp_path / "pkg"
    export(root, results, out, undated="mtime")
    media = {m["mediaID"]: m for m in rows(out, "media")}
    assert media["m4"]["timestamp"] == "2024-05-01T12:00:00+02:00"  # the mtime, in the camera's zone
    assert "modification time" in media["m4"]["mediaComments"]
    deployments = {d["deploymentID"]: d for d in rows(out, "deployments")}
    assert deployments["siteA/cam1"]["timestampIssues"] == "true"
    assert deployments["siteA/cam2"]["timestampIssues"] == ""


def test_deployment_level_merges_cameras_and_regroups_events(fixture, tmp_path):
    root, results = fixture
    out = tmp_path / "pkg"
    export(root, results, out, deployment_level=1)
    assert [d["deploymentID"] for d in rows(out, "deployments")] == ["siteA"]
    events = {o["mediaID"]: o["eventID"] for o in rows(out, "observations")}
    # a1 and v1 at 08:00Z (tie broken by path), a2 60 s later: one event; a3 61 s later; b1 hours later
    assert events == {"m1": "e1", "m6": "e1", "m2": "e1", "m3": "e2", "m5": "e3"}


def test_sequence_gap_zero_and_large(fixture, tmp_path):
    root, results = fixture
    export(root, results, tmp_path / "a", sequence_gap=0)
    assert len({o["eventID"] for o in rows(tmp_path / "a", "observations")}) == 5
    export(root, results, tmp_path / "b", sequence_gap=86400)
    assert len({o["eventID"] for o in rows(tmp_path / "b", "observations")}) == 2  # one per deployment


def test_video_date_agrees_with_exiftool(fixture):
    import subprocess

    root, _ = fixture
    exiftool = require_tool("exiftool")
    out = subprocess.run([exiftool, "-s3", "-api", "QuickTimeUTC", "-d", "%Y-%m-%dT%H:%M:%S%z",
                          "-CreateDate", str(root / "siteA/cam2/v1.mp4")], capture_output=True, text=True, check=True)
    assert out.stdout.strip().replace("+0200", "+02:00") in ("2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00+00:00",
                                                             "2024-05-01T08:00:00+0000")


def test_refuses_to_replace_a_package_without_overwrite(fixture, tmp_path):
    root, results = fixture
    out = tmp_path / "pkg"
    export(root, results, out)
    before = (out / "media.csv").read_bytes()
    with pytest.raises(mdi.MdiError, match="--overwrite"):
        export(root, results, out)
    export(root, results, out, overwrite=True)
    assert (out / "media.csv").read_bytes() == before  # deterministic re-run
    assert sorted(p.name for p in out.iterdir()) == ["datapackage.json", "deployments.csv", "media.csv",
                                                     "observations.csv"]


def test_dry_run_writes_nothing(fixture, tmp_path):
    root, results = fixture
    report = export(root, results, tmp_path / "pkg", dry_run=True)
    assert report.dry_run and report.counts["observations"] == 5
    assert not (tmp_path / "pkg").exists()
