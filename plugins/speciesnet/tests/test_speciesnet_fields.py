"""Hand-made SpeciesNet files, one field or edge case per test, read through the
installed plugin (``mdi.load``), the notebook function and the ``mdi`` command."""

import json

import pytest

import megadetector_integrations as mdi
import megadetector_integrations_speciesnet as sn
from megadetector_integrations import io, plugins
from megadetector_integrations.cli import main
from megadetector_integrations.errors import MdiError, ResultsError
from megadetector_integrations.sample import RESULTS

DEER = "5c7ce479-8a45-40b3-ae21-7c97dfae22f5;mammalia;cetartiodactyla;cervidae;odocoileus;virginianus;white-tailed deer"
COYOTE = "5a565886-156e-4b19-a017-6a5bbae4df0f;mammalia;carnivora;canidae;canis;latrans;coyote"
BLANK = "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank"
RODENTS = "2b4c1b5e-0000-4000-8000-000000000001;mammalia;rodentia;;;;"
MOUSE = "2b4c1b5e-0000-4000-8000-000000000002;mammalia;rodentia;muridae;mus;musculus;"
ENV = (sn.ENV_BASE_FOLDER, sn.ENV_TOP_N, sn.ENV_WHOLE_IMAGE)


@pytest.fixture(autouse=True)
def plugin_installed(monkeypatch):
    """The plugin as users get it (its entry point), and no options left in the environment."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    if plugins.manager().get_plugin("speciesnet") is None:  # not pip-installed: register in-process
        mdi.register(sn, "speciesnet")
        yield
        mdi.unregister("speciesnet")
    else:
        yield


def box(category="1", conf=0.9, bbox=(0.1, 0.2, 0.3, 0.4), label=None, **extra):
    labels = {"1": "animal", "2": "human", "3": "vehicle"}
    return {"category": category, "label": label or labels.get(category, "animal"), "conf": conf,
            "bbox": list(bbox), **extra}


def entry(filepath="/data/traps/site_a/IMG_0001.JPG", detections=None, prediction=DEER, score=0.91, **fields):
    """A full-ensemble SpeciesNet entry: one animal box, a deer prediction, top-2 raw scores."""
    out = {
        "filepath": filepath,
        "classifications": {"classes": [COYOTE, DEER], "scores": [0.6, 0.3]},
        "detections": [box()] if detections is None else detections,
        "prediction": prediction, "prediction_score": score, "prediction_source": "classifier",
        "model_version": "4.0.1a",
    }
    out.update(fields)
    return {k: v for k, v in out.items() if v is not None}


@pytest.fixture
def write(tmp_path):
    """Write ``{"predictions": entries}`` (or any document) and return the path."""

    def write(entries, name="predictions.json", **top):
        doc = {"predictions": entries, **top} if isinstance(entries, list) else entries
        path = tmp_path / name
        path.write_text(json.dumps(doc))
        return path

    return write


def load(write, *entries, **options):
    path = write(list(entries))
    return sn.load_predictions(path, **options) if options else mdi.load(path)


def problems_of(write, *entries, **options) -> list[str]:
    with pytest.raises(ResultsError) as caught:
        load(write, *entries, **options)
    return [p.format("f") for p in caught.value.problems]


# -- recognising the format --


def test_recognised_by_content_not_name(write, tmp_path):
    results = mdi.load(write([entry()], name="anything.txt"))
    assert results.images[0].file == "IMG_0001.JPG"
    md_named_like_speciesnet = tmp_path / "predictions.json"
    md_named_like_speciesnet.write_bytes(RESULTS.read_bytes())
    assert mdi.load(md_named_like_speciesnet) == mdi.load(RESULTS)  # the host reader still reads MD files


def test_other_content_is_declined_without_error(tmp_path):
    assert sn.mdi_load(RESULTS, RESULTS.read_bytes(), {}) is None
    md_mentioning_predictions = json.loads(RESULTS.read_text())
    md_mentioning_predictions["images"][0]["file"] = "predictions/IMG.JPG"
    data = json.dumps(md_mentioning_predictions).encode()
    assert sn.mdi_load(tmp_path / "x.json", data, {}) is None
    assert sn.mdi_load(tmp_path / "x.json", b'{"predictions": [', {}) is None  # broken JSON: the host reports it
    assert sn.mdi_load(tmp_path / "x.json", b'["predictions"]', {}) is None


def test_broken_json_is_reported_by_the_host(write, tmp_path):
    path = tmp_path / "predictions.json"
    path.write_text('{"predictions": [{"filepath": "a.jpg"')
    with pytest.raises(ResultsError, match="not valid JSON"):
        mdi.load(path)


def test_predictions_must_be_a_list(write):
    with pytest.raises(ResultsError, match=r"predictions: expected a list of entries, got \{\}"):
        mdi.load(write({"predictions": {}}))


def test_empty_predictions_give_empty_results(write):
    results = mdi.load(write([]))
    assert results.images == ()
    assert results.info.extra["custom_metadata"]["speciesnet_conversion"]["base_folder"] == ""


# -- filepath and the base folder --


def test_longest_common_folder_is_the_default_and_reported(write):
    results = load(write, entry("/data/traps/site_a/1.JPG"), entry("/data/traps/site_b/2.JPG"),
                   entry("/data/traps/site_ab/3.JPG"))
    assert [im.file for im in results.images] == ["site_a/1.JPG", "site_b/2.JPG", "site_ab/3.JPG"]
    record = results.info.extra["custom_metadata"]["speciesnet_conversion"]
    assert (record["base_folder"], record["base_folder_source"]) == ("/data/traps", "longest common folder")


def test_common_folder_stops_at_a_folder_boundary(write):
    results = load(write, entry("/data/cam10/1.JPG"), entry("/data/cam11/2.JPG"))
    assert [im.file for im in results.images] == ["cam10/1.JPG", "cam11/2.JPG"]


def test_windows_paths_get_forward_slashes(write):
    results = load(write, entry("C:\\traps\\site_a\\1.JPG"), entry("C:\\traps\\site_b\\2.JPG"))
    assert [im.file for im in results.images] == ["site_a/1.JPG", "site_b/2.JPG"]
    assert results.info.extra["custom_metadata"]["speciesnet_conversion"]["base_folder"] == "C:/traps"


def test_single_image_is_relative_to_its_folder(write):
    assert load(write, entry("/x/y/z.jpg")).images[0].file == "z.jpg"


def test_given_base_folder_with_or_without_trailing_slash(write):
    for base in ("/data", "/data/", "\\data\\"):
        results = load(write, entry("/data/traps/a/1.JPG"), base_folder=base)
        assert results.images[0].file == "traps/a/1.JPG"
        record = results.info.extra["custom_metadata"]["speciesnet_conversion"]
        assert (record["base_folder"], record["base_folder_source"]) == ("/data", "given")


def test_given_base_folder_must_contain_every_image(write):
    found = problems_of(write, entry("/data/traps/1.JPG"), entry("/database/2.JPG"), base_folder="/data")
    assert found == ["f: predictions[1] '/database/2.JPG': filepath: not inside the base folder '/data'; "
                     "name the folder the images are in"]


def test_empty_base_folder_keeps_paths_as_written(write):
    results = load(write, entry("traps/1.JPG"), entry("traps/2.JPG"), base_folder="")
    assert [im.file for im in results.images] == ["traps/1.JPG", "traps/2.JPG"]


def test_base_folder_from_the_environment(write, monkeypatch):
    monkeypatch.setenv(sn.ENV_BASE_FOLDER, "/data")
    assert load(write, entry("/data/traps/1.JPG")).images[0].file == "traps/1.JPG"


def test_missing_or_bad_filepath_is_named(write):
    found = problems_of(write, entry(filepath=None), entry(filepath=""), entry(filepath=["a"]))
    assert found == [
        "f: predictions[0]: filepath: required key missing",
        "f: predictions[1] '': filepath: expected a non-empty path string, got ''",
        "f: predictions[2]: filepath: expected a non-empty path string, got ['a']",
    ]


def test_duplicate_filepath_is_an_error(write):
    found = problems_of(write, entry("/d/a.jpg"), entry("/d/b.jpg"), entry("/d/a.jpg"))
    assert found == ["f: predictions[2] '/d/a.jpg': filepath: duplicate entry, first seen at predictions[0]"]


# -- failures --


def test_detector_failure_becomes_a_failed_entry(write):
    failed = entry("/d/b.jpg", failures=["DETECTOR", "CLASSIFIER"])
    for key in ("detections", "classifications", "prediction", "prediction_score", "prediction_source"):
        del failed[key]
    results = load(write, entry("/d/a.jpg"), failed)
    im = results.images[1]
    assert im.failed and im.detections is None
    assert im.failure == "SpeciesNet failure: DETECTOR, CLASSIFIER"
    assert "failures" not in im.extra


def test_classifier_failure_keeps_the_boxes(write):
    partial = entry(failures=["CLASSIFIER"], detections=[box(), box("2")])
    for key in ("classifications", "prediction", "prediction_score", "prediction_source"):
        del partial[key]
    im = load(write, partial).images[0]
    assert not im.failed
    assert [d.category for d in im.detections] == ["1", "2"]
    assert all(d.classifications is None for d in im.detections)
    assert im.extra["failures"] == ["CLASSIFIER"]


def test_geolocation_failure_keeps_the_prediction(write):
    im = load(write, entry(failures=["GEOLOCATION"])).images[0]
    assert not im.failed and im.detections[0].classifications[0][1] == 0.91


def test_malformed_failures_are_named(write):
    found = problems_of(write, entry("/d/a.jpg", failures="DETECTOR", detections=None) | {"detections": None})
    assert found == ["f: predictions[0] '/d/a.jpg': failures: expected a list of strings, got 'DETECTOR'"]


def test_missing_detections_without_failure_is_an_error(write):
    no_boxes = entry("/d/a.jpg")
    del no_boxes["detections"]
    null_boxes = entry("/d/b.jpg") | {"detections": None}
    found = problems_of(write, no_boxes, null_boxes)
    assert [f.split(": ", 3)[1:3] for f in found] == [
        ["predictions[0] '/d/a.jpg'", "detections"], ["predictions[1] '/d/b.jpg'", "detections"]]
    assert "unless 'failures' says the detector failed" in found[0]


# -- detections --


def test_categories_map_to_animal_person_vehicle(write):
    results = load(write, entry(detections=[box("1"), box("2", label="human"), box("3")]))
    assert dict(results.detection_categories) == {"1": "animal", "2": "person", "3": "vehicle"}
    assert [results.detection_categories[d.category] for d in results.images[0].detections] == [
        "animal", "person", "vehicle"]


def test_boxes_keep_conf_bbox_and_unknown_fields(write):
    d = load(write, entry(detections=[box(conf=0.375, bbox=(0, 0.5, 0.25, 0.125), note="x")])).images[0].detections[0]
    assert (d.conf, d.bbox, dict(d.extra)) == (0.375, (0.0, 0.5, 0.25, 0.125), {"note": "x"})


def test_rounding_noise_just_above_one_is_clamped(write):
    results = load(write, entry(detections=[box(conf=1.0000000001, bbox=(0, 0, 1.0000000002, 1))],
                                score=1.0000000003))
    d = results.images[0].detections[0]
    assert d.conf == 1.0 and d.bbox[2] == 1.0 and d.classifications[0][1] == 1.0


def test_malformed_boxes_are_named(write):
    found = problems_of(write, entry("/d/a.jpg", detections=[
        box("4"), box("2", label="animal"), box(conf=1.5), box(conf=True), box(bbox=(0.1, 0.2)),
        {"category": "1", "bbox": [0, 0, 1, 1]}, "box",
    ]))
    where = "f: predictions[0] '/d/a.jpg': "
    assert found == [where + m for m in (
        "detections[0].category: expected '1' (animal), '2' (human) or '3' (vehicle), got '4'",
        "detections[1].label: 'animal' does not match category '2' (human or person)",
        "detections[2].conf: expected a number in [0, 1], got 1.5",
        "detections[3].conf: expected a number in [0, 1], got True",
        "detections[4].bbox: expected [x_min, y_min, width, height] in [0, 1], got [0.1, 0.2]",
        "detections[5].conf: required key missing",
        "detections[6]: expected an object, got 'box'",
    )]


# -- classifications --


def test_prediction_goes_on_animal_boxes_only(write):
    results = load(write, entry(detections=[box("1"), box("2"), box("3"), box("1", conf=0.4)]))
    dets = results.images[0].detections
    assert [d.classifications for d in dets] == [(("1", 0.91),), None, None, (("1", 0.91),)]
    assert dict(results.classification_categories) == {"1": "white-tailed deer"}
    assert dict(results.classification_category_descriptions) == {"1": DEER}


def test_top_raw_class_is_used_when_there_is_no_prediction(write):
    results = load(write, entry(prediction=None, score=None, prediction_source=None))
    assert results.images[0].detections[0].classifications == (("1", 0.6),)
    assert results.classification_category_descriptions["1"] == COYOTE


def test_top_n_raw_scores(write):
    results = load(write, entry(detections=[box("1"), box("2")]), top_n=1)
    animal, person = results.images[0].detections
    names = results.classification_categories
    assert [(names[c], s) for c, s in animal.extra["raw_classifications"]] == [("coyote", 0.6)]
    assert "raw_classifications" not in person.extra
    both = load(write, entry(detections=[box("1")]), top_n=5).images[0].detections[0]
    assert [s for _, s in both.extra["raw_classifications"]] == [0.6, 0.3]
    assert load(write, entry()).images[0].detections[0].extra == {}  # off by default


def test_class_ids_are_shared_across_images(write):
    results = load(write, entry("/d/a.jpg"), entry("/d/b.jpg", prediction=COYOTE, score=0.5),
                   entry("/d/c.jpg"))
    ids = [im.detections[0].classifications[0][0] for im in results.images]
    assert ids[0] == ids[2] != ids[1]
    assert sorted(results.classification_categories.values()) == ["coyote", "white-tailed deer"]


@pytest.mark.parametrize("label, name", [
    (DEER, "white-tailed deer"),
    (RODENTS, "rodentia"),                      # no common name: the lowest named rank
    (MOUSE, "mus musculus"),                    # no common name: the binomial
    ("0000;;;;;;", "0000"),                     # nothing but the guid
    ("Red deer (fine-tuned model)", "Red deer (fine-tuned model)"),  # not a 7-part string
])
def test_category_names_from_taxonomy_strings(write, label, name):
    results = load(write, entry(prediction=label))
    assert dict(results.classification_categories) == {"1": name}
    assert dict(results.classification_category_descriptions) == {"1": label}


def test_malformed_classifications_are_named(write):
    found = problems_of(
        write,
        entry("/d/a.jpg", classifications={"classes": [DEER], "scores": [0.5, 0.2]}),
        entry("/d/b.jpg", classifications={"classes": [DEER, ""], "scores": [0.5, 0.2]}),
        entry("/d/c.jpg", score=None),
        entry("/d/d.jpg", prediction=7),
        entry("/d/e.jpg", score=2),
    )
    shape = ("classifications: expected an object with equally long lists 'classes' (strings) "
             "and 'scores' (numbers in [0, 1]), got {'classes': [")
    assert [f.split(": ", 2)[1] for f in found] == [f"predictions[{i}] '/d/{c}.jpg'" for i, c in enumerate("abcde")]
    messages = [f.split(": ", 2)[2] for f in found]
    assert messages[0].startswith(shape) and messages[1].startswith(shape)
    assert messages[2:] == [
        "prediction_score: required key missing",
        "prediction: expected a class string, got 7",
        "prediction_score: expected a number in [0, 1], got 2",
    ]


def test_native_fields_stay_in_the_image_entry(write):
    im = load(write, entry(country="USA", admin1_region="CA", latitude=37.5, longitude=-122.1)).images[0]
    assert dict(im.extra) == {"prediction": DEER, "prediction_score": 0.91, "prediction_source": "classifier",
                              "country": "USA", "admin1_region": "CA", "latitude": 37.5, "longitude": -122.1}


def test_unknown_top_level_keys_are_kept(write):
    path = write([entry()], run_info={"note": "x"})
    assert dict(mdi.load(path).extra) == {"run_info": {"note": "x"}}


# -- info --


def test_versions_in_info(write):
    results = load(write, entry("/d/a.jpg"), entry("/d/b.jpg", model_version="4.0.1b"), entry("/d/c.jpg"))
    assert results.info.format_version == "1.6"
    assert results.info.classifier == "SpeciesNet 4.0.1a, 4.0.1b"
    assert results.info.detector == "MegaDetector via SpeciesNet 4.0.1a, 4.0.1b"
    assert results.info.extra["custom_metadata"]["speciesnet_conversion"]["model_versions"] == ["4.0.1a", "4.0.1b"]


def test_detector_only_output_has_no_classifier(write):
    only_boxes = {"filepath": "/d/a.jpg", "detections": [box()]}
    results = load(write, only_boxes)
    assert results.info.classifier is None and results.classification_categories is None
    assert results.info.detector == "MegaDetector via SpeciesNet (version not recorded)"
    assert results.images[0].detections[0].classifications is None


# -- a non-blank prediction on an image without boxes --


def test_no_whole_image_box_by_default(write):
    results = load(write, entry(detections=[]))
    im = results.images[0]
    assert im.detections == () and im.extra["prediction"] == DEER
    record = results.info.extra["custom_metadata"]["speciesnet_conversion"]
    assert (record["whole_image_detection"], record["whole_image_detections_added"]) == (False, 0)
    assert "4" not in results.detection_categories


def test_whole_image_box_when_asked(write):
    results = load(write, entry("/d/a.jpg", detections=[]), entry("/d/b.jpg", detections=[], prediction=BLANK),
                   entry("/d/c.jpg"), whole_image_detection=True, top_n=1)
    added, blank, boxed = results.images
    (d,) = added.detections
    assert results.detection_categories[d.category] == "unknown"
    assert (d.conf, d.bbox, d.classifications) == (0.91, (0.0, 0.0, 1.0, 1.0), (("1", 0.91),))
    assert results.classification_name(d.extra["raw_classifications"][0][0]) == "coyote"
    assert blank.detections == () and len(boxed.detections) == 1
    record = results.info.extra["custom_metadata"]["speciesnet_conversion"]
    assert (record["whole_image_detection"], record["whole_image_detections_added"]) == (True, 1)


def test_whole_image_box_from_the_environment(write, monkeypatch):
    monkeypatch.setenv(sn.ENV_WHOLE_IMAGE, "yes")
    assert len(load(write, entry(detections=[])).images[0].detections) == 1


# -- options --


def test_options_from_the_environment():
    assert sn.options_from_env({}) == sn.SpeciesNetOptions()
    env = {sn.ENV_BASE_FOLDER: "/data", sn.ENV_TOP_N: " 3 ", sn.ENV_WHOLE_IMAGE: "True"}
    assert sn.options_from_env(env) == sn.SpeciesNetOptions("/data", 3, True)
    with pytest.raises(MdiError, match="MDI_SPECIESNET_TOP_N='-1'"):
        sn.options_from_env({sn.ENV_TOP_N: "-1"})
    with pytest.raises(MdiError, match="MDI_SPECIESNET_WHOLE_IMAGE_DETECTION='maybe'"):
        sn.options_from_env({sn.ENV_WHOLE_IMAGE: "maybe"})
    with pytest.raises(MdiError, match="top_n: expected a whole number"):
        sn.SpeciesNetOptions(top_n=-2)


def test_load_predictions_refuses_other_files(tmp_path):
    with pytest.raises(ResultsError, match="not a SpeciesNet predictions file"):
        sn.load_predictions(RESULTS)
    with pytest.raises(MdiError, match="cannot read"):
        sn.load_predictions(tmp_path / "missing.json")


# -- the converted file, the validator and the command --


def test_converted_file_passes_the_validator(write, tmp_path):
    results = load(write, entry("/d/a.jpg", detections=[box("1"), box("2"), box("3")]),
                   entry("/d/b.jpg", detections=[]), entry("/d/c.jpg", failures=["DETECTOR"]) | {"detections": None},
                   whole_image_detection=True, top_n=2)
    out = mdi.write(results, tmp_path / "md.json")
    assert mdi.validate(out) == []
    assert io.dumps(mdi.load(out)) == io.dumps(results)


def test_mdi_validate_and_convert(write, tmp_path, capsys, monkeypatch):
    path = write([entry("/data/traps/a/1.JPG"), entry("/data/traps/b/2.JPG", detections=[])])
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out
    monkeypatch.setenv(sn.ENV_BASE_FOLDER, "/data")
    out = tmp_path / "md_results.json"
    assert main(["convert", str(path), "-o", str(out)]) == 0
    converted = json.loads(out.read_text())
    assert [im["file"] for im in converted["images"]] == ["traps/a/1.JPG", "traps/b/2.JPG"]
    assert main(["validate", str(out)]) == 0
    assert mdi.load(out).images == mdi.load(path).images


def test_mdi_commands_report_bad_input(write, tmp_path, capsys):
    path = write([entry("/d/a.jpg"), entry("/d/b.jpg", detections=[box(conf="high")])])
    assert main(["validate", str(path)]) == 1
    assert "predictions[1] '/d/b.jpg': detections[0].conf: expected a number in [0, 1], got 'high'" in capsys.readouterr().out
    assert main(["convert", str(path), "-o", str(tmp_path / "out.json")]) == 1
    err = capsys.readouterr().err
    assert "mdi: error:" in err and "detections[0].conf" in err and "Traceback" not in err
    assert not (tmp_path / "out.json").exists()


def test_loader_options_reach_the_load_hook_from_the_api_and_the_cli(write, tmp_path):
    path = write([entry("/data/traps/site_a/1.JPG"), entry("/data/traps/site_b/2.JPG", detections=[])])
    assert [im.file for im in mdi.load(path, base_folder="/data").images] == ["traps/site_a/1.JPG",
                                                                              "traps/site_b/2.JPG"]
    out = tmp_path / "md.json"
    assert main(["convert", str(path), "-o", str(out), "--base-folder", "/data/traps", "--top-n", "2",
                 "--whole-image-detection"]) == 0
    converted = json.loads(out.read_text())
    assert [im["file"] for im in converted["images"]] == ["site_a/1.JPG", "site_b/2.JPG"]
    assert converted["images"][0]["detections"][0]["raw_classifications"]  # --top-n reached the loader
    assert converted["images"][1]["detections"][0]["bbox"] == [0.0, 0.0, 1.0, 1.0]  # whole-image box
    assert main(["validate", str(path), "--base-folder", "/data"]) == 0


def test_unknown_loader_option_is_an_error(write):
    with pytest.raises(MdiError, match="unknown loader option"):
        mdi.load(write([entry()]), base_fodler="/data")
