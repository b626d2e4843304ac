"""`mdi export timelapse` on realistic layouts, read back with the host validator
and the plain JSON (what Timelapse's deserializer sees)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import megadetector_integrations as mdi
from megadetector_integrations.cli import main
from megadetector_integrations.errors import MdiError
from megadetector_integrations.testing import copy_sample
from megadetector_integrations_timelapse.check import run_check

SITE_A = ["site_a/cam_1/IMG_0001.JPG", "site_a/cam_1/IMG_0002.JPG", "site_a/cam_2/IMG_0001.JPG"]


def make_tree(root: Path, paths) -> Path:
    for p in paths:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_bytes(b"")
    return root


def det(category="1", conf=0.9, **extra):
    return {"category": category, "conf": conf, "bbox": [0.1, 0.1, 0.2, 0.2], **extra}


def results_doc(files, **top):
    doc = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "images": [{"file": f, "detections": [det()]} for f in files],
    }
    doc.update(top)
    return doc


def write_doc(tmp_path: Path, doc, name="md_results.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def export(tmp_path, doc, root, **options):
    return mdi.export(write_doc(tmp_path, doc), "timelapse", root=root, **options)


def read_out(path: Path) -> dict:
    assert mdi.validate(path) == [], mdi.validate(path)
    return json.loads(path.read_text())


def files_of(doc) -> list:
    return [im["file"] for im in doc["images"]]


@pytest.mark.parametrize("written, disk_prefix", [
    # an extra leading folder (MegaDetector run on the folder above the project)
    ([f"images_for_megadetector/{f}" for f in SITE_A], ""),
    # a missing leading folder (run on one survey, project one level up)
    (SITE_A, "survey_2024/"),
    # Windows backslashes
    ([f.replace("/", "\\") for f in SITE_A], ""),
    # absolute Windows paths
    ([f"D:\\traps\\{f}".replace("/", "\\") for f in SITE_A], ""),
    # absolute paths of another machine plus a missing folder
    ([f"/mnt/cards/{f}" for f in SITE_A], "2024/"),
    # leading ./ and doubled separators
    ([f"./{f}".replace("/cam", "//cam") for f in SITE_A], ""),
])
def test_layouts_resolve_to_root_relative_paths(tmp_path, written, disk_prefix):
    root = make_tree(tmp_path / "project", [disk_prefix + f for f in SITE_A] + ["site_b/cam_9/OTHER.JPG"])
    report = export(tmp_path, results_doc(written), root)
    out = read_out(root / "recognitionData.json")
    assert files_of(out) == [disk_prefix + f for f in SITE_A]
    assert report.counts["matched a file"] == 3 and report.outputs == (str(root / "recognitionData.json"),)


def test_mixed_case_takes_the_disk_spelling(tmp_path):
    root = make_tree(tmp_path / "Project", ["Site_A/CAM_1/img_0001.jpg", "Site_A/CAM_1/Img_0002.JPG"])
    export(tmp_path, results_doc(["site_a/cam_1/IMG_0001.JPG", "SITE_A\\Cam_1\\img_0002.jpg"]), root)
    assert files_of(read_out(root / "recognitionData.json")) == ["Site_A/CAM_1/img_0001.jpg", "Site_A/CAM_1/Img_0002.JPG"]


def test_bare_file_names_find_their_folder(tmp_path):
    names = [f"IMG_{i:04d}.JPG" for i in range(1, 6)]
    root = make_tree(tmp_path / "p", [f"site_a/cam_1/{n}" for n in names] + ["site_a/cam_2/IMG_0001.JPG"])
    export(tmp_path, results_doc(names), root)
    assert files_of(read_out(root / "recognitionData.json")) == [f"site_a/cam_1/{n}" for n in names]


def test_manual_prefix(tmp_path):
    root = make_tree(tmp_path / "p", [f"new/{f}" for f in SITE_A])
    export(tmp_path, results_doc([f"old/{f}" for f in SITE_A]), root,
           prefix_strip="OLD\\", prefix_add="new")
    assert files_of(read_out(root / "recognitionData.json")) == [f"new/{f}" for f in SITE_A]
    with pytest.raises(MdiError, match="Without --prefix-strip/--prefix-add: strip 'old/' and add 'new/', matching 3"):
        export(tmp_path, results_doc([f"old/{f}" for f in SITE_A]), root, prefix_strip="wrong", overwrite=True)


def test_missing_entries_dropped_reported_or_kept(tmp_path):
    root = make_tree(tmp_path / "p", SITE_A)
    doc = results_doc(SITE_A + ["site_a/cam_1/GONE.JPG", "site_a/cam_1/photo.png"])
    report = export(tmp_path, doc, root, min_match_share=0.5)
    assert files_of(read_out(root / "recognitionData.json")) == SITE_A
    assert report.counts["not found under root (dropped)"] == 2
    assert any("GONE.JPG" in p and "no file" in p for p in report.problems)
    assert any("photo.png" in p and ".jpg/.jpeg" in p for p in report.problems)
    export(tmp_path, doc, root, min_match_share=0.5, keep_missing=True, overwrite=True)
    assert files_of(read_out(root / "recognitionData.json"))[-2:] == ["site_a/cam_1/GONE.JPG", "site_a/cam_1/photo.png"]


def test_refuses_when_too_few_match_unless_forced(tmp_path):
    root = make_tree(tmp_path / "p", SITE_A[:1])
    with pytest.raises(MdiError, match=r"(?s)only 1 of 3 entries .*--force"):
        export(tmp_path, results_doc(SITE_A), root)
    assert not (root / "recognitionData.json").exists()
    export(tmp_path, results_doc(SITE_A), root, force=True)
    assert files_of(read_out(root / "recognitionData.json")) == SITE_A[:1]


def test_duplicate_entries_for_one_file_keep_the_first(tmp_path):
    root = make_tree(tmp_path / "p", SITE_A)
    doc = results_doc(SITE_A + ["SITE_A/cam_1/img_0001.jpg"])
    doc["images"][-1]["detections"] = [det("2")]
    report = export(tmp_path, doc, root)
    out = read_out(root / "recognitionData.json")
    assert files_of(out) == SITE_A and out["images"][0]["detections"][0]["category"] == "1"
    assert report.counts["duplicate entries for one file (dropped)"] == 1


def test_per_folder_split(tmp_path):
    paths = SITE_A + ["site_b/cam_1/IMG_0001.JPG", "loose.jpg"]
    root = make_tree(tmp_path / "p", paths)
    report = export(tmp_path, results_doc([f"extra/{p}" for p in paths]), root, per_folder=1)
    assert sorted(report.outputs) == [str(root / "site_a/recognitionData.json"), str(root / "site_b/recognitionData.json")]
    assert files_of(read_out(root / "site_a/recognitionData.json")) == [p[len("site_a/"):] for p in SITE_A]
    assert files_of(read_out(root / "site_b/recognitionData.json")) == ["cam_1/IMG_0001.JPG"]
    assert report.counts["not inside a folder 1 level(s) deep (left out)"] == 1
    export(tmp_path, results_doc(paths), root, per_folder=2, out=Path("cams.json"))
    assert files_of(read_out(root / "site_a/cam_1/cams.json")) == ["IMG_0001.JPG", "IMG_0002.JPG"]


def test_overwrite_dry_run_and_forbidden_name(tmp_path):
    root = make_tree(tmp_path / "p", SITE_A)
    report = export(tmp_path, results_doc(SITE_A), root, dry_run=True)
    assert report.dry_run and not (root / "recognitionData.json").exists()
    export(tmp_path, results_doc(SITE_A), root)
    with pytest.raises(MdiError, match="--overwrite"):
        export(tmp_path, results_doc(SITE_A), root)
    export(tmp_path, results_doc(SITE_A), root, overwrite=True)
    with pytest.raises(MdiError, match="AddaxAI"):
        export(tmp_path, results_doc(SITE_A), root, out=tmp_path / "image_recognition_file.json")
    with pytest.raises(MdiError, match="no such folder"):
        export(tmp_path, results_doc(SITE_A), tmp_path / "nowhere")
    with pytest.raises(MdiError, match="only the file name"):
        export(tmp_path, results_doc(SITE_A), root, per_folder=1, out=tmp_path / "x.json")


def test_bad_option_values_are_clear_errors(tmp_path, capsys):
    root = make_tree(tmp_path / "p", SITE_A)
    results = write_doc(tmp_path, results_doc(SITE_A))
    for bad in (["--min-match-share", "1.5"], ["--per-folder", "0"], ["--video-frame-rate", "-3"]):
        assert main(["export", "timelapse", str(results), "--root", str(root), *bad]) == 1
        assert bad[0] in capsys.readouterr().err
    assert not (root / "recognitionData.json").exists()


def test_timelapse_rules_in_the_output(tmp_path):
    root = make_tree(tmp_path / "p", SITE_A)
    doc = results_doc(SITE_A)
    doc["info"] = {"format_version": 1.1, "detector": "megadetector_v4.1.0.pb"}
    doc["detection_categories"] = {"0": "animal", "1": "person", "2": "animal"}
    doc["classification_categories"] = {"10": "deer", "2": "person", "3": "fox", "4": "deer"}
    doc["classification_category_descriptions"] = {"10": "", "4": "guid;mammalia;x;y;z;deer;deer", "2": "p", "3": "f"}
    doc["images"][0] = {"file": SITE_A[0], "failure": "image access failure"}  # no detections key
    doc["images"][1]["detections"] = [det("0", classifications=[["4", 0.8], ["10", 0.1], ["2", 0.05]]), det("2")]
    doc["images"][2]["detections"] = [det("1")]
    export(tmp_path, doc, root)
    out = read_out(root / "recognitionData.json")
    raw = (root / "recognitionData.json").read_text()
    assert '"detections":null' in raw.replace(" ", "").replace("\n", "")  # explicit null, not omitted
    info = out["info"]
    assert isinstance(info["format_version"], str)
    assert info["detector_metadata"]["typical_detection_threshold"] == 0.8  # MDv4, from the model table
    assert info["detector_metadata"]["conservative_detection_threshold"] == 0.3
    assert info["detector_metadata"]["megadetector_version"] == "v4.1.0"
    assert info["classifier_metadata"]["typical_classification_threshold"] == 0.5
    assert info["classifier"] and info["detection_completion_time"] and info["classification_completion_time"]
    cats = out["detection_categories"]
    assert "0" not in cats and sorted(cats.values()) == ["animal", "person"]  # "0" renumbered, duplicates merged
    animal = next(k for k, v in cats.items() if v == "animal")
    assert [d["category"] for d in out["images"][1]["detections"]] == [animal, animal]
    assert cats[out["images"][2]["detections"][0]["category"]] == "person"
    classes = out["classification_categories"]
    assert sorted(classes.values()) == ["deer", "fox", "person"]
    assert classes[min(classes)] not in cats.values()  # no AddaxAI warning
    names = [classes[c] for c, _ in out["images"][1]["detections"][0]["classifications"]]
    assert names == ["deer", "person"]  # merged deer keeps its best score, ids follow their names
    deer = next(k for k, v in classes.items() if v == "deer")
    assert out["classification_category_descriptions"][deer].endswith("deer")
    assert all(isinstance(c, str) for c, _ in out["images"][1]["detections"][0]["classifications"])


def test_videos(tmp_path):
    root = make_tree(tmp_path / "p", ["cam/a.MP4", "cam/b.avi", "cam/c.mov"])
    doc = results_doc([])
    doc["images"] = [
        {"file": "cam/a.MP4", "frame_rate": 30.0, "frames_processed": [0, 30, 60],
         "detections": [det(frame_number=30), det(conf=0.5, frame_number=60)]},
        {"file": "cam/b.avi", "frame_rate": 15, "detections": [det()]},
        {"file": "cam/c.mov", "detections": [det(frame_number=4)]},
    ]
    with pytest.raises(MdiError, match="--video-frame-rate"):
        export(tmp_path, doc, root)
    report = export(tmp_path, doc, root, video_frame_rate=25)
    a, b, c = read_out(root / "recognitionData.json")["images"]
    assert a == doc["images"][0]  # complete video results pass through unchanged
    assert b["frame_rate"] == 15 and b["detections"][0]["frame_number"] == 0 and b["frames_processed"] == [0]
    assert c["frame_rate"] == 25 and c["detections"][0]["frame_number"] == 4
    assert report.counts["videos given --video-frame-rate"] == 1
    assert run_check(root / "recognitionData.json", root) == 0


def test_output_passes_the_checker_and_host_validator(tmp_path, capsys):
    images, results = copy_sample(tmp_path)
    moved = tmp_path / "project" / "survey"
    moved.parent.mkdir()
    images.rename(moved)
    assert run_check(results, moved.parent) == 1  # as written, the paths miss the "survey" folder
    assert main(["export", "timelapse", str(results), "--root", str(moved.parent)]) == 0
    out = moved.parent / "recognitionData.json"
    assert mdi.validate(out) == []
    assert run_check(out, moved.parent) == 0
    printed = capsys.readouterr().out
    assert "add 'survey/'" in printed and "ready for Timelapse" in printed


def test_category_plan_edge_cases():
    from collections import Counter

    from megadetector_integrations.model import ResultsFile
    from megadetector_integrations_timelapse.rules import plan_categories

    notes = Counter()
    rf = ResultsFile(detection_categories={"1": "animal", "2": " "},
                     classification_categories={"1": "animal", "2": ""})
    plan = plan_categories(rf, notes)
    assert plan.detection_categories == {"1": "animal", "2": "category 2"}
    assert plan.classification_categories == {"1": "class 2", "2": "animal"}  # ids swapped
    assert plan.classification_map == {"1": "2", "2": "1"}
    assert notes["blank category names filled in"] == 1 and notes["blank class names filled in"] == 1
    # every class is named like a detection category: the first one is renamed instead
    rf = ResultsFile(classification_categories={"1": "animal", "2": "person"})
    plan = plan_categories(rf, notes)
    assert plan.classification_categories == {"1": "animal (classification)", "2": "person"}
    assert plan.classification_map == {}


def test_model_built_in_code_with_neither_detections_nor_failure(tmp_path):
    from megadetector_integrations.model import Image, ResultsFile

    root = make_tree(tmp_path / "p", SITE_A[:1])
    rf = ResultsFile(images=(Image(SITE_A[0], None),))
    mdi.export(rf, "timelapse", root=root)
    (image,) = read_out(root / "recognitionData.json")["images"]
    assert image["detections"] is None and image["failure"]
