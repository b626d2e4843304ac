"""`merge()` and `mdi merge`: images from all inputs, categories matched by name,
a chosen policy for images found twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from megadetector_integrations import convert
from megadetector_integrations.cli import main
from megadetector_integrations.errors import MdiError
from megadetector_integrations.io import read_results
from megadetector_integrations.merging import merge


def det(category, conf=0.5, classes=None):
    d = {"category": category, "conf": conf, "bbox": [0.1, 0.1, 0.2, 0.2]}
    if classes:
        d["classifications"] = [list(c) for c in classes]
    return d


def results(images, categories=None, classes=None, descriptions=None, **top):
    d = {"info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
         "detection_categories": categories or {"1": "animal", "2": "person", "3": "vehicle"},
         "images": images, **top}
    if classes is not None:
        d["classification_categories"] = classes
    if descriptions is not None:
        d["classification_category_descriptions"] = descriptions
    return d


def img(file, *dets, failure=None):
    if failure:
        return {"file": file, "detections": None, "failure": failure}
    return {"file": file, "detections": list(dets)}


def model(d):
    return convert.results_from_dict(d)


def named(rf):
    """Every detection as (file, category name, [class names]): what must not change."""
    return [(im.file, rf.detection_categories[d.category], [rf.classification_name(c) for c, _ in d.classifications or ()])
            for im in rf.images for d in im.detections or ()]


A = results([img("a/1.jpg", det("1", classes=[("1", 0.9)])), img("a/2.jpg", det("2"))],
            classes={"1": "deer", "2": "fox"}, descriptions={"1": "cervidae", "2": "canidae"}, from_a=1)
B = results([img("b/1.jpg", det("1"), det("2", classes=[("1", 0.7), ("5", 0.2)])), img("b/2.jpg", det("4"))],
            categories={"1": "person", "2": "animal", "4": "bird"},
            classes={"1": "fox", "5": "owl"}, descriptions={"1": "canidae", "5": "strigidae"}, from_b=2)


def test_images_from_all_inputs_in_order():
    merged = merge([model(A), model(B)])
    assert [im.file for im in merged.images] == ["a/1.jpg", "a/2.jpg", "b/1.jpg", "b/2.jpg"]


def test_categories_matched_by_name_and_renumbered():
    merged = merge([model(A), model(B)])
    assert dict(merged.detection_categories) == {"1": "animal", "2": "person", "3": "vehicle", "4": "bird"}
    assert dict(merged.classification_categories) == {"1": "deer", "2": "fox", "5": "owl"}
    assert dict(merged.classification_category_descriptions) == {"1": "cervidae", "2": "canidae", "5": "strigidae"}
    assert named(merged) == named(model(A)) + named(model(B))
    b1 = merged.images[2].detections
    assert [d.category for d in b1] == ["2", "1"] and b1[1].classifications[0][0] == "2"


def test_same_id_for_a_new_name_gets_the_next_free_id():
    c = results([img("c/1.jpg", det("1"), det("3"))], categories={"1": "bird", "3": "vehicle"})
    merged = merge([model(A), model(c)])
    assert dict(merged.detection_categories) == {"1": "animal", "2": "person", "3": "vehicle", "4": "bird"}
    assert [d.category for d in merged.images[-1].detections] == ["4", "3"]


def test_unknown_top_level_keys_and_info_survive():
    merged = merge([model(A), model(B)])
    assert dict(merged.extra) == {"from_a": 1, "from_b": 2}
    assert merged.info == model(A).info


DUP_1 = results([img("x/1.jpg", det("1")), img("x/2.jpg", failure="inference failure")])
DUP_2 = results([img("x\\1.jpg", det("1"), det("2")), img("x/2.jpg"), img("x/3.jpg")])


def test_duplicate_images_are_an_error_by_default():
    with pytest.raises(MdiError, match=r"'x\\\\1.jpg' is in both one.json and two.json.*--on-duplicate"):
        merge([model(DUP_1), model(DUP_2)], names=["one.json", "two.json"])


def test_duplicates_keep_the_first():
    merged = merge([model(DUP_1), model(DUP_2)], on_duplicate="first")
    assert [(im.file, len(im.detections or ())) for im in merged.images] == [("x/1.jpg", 1), ("x/2.jpg", 0), ("x/3.jpg", 0)]
    assert merged.images[1].failed


def test_duplicates_keep_the_one_with_most_detections():
    merged = merge([model(DUP_1), model(DUP_2)], on_duplicate="most-detections")
    assert [(im.file, len(im.detections)) for im in merged.images] == [("x\\1.jpg", 2), ("x/2.jpg", 0), ("x/3.jpg", 0)]
    assert not merged.images[1].failed  # an empty result beats a failure


def test_unknown_policy_is_an_error():
    with pytest.raises(MdiError, match="--on-duplicate: expected one of error, first, most-detections"):
        merge([model(A)], on_duplicate="last")


# -- the command line -------------------------------------------------------------------


def write(tmp_path: Path, name: str, d) -> str:
    (tmp_path / name).write_text(json.dumps(d))
    return str(tmp_path / name)


def test_cli_merge(tmp_path, capsys):
    a, b = write(tmp_path, "a.json", A), write(tmp_path, "b.json", B)
    out = tmp_path / "merged.json"
    assert main(["merge", a, b, "-o", str(out)]) == 0
    rf, problems = read_results(out.read_bytes(), str(out))
    assert named(rf) == named(model(A)) + named(model(B))
    assert "4 images from 2 file(s)" in capsys.readouterr().out


def test_cli_duplicates_error_writes_nothing(tmp_path, capsys):
    one, two = write(tmp_path, "one.json", DUP_1), write(tmp_path, "two.json", DUP_2)
    out = tmp_path / "merged.json"
    assert main(["merge", one, two, "-o", str(out)]) == 1
    assert f"is in both {one} and {two}" in capsys.readouterr().err
    assert not out.exists()
    assert main(["merge", one, two, "-o", str(out), "--on-duplicate", "first"]) == 0


def test_cli_dry_run_and_refusals(tmp_path, capsys):
    a, b = write(tmp_path, "a.json", A), write(tmp_path, "b.json", B)
    out = tmp_path / "merged.json"
    assert main(["merge", a, b, "-o", str(out), "--dry-run"]) == 0
    assert "[dry run] merge" in capsys.readouterr().out and not out.exists()
    assert main(["merge", a, b, "-o", a, "--overwrite"]) == 1
    assert "is an input file" in capsys.readouterr().err
    assert json.loads(Path(a).read_text()) == A


# -- properties ----------------------------------------------------------------------------

names = st.sampled_from(["animal", "person", "vehicle", "bird", "fish"])
category_maps = st.dictionaries(st.integers(1, 6).map(str), names, min_size=1, max_size=5)


@st.composite
def results_files(draw, prefix):
    cats = draw(category_maps)
    n = draw(st.integers(0, 5))
    images = [img(f"{prefix}/{i}.jpg", *[det(draw(st.sampled_from(sorted(cats)))) for _ in range(draw(st.integers(0, 3)))])
              for i in range(n)]
    return model(results(images, categories=cats))


@settings(max_examples=60, deadline=None)
@given(results_files("p"), results_files("q"))
def test_merge_keeps_every_detection_under_its_category_name(p, q):
    merged = merge([p, q])
    assert named(merged) == named(p) + named(q)
    assert set(merged.detection_categories.values()) == set(p.detection_categories.values()) | set(
        q.detection_categories.values())


@settings(max_examples=30, deadline=None)
@given(results_files("p"))
def test_merging_a_file_with_itself_keeping_the_first_changes_nothing(p):
    assert merge([p, p], on_duplicate="first").images == p.images


def test_cli_says_when_info_blocks_differ(tmp_path, capsys):
    other = dict(B, info={"format_version": "1.4", "detector": "md_v1000.0.0-redwood.pt"})
    a, b = write(tmp_path, "a.json", A), write(tmp_path, "b.json", other)
    assert main(["merge", a, b, "-o", str(tmp_path / "m.json")]) == 0
    assert f"{b}: its info block differs from {a}'s" in capsys.readouterr().out
    assert json.loads((tmp_path / "m.json").read_text())["info"]["detector"] == "md_v5a.0.0.pt"
