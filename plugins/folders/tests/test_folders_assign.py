"""Folder assignment against hand-computed expectations (separate_detections_into_folders' rules)."""

import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import megadetector_integrations as mdi
from megadetector_integrations.model import Detection, Image, Info
from megadetector_integrations_folders.assign import FolderRules, Thresholds
from megadetector_integrations_folders.options import FoldersOptions
from megadetector_integrations_folders.sorter import thresholds_for

CATS = {"1": "animal", "2": "person", "3": "vehicle"}
CLASSES = {"1": "deer", "2": "cow", "3": "bear", "4": "fox"}


def image(*dets, failed=False) -> Image:
    if failed:
        return Image("a.jpg", None, "image access failure")
    return Image("a.jpg", tuple(Detection(d[0], d[1], (0.1, 0.1, 0.2, 0.2), tuple(d[2]) if len(d) > 2 else None)
                                for d in dets))


def folder(img, default=0.2, categories=None, species=None, cats=CATS) -> str:
    rules = FolderRules(cats, CLASSES, Thresholds(default, categories or {}, species or {}))
    return rules.folder(img)


# Every combination of the three categories, each above (0.9) or below (0.1) a 0.2 threshold,
# written out by hand.
EXPECTED_COMBINATIONS = {
    (False, False, False): "empty",
    (True, False, False): "animals",
    (False, True, False): "people",
    (False, False, True): "vehicles",
    (True, True, False): "animal_person",
    (True, False, True): "animal_vehicle",
    (False, True, True): "person_vehicle",
    (True, True, True): "animal_person_vehicle",
}


@pytest.mark.parametrize("present", list(itertools.product([False, True], repeat=3)))
@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_every_combination_of_categories(present, order):
    dets = [(cid, 0.9 if present[int(cid) - 1] else 0.1) for cid in "123"]
    assert folder(image(*[dets[i] for i in order])) == EXPECTED_COMBINATIONS[present]


@pytest.mark.parametrize("dets, kwargs, expected", [
    ([], {}, "empty"),
    ([("1", 0.2)], {}, "animals"),  # >= threshold counts
    ([("1", 0.19999)], {}, "empty"),
    ([("1", 0.1), ("1", 0.25)], {}, "animals"),  # the best box decides
    ([("1", 0.5)], {"categories": {"animal": 0.6}}, "empty"),
    ([("2", 0.5)], {"default": 0.8, "categories": {"person": 0.4}}, "people"),
    ([("1", 0.5), ("2", 0.5)], {"default": 0.8, "categories": {"person": 0.4}}, "people"),
    ([("1", 0.7), ("3", 0.7)], {"default": 0.8}, "empty"),
    ([("1", 0.8), ("3", 0.7)], {"default": 0.8}, "animals"),
    ([("1", 0.0)], {"default": 0.0}, "animals"),  # a zero-confidence box at threshold 0
    ([("9", 0.99)], {}, "empty"),  # undeclared category: ignored
    ([("9", 0.99), ("2", 0.3)], {}, "people"),
])
def test_thresholds_by_hand(dets, kwargs, expected):
    assert folder(image(*dets), **kwargs) == expected


def test_failure_goes_to_processing_failure_whatever_the_thresholds():
    assert folder(image(failed=True)) == "processing_failure"
    assert folder(image(failed=True), default=0.0) == "processing_failure"


def test_other_category_names_are_used_as_they_are():
    cats = {**CATS, "4": "bird"}
    assert folder(image(("4", 0.9)), cats=cats) == "bird"
    assert folder(image(("4", 0.9), ("1", 0.9)), cats=cats) == "animal_bird"
    assert folder(image(("4", 0.9), ("2", 0.9)), cats=cats) == "bird_person"


SPECIES = {"deer": 0.75, "cow": 0.75}


@pytest.mark.parametrize("dets, expected", [
    ([("1", 0.9, [("1", 0.9)])], "animals/deer"),
    ([("1", 0.9, [("1", 0.75)])], "animals/unclassified"),  # classification needs > threshold
    ([("1", 0.9, [("1", 0.76)])], "animals/deer"),
    ([("1", 0.9, [("1", 0.9), ("2", 0.8)])], "animals/multiple"),
    ([("1", 0.9, [("1", 0.9)]), ("1", 0.8, [("2", 0.8)])], "animals/multiple"),  # across boxes
    ([("1", 0.9, [("1", 0.9)]), ("1", 0.8, [("1", 0.95)])], "animals/deer"),
    ([("1", 0.9, [("3", 0.9)])], "animals/unclassified"),  # unlisted species only
    ([("1", 0.9, [("3", 0.9), ("4", 0.9)])], "animals/unclassified"),
    ([("1", 0.9, [("1", 0.9), ("3", 0.6)])], "animals/multiple"),  # deliberate: deer and a bear
    ([("1", 0.9, [("1", 0.9), ("3", 0.5)])], "animals/deer"),  # unlisted needs > 0.5
    ([("1", 0.9)], "animals/unclassified"),  # no classifications at all
    ([("1", 0.9), ("1", 0.1, [("1", 0.99)])], "animals/unclassified"),  # box below threshold
    ([("1", 0.9, [("1", 0.9)]), ("2", 0.9)], "animal_person"),  # no split in combinations
    ([("2", 0.9)], "people"),
])
def test_species_folders_by_hand(dets, expected):
    assert folder(image(*dets), species=SPECIES) == expected


def test_unlisted_species_threshold_is_adjustable():
    img = image(("1", 0.9, [("1", 0.9), ("3", 0.3)]))
    rules = FolderRules(CATS, CLASSES, Thresholds(0.2, {}, SPECIES, unlisted_species=0.2))
    assert rules.folder(img) == "animals/multiple"


@given(st.lists(st.tuples(st.sampled_from("1239"), st.floats(0, 1)), max_size=6),
       st.floats(0, 1), st.dictionaries(st.sampled_from(["animal", "person", "vehicle"]), st.floats(0, 1)))
def test_folder_names_exactly_the_categories_at_or_above_threshold(dets, default, overrides):
    present = sorted({CATS[c] for c, conf in dets if c in CATS and conf >= overrides.get(CATS[c], default)})
    got = folder(image(*dets), default=default, categories=overrides)
    if not present:
        assert got == "empty"
    elif len(present) == 1:
        assert got == {"animal": "animals", "person": "people", "vehicle": "vehicles"}[present[0]]
    else:
        assert got.split("_") == present


@pytest.mark.parametrize("info, expected", [
    ({"format_version": "1.4", "detector_metadata": {"typical_detection_threshold": 0.45}}, 0.45),
    ({"format_version": "1.4", "detector": "md_v4.1.0.pb"}, 0.8),
    ({"format_version": "1.4", "detector": "md_v5b.0.0.pt"}, 0.2),
    ({"format_version": "1.4"}, 0.2),
])
def test_default_threshold_comes_from_the_results_file(info, expected):
    results = mdi.ResultsFile(info=Info(**info))
    options = FoldersOptions(images=".", out="o")
    assert thresholds_for(results, options).default == expected
    assert thresholds_for(results, FoldersOptions(images=".", out="o", threshold=0.6)).default == 0.6


def test_named_thresholds_override_the_default_and_category_threshold():
    options = FoldersOptions(images=".", out="o", threshold=0.5, person_threshold=0.3,
                             category_threshold={"person": 0.9, "bird": 0.7})
    t = thresholds_for(mdi.ResultsFile(), options)
    assert (t.category("person"), t.category("bird"), t.category("animal")) == (0.3, 0.7, 0.5)


@pytest.mark.parametrize("bad", [{"threshold": 1.5}, {"animal_threshold": -0.1}, {"species": {"deer": 2.0}}])
def test_thresholds_outside_zero_to_one_are_refused(bad):
    with pytest.raises(ValueError, match="not between 0 and 1"):
        FoldersOptions(images=".", out="o", **bad)


@given(st.lists(st.text(alphabet="ab./\\:C ", min_size=0, max_size=12), min_size=1, max_size=8))
@example([".", "a/.", "a/./b", "", "a//b", "./", "a\\b", "..", "a/../b", "/a", "C:b"])
@example(["C/."])  # a folder, alone: once slipped past the quick scan
def test_planned_destinations_never_leave_the_output_folder(files):
    import os

    from megadetector_integrations_folders.plan import build

    images = [Image(f, ()) for f in files]
    rules = FolderRules(CATS, None, Thresholds(0.2))
    plan = build(images, rules, "/data/images", "/data/out")
    for p in plan.placements:
        dst = os.path.normpath(f"/data/out/{p.dst}")
        src = os.path.normpath(f"/data/images/{p.file}")
        assert dst.startswith("/data/out/empty/") and src.startswith("/data/images/")
        assert dst == f"/data/out/empty/{p.file}"  # already in normal form
    assert len(plan.placements) + len(plan.refused) == len(files)
