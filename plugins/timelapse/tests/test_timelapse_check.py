"""`mdi timelapse check`: each rule of timelapse.md found, a clean file passes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from megadetector_integrations.cli import main
from megadetector_integrations_timelapse.check import check_document
from megadetector_integrations_timelapse.matching import scan

FILES = ["site_a/cam_1/IMG_0001.JPG", "site_a/cam_1/IMG_0002.JPG", "site_a/clips/v.mp4"]


def det(**extra):
    return {"category": "1", "conf": 0.9, "bbox": [0.1, 0.1, 0.2, 0.2], **extra}


CLEAN = {
    "info": {"format_version": "1.5", "detector": "md_v5a.0.0.pt",
             "detector_metadata": {"typical_detection_threshold": 0.2, "conservative_detection_threshold": 0.05},
             "classifier_metadata": {"typical_classification_threshold": 0.5}},
    "detection_categories": {"1": "animal", "2": "person"},
    "classification_categories": {"1": "deer", "2": "fox"},
    "images": [
        {"file": FILES[0], "detections": [det(classifications=[["1", 0.8]])]},
        {"file": FILES[1], "failure": "image access failure", "detections": None},
        {"file": FILES[2], "frame_rate": 30, "frames_processed": [0, 30], "detections": [det(frame_number=30)]},
    ],
}


@pytest.fixture()
def tree(tmp_path):
    for f in FILES + ["site_a/cam_1/IMG_0003.JPG"]:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes(b"")
    return scan(tmp_path)


def rules_of(doc, tree, name="recognitionData.json") -> set:
    return {f.rule for f in check_document(doc, Path(name), tree)}


def test_clean_file_has_no_findings(tree):
    assert rules_of(CLEAN, tree) == set()


def broken(change) -> dict:
    doc = copy.deepcopy(CLEAN)
    change(doc)
    return doc


CASES = {
    "info": lambda d: d.pop("info"),
    "format-version": lambda d: d["info"].update(format_version=1.5),
    "thresholds": lambda d: d["info"].pop("detector_metadata"),
    "detection-categories": lambda d: d.pop("detection_categories"),
    "category-0": lambda d: d["detection_categories"].update({"0": "empty-ish"}),
    "duplicate-name": lambda d: d["classification_categories"].update({"3": "deer"}),
    "blank-name": lambda d: d["detection_categories"].update({"3": " "}),
    "addaxai": lambda d: d["classification_categories"].update({"0": "animal"}),
    "conf-null": lambda d: d["images"][0]["detections"][0].update(conf=None),
    "classifications-null": lambda d: d["images"][0]["detections"][0].update(classifications=None),
    "class-id-type": lambda d: d["images"][0]["detections"][0].update(classifications=[[1, 0.8]]),
    "failure-detections": lambda d: d["images"][1].pop("detections"),
    "no-detections": lambda d: d["images"][0].pop("detections"),
    "video-frame-rate": lambda d: d["images"][2].pop("frame_rate"),
    "video-frame-number": lambda d: d["images"][2]["detections"][0].pop("frame_number"),
    "video-frames-processed": lambda d: d["images"][2].pop("frames_processed"),
    "absolute-path": lambda d: d["images"][0].update(file="D:\\traps\\" + FILES[0]),
    "dot-slash": lambda d: d["images"][0].update(file="./" + FILES[0]),
    "file-type": lambda d: d["images"].append({"file": "site_a/cam_1/x.png", "detections": []}),
    "not-found": lambda d: d["images"].append({"file": "site_a/cam_1/GONE.JPG", "detections": []}),
    "folder-case": lambda d: d["images"][0].update(file=FILES[0].upper()),
    "duplicate-entry": lambda d: d["images"].append({"file": FILES[0].replace("/", "\\"), "detections": []}),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_is_reported(rule, tree):
    assert rule in rules_of(broken(CASES[rule]), tree)


def test_classifier_threshold_and_file_name(tree):
    doc = broken(lambda d: d["info"].pop("classifier_metadata"))
    found = check_document(doc, Path("image_recognition_file.json"), tree)
    assert {f.rule for f in found} == {"thresholds", "file-name"}
    assert any("0.5" in f.message for f in found)


def test_backslashes_and_other_case_file_names_are_fine(tree):
    doc = broken(lambda d: d["images"][0].update(file="site_a\\cam_1\\img_0001.jpg"))
    assert rules_of(doc, tree) == set()


def test_cli_exit_codes_and_hint(tmp_path, tree, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(CLEAN))
    moved = broken(lambda d: [im.update(file="extra/" + im["file"]) for im in d["images"]])
    bad.write_text(json.dumps(moved))
    assert main(["timelapse", "check", str(good), "--root", str(tmp_path)]) == 0
    assert main(["timelapse", "check", str(bad), "--root", str(tmp_path)]) == 1
    printed = capsys.readouterr().out
    assert "ready for Timelapse" in printed and "would strip 'extra/', matching 3 of 3" in printed
    (tmp_path / "broken.json").write_text("{")
    assert main(["timelapse", "check", str(tmp_path / "broken.json"), "--root", str(tmp_path)]) == 1
    assert main(["timelapse", "check", str(good), "--root", str(tmp_path / "nowhere")]) == 1
    assert "no such folder" in capsys.readouterr().err
