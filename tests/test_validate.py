"""Every validation rule, with its exact message, through the API and `mdi validate`."""


import pytest

from megadetector_integrations import api
from megadetector_integrations.cli import main


def problems_of(doc, write_doc):
    path = write_doc(doc)
    return [p.format(str(path)) for p in api.validate(path)], str(path)


def single(doc, write_doc) -> str:
    found, path = problems_of(doc, write_doc)
    assert len(found) == 1, found
    return found[0].removeprefix(path + ": ")


def test_sample_is_valid(sample_doc, write_doc):
    assert problems_of(sample_doc, write_doc)[0] == []


def test_bbox_out_of_range_message(sample_doc, write_doc):
    sample_doc["images"][1]["detections"][0]["bbox"] = [0.2, 1.7, 0.1, 0.1]
    assert single(sample_doc, write_doc) == (
        "images[1] 'site_a/cam_1/IMG_0002.JPG': detections[0].bbox: "
        "expected 4 numbers in [0, 1], got [0.2, 1.7, 0.1, 0.1]"
    )


def test_bbox_wrong_length(sample_doc, write_doc):
    sample_doc["images"][0]["detections"][0]["bbox"] = [0.2, 0.7]
    assert single(sample_doc, write_doc).endswith("detections[0].bbox: expected 4 numbers in [0, 1], got [0.2, 0.7]")


@pytest.mark.parametrize("conf", [1.5, -0.1, "0.5", None])
def test_confidence_out_of_range_or_not_a_number(sample_doc, write_doc, conf):
    sample_doc["images"][0]["detections"][0]["conf"] = conf
    assert single(sample_doc, write_doc) == (
        f"images[0] 'site_a/cam_1/IMG_0001.JPG': detections[0].conf: expected a number in [0, 1], got {conf!r}"
    )


def test_undefined_detection_category(sample_doc, write_doc):
    sample_doc["images"][3]["detections"][0]["category"] = "7"
    assert single(sample_doc, write_doc) == (
        "images[3] 'site_a/cam_1/IMG_0004.JPG': detections[0].category: '7' is not defined in detection_categories"
    )


def test_undefined_classification_class(sample_doc, write_doc):
    sample_doc["images"][0]["detections"][0]["classifications"][0][0] = "99"
    assert single(sample_doc, write_doc) == (
        "images[0] 'site_a/cam_1/IMG_0001.JPG': detections[0].classifications[0]: "
        "class '99' is not defined in classification_categories"
    )


def test_duplicate_file(sample_doc, write_doc):
    sample_doc["images"][2]["file"] = sample_doc["images"][0]["file"]
    assert single(sample_doc, write_doc) == (
        "images[2] 'site_a/cam_1/IMG_0001.JPG': file: duplicate entry, first seen at images[0]"
    )


def test_failure_with_detections(sample_doc, write_doc):
    sample_doc["images"][11]["detections"] = []
    assert single(sample_doc, write_doc) == (
        "images[11] 'site_b/cam_1/IMG_0004.JPG': failure: a failed image must have detections null, got a list"
    )


def test_success_without_detections(sample_doc, write_doc):
    del sample_doc["images"][6]["detections"]
    assert single(sample_doc, write_doc) == (
        "images[6] 'site_a/cam_2/IMG_0003.JPG': detections: required for an image without a failure "
        "(use [] for no detections)"
    )


@pytest.mark.parametrize("file, reason", [
    ("/data/traps/IMG_1.JPG", "absolute path"),
    ("D:\\traps\\IMG_1.JPG", "absolute path"),
    ("\\\\server\\share\\IMG_1.JPG", "absolute path"),
    ("site_a/../../etc/passwd", "'..' segment"),
    ("..\\x.jpg", "'..' segment"),
])
def test_unsafe_paths(sample_doc, write_doc, file, reason):
    sample_doc["images"][0]["file"] = file
    assert single(sample_doc, write_doc) == f"[unsafe] images[0] {file!r}: file: unsafe path: {reason}"


def test_dots_inside_names_are_fine(sample_doc, write_doc):
    sample_doc["images"][0]["file"] = "site..a/cam_1/IMG..0001.JPG"
    assert problems_of(sample_doc, write_doc)[0] == []


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.pop("info"), "info: required key missing"),
    (lambda d: d["info"].pop("format_version"),
     "info.format_version: required key missing (files older than format 1.0 are not supported)"),
    (lambda d: d["info"].update(format_version="new"),
     "info.format_version: expected a version string such as '1.6', got 'new'"),
    (lambda d: d.pop("detection_categories"), "detection_categories: required key missing"),
    (lambda d: d.update(detection_categories=["animal"]),
     "detection_categories: expected an object mapping id strings to names, got ['animal']"),
    (lambda d: d["detection_categories"].update(x="animal"),
     "detection_categories['x']: category ids must be non-negative integers written as strings"),
    (lambda d: d["detection_categories"].update({"1": " "}),
     "detection_categories['1']: expected a non-blank name, got ' '"),
    (lambda d: d.pop("images"), "images: required key missing"),
    (lambda d: d.update(images={}), "images: expected a list, got {}"),
])
def test_top_level_rules(sample_doc, write_doc, mutate, expected):
    mutate(sample_doc)
    assert single(sample_doc, write_doc) == expected


def test_image_entry_rules(sample_doc, write_doc):
    sample_doc["images"][0] = "IMG.JPG"
    del sample_doc["images"][1]["file"]
    sample_doc["images"][2]["failure"] = 3
    sample_doc["images"][2]["detections"] = None
    sample_doc["images"][3]["detections"] = {"a": 1}
    sample_doc["images"][4]["detections"][0]["classifications"] = [["1"]]
    found, path = problems_of(sample_doc, write_doc)
    assert [f.removeprefix(path + ": ") for f in found] == [
        "images[0]: expected an object, got 'IMG.JPG'",
        "images[1]: file: required key missing",
        "images[2] 'site_a/cam_1/IMG_0003.JPG': failure: expected a string or null, got 3",
        "images[3] 'site_a/cam_1/IMG_0004.JPG': detections: expected a list or null, got {'a': 1}",
        "images[4] 'site_a/cam_2/IMG_0001.JPG': detections[0].classifications[0]: "
        "expected [class_id string, number in [0, 1]], got ['1']",
    ]


def test_every_problem_is_listed_not_just_the_first(sample_doc, write_doc):
    for im in sample_doc["images"][:10]:
        for d in im["detections"] or ():
            d["conf"] = 2.0
    found, _ = problems_of(sample_doc, write_doc)
    n_detections = sum(len(im["detections"] or ()) for im in sample_doc["images"][:10])
    assert len(found) == n_detections


def test_video_without_frame_rate_is_a_warning(sample_doc, write_doc):
    sample_doc["images"][0]["file"] = "site_a/cam_1/VID_0001.MP4"
    found, _ = problems_of(sample_doc, write_doc)
    assert any("[warning]" in f and "frame_rate: videos need a frame rate > 0" in f for f in found)
    assert any("frame_number: required for videos" in f for f in found)


def test_cli_exit_codes_and_output(sample_doc, write_doc, capsys):
    good = write_doc(sample_doc, "good.json")
    assert main(["validate", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    sample_doc["images"][1]["detections"][0]["bbox"] = [0.2, 1.7, 0.1, 0.1]
    bad = write_doc(sample_doc, "bad.json")
    assert main(["validate", str(good), str(bad)]) == 1
    out = capsys.readouterr()
    assert f"{bad}: images[1] 'site_a/cam_1/IMG_0002.JPG': detections[0].bbox: expected 4 numbers in [0, 1]" in out.out
    assert "INVALID" in out.err


def test_cli_unsafe_paths_fail_unless_allowed(sample_doc, write_doc):
    sample_doc["images"][0]["file"] = "/abs/IMG.JPG"
    path = write_doc(sample_doc)
    assert main(["validate", str(path)]) == 1
    assert main(["validate", "--allow-unsafe", str(path)]) == 0


def test_cli_missing_file_is_one_line(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.json")]) == 1
    err = capsys.readouterr()
    assert "no such file" in err.out + err.err
