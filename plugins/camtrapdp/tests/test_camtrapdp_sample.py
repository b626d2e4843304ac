"""The bundled sample, exported and validated by frictionless against the bundled
Camtrap DP schemas, with the network switched off."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import attrs
import pytest

import megadetector_integrations as mdi
from megadetector_integrations.cli import main
from megadetector_integrations.testing import copy_sample
from megadetector_integrations_camtrapdp import demo
from megadetector_integrations_camtrapdp.validation import validate_package


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access during an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def package(tmp_path, no_network) -> Path:
    images, results = copy_sample(tmp_path)
    options = demo(images, tmp_path / "work" / "out")
    report = mdi.export(results, "camtrapdp", **attrs.asdict(options, recurse=False))
    assert report.summary.endswith("(valid)"), report.format()
    return options.out


def table(folder: Path, name: str) -> list[dict]:
    with open(folder / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sample_package_is_valid_offline(package):
    assert validate_package(package) == []
    media = table(package, "media")
    assert len(media) == 14  # every sample image has an EXIF date, the truncated one too
    observations = table(package, "observations")
    kinds = [o["observationType"] for o in observations]
    assert kinds.count("vehicle") == 1 and kinds.count("unclassified") == 1  # the truncated JPEG
    assert {o["deploymentID"] for o in observations} == {d["deploymentID"] for d in table(package, "deployments")}
    descriptor = json.loads((package / "datapackage.json").read_text())
    assert descriptor["profile"].endswith("/1.0.2/camtrap-dp-profile.json")
    assert {t["scientificName"] for t in descriptor["taxonomic"]} == {
        o["scientificName"] for o in observations if o["scientificName"]}


@pytest.mark.parametrize("damage, expected", [
    (lambda d: d.pop("contributors"), "'contributors' is a required property"),
    (lambda d: d["project"].update(samplingDesign="random"), "'random' is not one of"),
    (lambda d: d.update(spatial={"type": "Point", "coordinates": "here"}), "spatial"),
    (lambda d: d["resources"][0].update(schema="https://example.org/2.0/deployments.json"), "resources/0"),
])
def test_validator_catches_descriptor_damage(package, damage, expected):
    path = package / "datapackage.json"
    descriptor = json.loads(path.read_text())
    damage(descriptor)
    path.write_text(json.dumps(descriptor))
    assert any(expected in p for p in validate_package(package)), validate_package(package)


@pytest.mark.parametrize("name, column, value, expected", [
    ("media", "timestamp", "2024-05-01T06:00:00", "timestamp"),  # no offset
    ("media", "filePath", "../escape.jpg", "filePath"),
    ("media", "deploymentID", "nowhere", "foreign-key"),
    ("observations", "bboxWidth", "0", "bboxWidth"),
    ("observations", "observationType", "cat", "observationType"),
    ("observations", "mediaID", "m999", "foreign-key"),
    ("deployments", "latitude", "91", "latitude"),
])
def test_validator_catches_table_damage(package, name, column, value, expected):
    rows = table(package, name)
    rows[0][column] = value
    with open(package / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    problems = validate_package(package)
    assert any(expected in p for p in problems), problems


def test_cli_export_and_validate(tmp_path, capsys, no_network):
    images, results = copy_sample(tmp_path)
    locations = tmp_path / "cams.csv"
    locations.write_text("deploymentID,latitude,longitude\nsite_a,51.0,3.7\nsite_b,51.1,3.8\n")
    out = tmp_path / "pkg"
    status = main(["export", "camtrapdp", str(results), "--images", str(images), "-o", str(out),
                   "--contributor", "Ann <ann@example.org>", "--contributor", "Bob",
                   "--deployment-level", "1", "--sequence-gap", "120", "--timezone=-05:00",
                   "--locations", str(locations), "--project-title", "Deer study"])
    assert status == 0, capsys.readouterr()
    assert "deployments" in capsys.readouterr().out
    assert [d["deploymentID"] for d in table(out, "deployments")] == ["site_a", "site_b"]
    assert table(out, "media")[0]["timestamp"] == "2024-05-01T06:00:00-05:00"
    descriptor = json.loads((out / "datapackage.json").read_text())
    assert descriptor["project"]["title"] == "Deer study"
    assert [c["role"] for c in descriptor["contributors"]] == ["contact", "contributor"]
    assert main(["camtrapdp-validate", str(out)]) == 0
    assert "valid Camtrap DP" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--timezone", "Mars/Olympus"], "--timezone 'Mars/Olympus'"),
    (["--threshold", "2"], "between 0 and 1"),
    (["--locations", "nope.csv"], "--locations nope.csv: no such file"),
    (["--metadata", "nope.json"], "--metadata nope.json: no such file"),
    ([], "requires at least one contributor"),
    (["--media-base", "../up/"], "--media-base '../up/'"),
    (["--sequence-gap=-1"], "must be positive"),
    (["--deployment-level", "0"], "must be positive"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, args, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    images, results = copy_sample(tmp_path)
    base = ["export", "camtrapdp", str(results), "--images", str(images), "-o", str(tmp_path / "pkg")]
    extra = [] if not args else ["--contributor", "Ann"]
    assert main(base + extra + args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_metadata_file_and_bad_locations(tmp_path):
    images, results = copy_sample(tmp_path)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({
        "title": "Sample package", "contributors": [{"title": "Team", "role": "rightsHolder"}],
        "licenses": [{"name": "CC0-1.0", "scope": "data"}, {"name": "CC-BY-4.0", "scope": "media"}],
        "project": {"title": "From file", "samplingDesign": "targeted", "acronym": "SP"},
    }))
    out = tmp_path / "pkg"
    mdi.export(results, "camtrapdp", images=images, out=out, metadata=meta)
    descriptor = json.loads((out / "datapackage.json").read_text())
    assert descriptor["title"] == "Sample package" and descriptor["contributors"][0]["title"] == "Team"
    assert descriptor["project"]["samplingDesign"] == "targeted" and descriptor["project"]["acronym"] == "SP"
    assert len(descriptor["licenses"]) == 2

    bad = tmp_path / "bad.csv"
    for text, message in [("camera,latitude\nx,1\n", "needs a deploymentID column"),
                          ("deploymentID,latitude,altitude\nx,1,2\n", "unknown column(s) altitude"),
                          ("deploymentID,latitude\nx,north\n", "line 2: latitude: 'north' is not a number"),
                          ("deploymentID,longitude\nx,200\n", "line 2: longitude: 200 is outside")]:
        bad.write_text(text)
        with pytest.raises(mdi.MdiError, match=message.replace("(", r"\(").replace(")", r"\)")):
            mdi.export(results, "camtrapdp", images=images, out=tmp_path / "x", metadata=meta, locations=bad)
