"""Helpers for the test suites of the host and of plugins (public API)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .model import EXTRA_KEY

#: Set by ``.ci/run``: a missing external tool fails the test instead of skipping it.
REQUIRE_TOOLS = os.environ.get("MDI_REQUIRE_TOOLS") == "1"


def require_tool(*names: str) -> str:
    """Path of the first of ``names`` on PATH; skip the test (fail in CI) when none is."""
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for d in ("/usr/sbin", "/usr/local/sbin") if (p := Path(d) / name).exists()), None
        )
        if found:
            return found
    message = f"{' or '.join(names)} not installed (CI installs it: see .ci/run)"
    if REQUIRE_TOOLS:
        pytest.fail(message)
    pytest.skip(message)


def copy_sample(dest: Path) -> tuple[Path, Path]:
    """Copy the bundled sample into ``dest``: returns ``(images_root, results_path)``."""
    from .sample import IMAGES, RESULTS

    images = dest / "images"
    shutil.copytree(IMAGES, images)
    results = dest / "md_results.json"
    shutil.copyfile(RESULTS, results)
    return images, results


# -- hypothesis strategies for results documents (plain JSON-ready dicts) --


def _strategies():
    from hypothesis import strategies as st

    unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, width=32).map(lambda x: round(x, 4))
    ids = st.integers(min_value=0, max_value=30).map(str)
    names = st.text(min_size=1, max_size=12).filter(lambda s: s.strip())
    # Unknown field names: never one the model knows, so they must survive in ``extra``.
    known = {"file", "detections", "failure", "category", "conf", "bbox", "classifications",
             "info", "images", "detection_categories", "classification_categories",
             "classification_category_descriptions", "format_version", "detector",
             "detection_completion_time", "classifier", "classification_completion_time",
             "detector_metadata", "classifier_metadata", "summary_report", "max_detection_conf",
             "frame_number", "frame_rate", "frames_processed"}
    # "extra" and the model's private key are names a file may use too.
    unknown_key = st.sampled_from(["extra", EXTRA_KEY]) | st.text(min_size=1, max_size=10).filter(
        lambda k: k not in known)
    scalar = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10) | unit
    value = scalar | st.dictionaries(st.text(max_size=3), scalar, max_size=2)
    extras = st.dictionaries(unknown_key, value, max_size=2)
    return st, unit, ids, names, extras


def results_documents(max_images: int = 8):
    """A hypothesis strategy of valid results documents, unknown fields included."""
    st, unit, ids, names, extras = _strategies()

    @st.composite
    def build(draw):
        det_cats = draw(st.dictionaries(ids, names, min_size=1, max_size=4))
        cls_cats = draw(st.none() | st.dictionaries(ids, names, min_size=1, max_size=4))
        files = draw(st.lists(
            st.lists(st.from_regex(r"[A-Za-z0-9_ éü-]{1,8}", fullmatch=True), min_size=1, max_size=3)
            .map(lambda parts: "/".join(parts) + ".JPG"),
            max_size=max_images, unique=True,
        ))
        images = []
        for file in files:
            image = {"file": file, **draw(extras)}
            if draw(st.integers(0, 9)) == 0:
                image.update(detections=None, failure=draw(st.sampled_from(["image access failure", "inference failure: x"])))
            else:
                dets = []
                for _ in range(draw(st.integers(0, 3))):
                    det = {"category": draw(st.sampled_from(sorted(det_cats))), "conf": draw(unit),
                           "bbox": [draw(unit) for _ in range(4)], **draw(extras)}
                    if cls_cats and draw(st.booleans()):
                        det["classifications"] = [[draw(st.sampled_from(sorted(cls_cats))), draw(unit)]
                                                  for _ in range(draw(st.integers(1, 2)))]
                    dets.append(det)
                image["detections"] = dets
            images.append(image)
        info = {"format_version": draw(st.sampled_from(["1.3", "1.4", "1.5", "1.6"])), **draw(extras)}
        if draw(st.booleans()):
            info["detector"] = "md_v5a.0.0.pt"
        doc = {"info": info, "detection_categories": det_cats, "images": images, **draw(extras)}
        if cls_cats:
            doc["classification_categories"] = cls_cats
        return doc

    return build()
