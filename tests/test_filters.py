"""The built-in filters, `subset()` and `mdi subset`, on small hand-written files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from megadetector_integrations import convert
from megadetector_integrations.cli import main
from megadetector_integrations.errors import MdiError
from megadetector_integrations.filters import BUILTIN_FILTERS, subset
from megadetector_integrations.io import read_results
from megadetector_integrations.plugins import filters as installed_filters


def det(category="1", conf=0.9, bbox=(0.1, 0.1, 0.2, 0.2), classes=None, **extra):
    d = {"category": category, "conf": conf, "bbox": list(bbox), **extra}
    if classes is not None:
        d["classifications"] = [list(c) for c in classes]
    return d


def doc(*images, **top):
    return {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt", "custom_info": "kept"},
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "classification_categories": {"1": "deer", "2": "fox", "3": "owl"},
        "classification_category_descriptions": {"1": "cervidae", "2": "canidae", "3": "strigidae"},
        "images": list(images),
        **top,
    }


def image(file, *detections, **extra):
    return {"file": file, "detections": list(detections), **extra}


def failed(file):
    return {"file": file, "detections": None, "failure": "image access failure"}


SAMPLE = doc(
    image("site_a/cam_1/img1.jpg", det("1", 0.9, classes=[("1", 0.8), ("2", 0.1)]), det("2", 0.3), meta="kept"),
    image("site_a/cam_2/img2.jpg", det("1", 0.5, bbox=(0, 0, 0.9, 0.9), classes=[("1", 0.6)]), det("3", 0.05)),
    image("site_b/cam_1/img3.jpg"),
    failed("site_b/cam_1/img4.jpg"),
    image("site_b/cam_2/site_a.jpg", det("2", 0.7, bbox=(0, 0, 0.01, 0.01)), det("1", 0.2, classes=[("3", 0.4)])),
    top_level_extra={"kept": True},
)


def model(d=SAMPLE):
    return convert.results_from_dict(d)


def files(rf):
    return [im.file for im in rf.images]


def detections(rf):
    return {im.file: [(d.category, d.conf) for d in im.detections or ()] for im in rf.images}


def write_json(path: Path, d) -> Path:
    path.write_text(json.dumps(d))
    return path


# -- path query / replacement --------------------------------------------------


def test_query_keeps_paths_containing_it():
    assert files(subset(model(), query="cam_1/")) == ["site_a/cam_1/img1.jpg", "site_b/cam_1/img3.jpg",
                                                     "site_b/cam_1/img4.jpg"]


def test_caret_means_starts_with():
    assert files(subset(model(), query="^site_a")) == ["site_a/cam_1/img1.jpg", "site_a/cam_2/img2.jpg"]
    # without ^, "site_a" also matches the file name of the last image
    assert len(files(subset(model(), query="site_a"))) == 3


def test_plain_replacement_replaces_every_occurrence():
    rf = subset(model(), query="site_a", replacement="S")
    assert files(rf) == ["S/cam_1/img1.jpg", "S/cam_2/img2.jpg", "site_b/cam_2/S.jpg"]


def test_anchored_replacement_replaces_only_the_start():
    d = doc(image("a/a/x.jpg"), image("b/a/y.jpg"))
    assert files(subset(model(d), query="^a/", replacement="z/")) == ["z/a/x.jpg"]


def test_empty_query_prepends_the_replacement():
    for options in ({"replacement": "pre/"}, {"query": "", "replacement": "pre/"}, {"query": "^", "replacement": "pre/"}):
        rf = subset(model(), **options)
        assert files(rf) == ["pre/" + f for f in files(model())]


def test_strip_a_leading_folder():
    rf = subset(model(), query="^site_b/", replacement="")
    assert files(rf) == ["cam_1/img3.jpg", "cam_1/img4.jpg", "cam_2/site_a.jpg"]


def test_replacement_keeps_detections_failures_and_unknown_fields():
    rf = subset(model(), replacement="x/")
    before, after = model().images, rf.images
    assert [(b.detections, b.failure, dict(b.extra)) for b in before] == \
           [(a.detections, a.failure, dict(a.extra)) for a in after]


def test_replacement_that_merges_two_paths_is_refused():
    d = doc(image("a/x.jpg"), image("a/a/x.jpg"))
    with pytest.raises(MdiError, match="'a/x.jpg' and 'a/a/x.jpg' the same path 'x.jpg'"):
        subset(model(d), query="a/", replacement="")


def test_replacement_that_empties_a_path_is_refused():
    with pytest.raises(MdiError, match="empty path"):
        subset(model(doc(image("a/x.jpg"))), query="^a/x.jpg", replacement="")


# -- keep-list -------------------------------------------------------------------


def test_keep_files_listed_in_another_results_file(tmp_path):
    other = write_json(tmp_path / "other.json", doc(image("site_b\\cam_1\\img3.jpg"), image("./site_a/cam_1/img1.jpg"),
                                                    image("elsewhere/z.jpg")))
    assert files(subset(model(), keep_files_in=other)) == ["site_a/cam_1/img1.jpg", "site_b/cam_1/img3.jpg"]


def test_keep_files_present_under_a_folder(tmp_path):
    for f in ("site_a/cam_2/img2.jpg", "site_b/cam_1/img4.jpg", "unrelated.txt"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes(b"")
    assert files(subset(model(), keep_files_in=tmp_path)) == ["site_a/cam_2/img2.jpg", "site_b/cam_1/img4.jpg"]


def test_keep_list_matches_rewritten_paths(tmp_path):
    """Documented order: the path filter (10) runs before the keep-list (20)."""
    (tmp_path / "cam_1").mkdir()
    (tmp_path / "cam_1" / "img3.jpg").write_bytes(b"")
    rf = subset(model(), keep_files_in=tmp_path, query="^site_b/", replacement="")
    assert files(rf) == ["cam_1/img3.jpg"]


def test_missing_keep_list_is_a_clear_error(tmp_path):
    with pytest.raises(MdiError, match="no such file or folder"):
        subset(model(), keep_files_in=tmp_path / "nope.json")


# -- failed images, thresholds, categories, sizes ----------------------------------


def test_remove_failed_images():
    rf = subset(model(), remove_failed_images=True)
    assert "site_b/cam_1/img4.jpg" not in files(rf)
    assert len(rf.images) == len(model().images) - 1


def test_confidence_threshold_keeps_at_or_above():
    rf = subset(model(), confidence_threshold=0.5)
    assert detections(rf) == {
        "site_a/cam_1/img1.jpg": [("1", 0.9)],
        "site_a/cam_2/img2.jpg": [("1", 0.5)],
        "site_b/cam_1/img3.jpg": [],
        "site_b/cam_1/img4.jpg": [],
        "site_b/cam_2/site_a.jpg": [("2", 0.7)],
    }
    assert rf.images[3].failed  # failed images stay, unchanged


def test_threshold_zero_keeps_everything():
    assert detections(subset(model(), confidence_threshold=0.0)) == detections(model())


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_threshold_outside_unit_interval_is_refused(bad):
    with pytest.raises(MdiError, match="--confidence-threshold must be between 0 and 1"):
        subset(model(), confidence_threshold=bad)


def test_categories_by_name_and_id_each_with_its_own_threshold():
    rf = subset(model(), categories=("animal=0.5", "3"))
    assert detections(rf) == {
        "site_a/cam_1/img1.jpg": [("1", 0.9)],
        "site_a/cam_2/img2.jpg": [("1", 0.5), ("3", 0.05)],
        "site_b/cam_1/img3.jpg": [],
        "site_b/cam_1/img4.jpg": [],
        "site_b/cam_2/site_a.jpg": [],
    }


def test_unknown_category_names_what_the_file_has():
    with pytest.raises(MdiError, match="no detection category 'bird'.*1=animal"):
        subset(model(), categories=("bird",))


@pytest.mark.parametrize("entry", ["animal=x", "animal=2", "=0.3"])
def test_bad_category_entries_are_refused(entry):
    with pytest.raises(MdiError, match="--categories"):
        subset(model(), categories=(entry,))


def test_detection_size_range():
    rf = subset(model(), minimum_detection_size=0.02, maximum_detection_size=0.5)
    kept = {f: [c for c, _ in ds] for f, ds in detections(rf).items()}
    assert kept["site_a/cam_2/img2.jpg"] == ["3"]        # the 0.81 box goes, the 0.04 one stays
    assert kept["site_b/cam_2/site_a.jpg"] == ["1"]      # the 0.0001 box goes
    with pytest.raises(MdiError, match="above --maximum-detection-size"):
        subset(model(), minimum_detection_size=0.5, maximum_detection_size=0.1)


# -- classifications -----------------------------------------------------------------


def classes(rf):
    return [[c for c, _ in d.classifications or ()] for im in rf.images for d in im.detections or ()]


def test_classification_threshold_drops_low_pairs():
    rf = subset(model(), classification_threshold=0.5)
    assert classes(rf) == [["1"], [], ["1"], [], [], []]
    assert rf.images[4].detections[1].classifications is None  # lost its only one


def test_rare_classes_leave_the_lists_and_the_detections():
    rf = subset(model(), min_classification_count=2)  # deer seen twice, fox and owl once
    assert dict(rf.classification_categories) == {"1": "deer"}
    assert dict(rf.classification_category_descriptions) == {"1": "cervidae"}
    assert classes(rf) == [["1"], [], ["1"], [], [], []]


def test_rare_classes_are_counted_after_the_classification_threshold():
    rf = subset(model(), classification_threshold=0.7, min_classification_count=2)
    assert rf.classification_categories == {}  # deer survives the threshold only once


# -- registration, options, unknown fields ---------------------------------------------


def test_builtin_filters_are_registered_in_order():
    names = [f.name for f in installed_filters() if f in BUILTIN_FILTERS]
    assert names == ["path", "keep-list", "failed", "threshold", "categories", "size", "class-threshold",
                     "rare-classes"]


def test_unknown_option_is_an_error():
    with pytest.raises(MdiError, match="unknown filter option.*confidence"):
        subset(model(), confidense_threshold=0.2)


def test_no_options_changes_nothing():
    assert subset(model()) == model()


def test_unknown_fields_survive_a_round_trip(tmp_path):
    src = write_json(tmp_path / "in.json", SAMPLE)
    out = tmp_path / "out.json"
    assert main(["subset", str(src), str(out), "--confidence-threshold", "0.5", "--query", "^site_a/"]) == 0
    written = json.loads(out.read_text())
    assert written["top_level_extra"] == {"kept": True}
    assert written["info"]["custom_info"] == "kept"
    assert written["images"][0]["meta"] == "kept"
    read_results(out.read_bytes(), str(out))  # valid


# -- the command line --------------------------------------------------------------------


def test_cli_subset_strips_a_folder_and_thresholds(tmp_path, capsys):
    src = write_json(tmp_path / "in.json", SAMPLE)
    out = tmp_path / "out.json"
    assert main(["subset", str(src), str(out), "--query", "^site_a/", "--replacement", "",
                 "--categories", "animal=0.6", "person", "--compact"]) == 0
    rf, _ = read_results(out.read_bytes(), str(out))
    assert detections(rf) == {"cam_1/img1.jpg": [("1", 0.9), ("2", 0.3)], "cam_2/img2.jpg": []}
    assert "2 of 5 images" in capsys.readouterr().out


def test_cli_output_name_without_folder(tmp_path, monkeypatch):
    src = write_json(tmp_path / "in.json", SAMPLE)
    monkeypatch.chdir(tmp_path)
    assert main(["subset", str(src), "q.json", "--remove-failed-images"]) == 0
    assert len(json.loads((tmp_path / "q.json").read_text())["images"]) == 4


def test_cli_dry_run_writes_nothing(tmp_path, capsys):
    src = write_json(tmp_path / "in.json", SAMPLE)
    assert main(["subset", str(src), str(tmp_path / "out.json"), "--query", "cam_1", "--dry-run"]) == 0
    assert not (tmp_path / "out.json").exists()
    assert "[dry run]" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--confidence-threshold", "2"], "between 0 and 1"),
    (["--confidence-threshold", "abc"], "expected a number"),
    (["--min-classification-count", "-3"], "0 or more"),
    (["--categories", "unicorn"], "no detection category"),
])
def test_cli_bad_input_is_a_clear_error_and_writes_nothing(tmp_path, capsys, args, message):
    src = write_json(tmp_path / "in.json", SAMPLE)
    assert main(["subset", str(src), str(tmp_path / "out.json"), *args]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def test_cli_refuses_to_overwrite(tmp_path, capsys):
    src = write_json(tmp_path / "in.json", SAMPLE)
    out = tmp_path / "out.json"
    out.write_text("precious")
    assert main(["subset", str(src), str(out)]) == 1
    assert out.read_text() == "precious"
    assert main(["subset", str(src), str(src), "--overwrite"]) == 1
    assert "is an input file" in capsys.readouterr().err
    assert json.loads(src.read_text()) == SAMPLE
    assert main(["subset", str(src), str(out), "--overwrite"]) == 0


@pytest.mark.parametrize("command", ["subset", "split", "merge"])
def test_every_option_of_the_commands_has_help_with_an_example(command):
    import argparse

    from megadetector_integrations.cli import build_parser

    stubs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    real = argparse.ArgumentParser(prog="mdi")
    stubs.choices[command].get_default("lazy")(real.add_subparsers())  # the parser `mdi COMMAND` runs with
    commands = next(a for a in real._actions if isinstance(a, argparse._SubParsersAction))
    parser = commands.choices[command]
    from_loaders = {id(a) for g in parser._action_groups if g.title.startswith("input options") for a in g._group_actions}
    for action in parser._actions:
        if action.dest != "help" and id(action) not in from_loaders:  # loader plugins word their own help
            assert "e.g." in (action.help or ""), (command, action.option_strings or action.dest)
    assert "examples:" in parser.epilog


# -- properties ----------------------------------------------------------------------------

conf = st.floats(0, 1)
detection = st.builds(det, category=st.sampled_from("123"), conf=conf)
segment = st.text("abcxyz_", min_size=1, max_size=4)
relative_path = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/".join(parts) + ".jpg")


@st.composite
def results(draw):
    paths = draw(st.lists(relative_path, min_size=0, max_size=12, unique=True))
    return model(doc(*(image(p, *draw(st.lists(detection, max_size=4))) for p in paths)))


@settings(max_examples=60, deadline=None)
@given(results(), conf)
def test_threshold_never_adds_detections_and_keeps_only_confident(rf, threshold):
    out = subset(rf, confidence_threshold=threshold)
    assert files(out) == files(rf)
    for before, after in zip(rf.images, out.images):
        assert len(after.detections) <= len(before.detections)
        assert all(d.conf >= threshold for d in after.detections)
        assert [d for d in before.detections if d.conf >= threshold] == list(after.detections)


@settings(max_examples=60, deadline=None)
@given(results(), segment, segment)
def test_prefix_replace_round_trips(rf, prefix, other):
    with_prefix = subset(rf, replacement=prefix + "/")
    moved = subset(with_prefix, query=f"^{prefix}/", replacement=f"{other}/")
    back = subset(moved, query=f"^{other}/", replacement="")
    assert files(back) == files(rf)
    assert [im.detections for im in back.images] == [im.detections for im in rf.images]


@settings(max_examples=60, deadline=None)
@given(results(), segment)
def test_query_keeps_exactly_the_matching_images(rf, query):
    assert files(subset(rf, query=query)) == [f for f in files(rf) if query in f]
    assert files(subset(rf, query="^" + query)) == [f for f in files(rf) if f.startswith(query)]
