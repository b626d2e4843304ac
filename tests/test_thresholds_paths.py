"""Default thresholds (MegaDetector's rules) and path safety."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from megadetector_integrations import paths, thresholds
from megadetector_integrations.model import Info


@pytest.mark.parametrize("info, expected", [
    (Info(detector_metadata={"typical_detection_threshold": 0.35}, detector="md_v4.1.0.pb"), 0.35),
    (Info(), 0.2),                                   # no detector: MDv5's default
    (Info(detector="md_v5a.0.0.pt"), 0.2),
    (Info(detector="md_v5b.0.0.pt"), 0.2),
    (Info(detector="megadetector_v4.1"), 0.8),       # old batch API
    (Info(detector="md_v4.1.0.pb"), 0.8),
    (Info(detector="md_v3.0.0.pb"), 0.8),
    (Info(detector="MDV1000-redwood.pt"), 0.3),
    (Info(detector="md_v1000.0.0-spruce.pt"), 0.2),  # known model without a threshold
    (Info(detector="my_renamed_model.pt"), 0.2),
])
def test_typical_detection_threshold(info, expected):
    assert thresholds.typical_detection_threshold(info) == expected


@pytest.mark.parametrize("info, expected", [
    (Info(detector="md_v5a.0.0.pt"), (0.2, 0.05)),
    (Info(detector="md_v4.1.0.pb"), (0.8, 0.3)),
    (Info(detector="something"), (0.2, 0.1)),
    (Info(detector_metadata={"typical_detection_threshold": 0.5, "conservative_detection_threshold": 0.25}), (0.5, 0.25)),
])
def test_detector_thresholds(info, expected):
    assert thresholds.detector_thresholds(info) == expected


def test_classification_threshold():
    assert thresholds.typical_classification_threshold(Info()) == 0.5
    assert thresholds.typical_classification_threshold(
        Info(classifier_metadata={"typical_classification_threshold": 0.75})) == 0.75


@pytest.mark.parametrize("file", ["a/b.jpg", "b.jpg", "a..b/c.jpg", "a/.hidden/x.jpg", "./a/b.jpg"])
def test_safe_paths(file, tmp_path):
    assert paths.path_problem(file) is None
    assert paths.safe_join(tmp_path, file) == tmp_path / paths.normalize(file)


@pytest.mark.parametrize("file", ["/etc/passwd", "\\x\\y.jpg", "C:\\x.jpg", "c:/x.jpg", "../x.jpg",
                                  "a/../../x.jpg", "a\\..\\..\\x.jpg", "a/.."])
def test_unsafe_paths_are_refused(file, tmp_path):
    assert paths.path_problem(file)
    with pytest.raises(ValueError, match="unsafe path"):
        paths.safe_join(tmp_path, file)


def test_symlinked_folder_pointing_outside_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(ValueError, match="resolves outside"):
        paths.safe_join(root, "link/x.jpg")


@given(st.lists(st.sampled_from(["a", "b", "..", ".", "", "c:", "x.jpg"]), min_size=1, max_size=6),
       st.sampled_from(["/", "\\"]))
def test_safe_join_never_escapes(parts, sep):
    root = "/tmp/mdi-root-that-does-not-exist"
    file = sep.join(parts)
    try:
        target = paths.safe_join(paths.Path(root), file)
    except ValueError:
        return
    assert os.path.normpath(target).startswith(root + os.sep) or os.path.normpath(target) == root
