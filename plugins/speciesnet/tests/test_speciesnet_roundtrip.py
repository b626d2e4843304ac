"""Round trip: SpeciesNet-shaped input → model → MegaDetector file → load keeps
every image, box and score, and the written file passes the host's validator."""

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import megadetector_integrations as mdi
import megadetector_integrations_speciesnet as sn
from megadetector_integrations import io

CLASSES = [
    "5c7ce479-8a45-40b3-ae21-7c97dfae22f5;mammalia;cetartiodactyla;cervidae;odocoileus;virginianus;white-tailed deer",
    "5a565886-156e-4b19-a017-6a5bbae4df0f;mammalia;carnivora;canidae;canis;latrans;coyote",
    "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank",
    "2b4c1b5e-0000-4000-8000-000000000001;mammalia;rodentia;;;;",
    "Red deer (fine-tuned model)",
]
BASES = ["/data/traps", "C:\\traps\\2024", "//server/share/cam data"]

unit = st.floats(0.0, 1.0)
detection = st.builds(
    lambda category, conf, bbox: {"category": category, "label": {"1": "animal", "2": "human", "3": "vehicle"}[category],
                                  "conf": conf, "bbox": bbox},
    st.sampled_from("123"), unit, st.lists(unit, min_size=4, max_size=4),
)
raw_classes = st.lists(st.tuples(st.sampled_from(CLASSES), unit), min_size=1, max_size=5, unique_by=lambda p: p[0]).map(
    lambda pairs: {"classes": [c for c, _ in sorted(pairs, key=lambda p: -p[1])],
                   "scores": sorted((s for _, s in pairs), reverse=True)})


@st.composite
def entry(draw, filepath: str) -> dict:
    """One SpeciesNet entry: a failure, or boxes with optional raw and ensemble classifications."""
    out = {"filepath": filepath, "model_version": draw(st.sampled_from(["4.0.1a", "4.0.1b"]))}
    if draw(st.integers(0, 5)) == 0:
        out["failures"] = draw(st.lists(st.sampled_from(["DETECTOR", "CLASSIFIER"]), min_size=1, max_size=2, unique=True))
        return out
    out["detections"] = draw(st.lists(detection, max_size=4))
    if draw(st.booleans()):
        out["classifications"] = draw(raw_classes)
    if draw(st.booleans()):
        out.update(prediction=draw(st.sampled_from(CLASSES)), prediction_score=draw(unit),
                   prediction_source=draw(st.sampled_from(["classifier", "detector", "rollup_to_genus"])))
    return out


@st.composite
def predictions_file(draw) -> tuple[dict, str, list[str]]:
    """A SpeciesNet document, its base folder, and each image's path relative to it."""
    base = draw(st.sampled_from(BASES))
    sep = "\\" if "\\" in base else "/"
    names = draw(st.lists(
        st.tuples(st.sampled_from(["site_a", "site_b", "cam 1", "été"]), st.text("abcXYZ019_- ", min_size=1, max_size=6)),
        max_size=8, unique=True,
    ))
    relative = [f"{folder}/{name}.JPG" for folder, name in names]
    entries = [draw(entry(base + sep + rel.replace("/", sep))) for rel in relative]
    return {"predictions": entries}, base, relative


def verdict(native: dict):
    """What SpeciesNet says about the image: its prediction, else its top raw class."""
    if "prediction" in native:
        return native["prediction"], native["prediction_score"]
    raw = native.get("classifications")
    return (raw["classes"][0], raw["scores"][0]) if raw else None


@settings(max_examples=150, deadline=None)
@given(predictions_file(), st.booleans(), st.integers(0, 6), st.booleans())
def test_round_trip_keeps_every_image_box_and_score(generated, give_base, top_n, whole_image):
    doc, base, relative = generated
    options = sn.SpeciesNetOptions(base if give_base else None, top_n, whole_image)
    converted = sn.predictions_to_results(doc, "predictions.json", options)
    data = io.dumps(converted)
    with tempfile.TemporaryDirectory() as folder:  # mdi.write adds an fsync per example: too slow here
        written = Path(folder) / "md.json"
        written.write_bytes(data)
        assert mdi.validate(written) == []  # the host validator
    back, problems = io.read_results(data, "md.json")  # raises on any error
    assert problems == []
    assert io.dumps(back) == data

    base_used = back.info.extra["custom_metadata"]["speciesnet_conversion"]["base_folder"]
    describe = back.classification_category_descriptions or {}
    assert len(back.images) == len(doc["predictions"])
    for native, rel, im in zip(doc["predictions"], relative, back.images):
        assert (base_used.rstrip("/") + "/" + im.file if base_used else im.file) == native["filepath"].replace("\\", "/")
        if give_base:
            assert im.file == rel
        if "failures" in native:
            assert im.failed and im.detections is None
            continue
        found = verdict(native)
        boxes = [d for d in im.detections if d.category != "4"]
        assert [(d.category, d.conf, list(d.bbox)) for d in boxes] == [
            (n["category"], n["conf"], n["bbox"]) for n in native["detections"]]
        if "prediction" in native:
            assert (im.extra["prediction"], im.extra["prediction_score"]) == found
        added = [d for d in im.detections if d.category == "4"]
        expect_added = whole_image and not boxes and found is not None and not sn.is_nothing_seen(found[0])
        assert len(added) == expect_added
        for d in im.detections:
            if d.category not in ("1", "4") or found is None:
                assert d.classifications is None and "raw_classifications" not in d.extra
                continue
            (cid, score), = d.classifications
            assert (describe[cid], score) == found
            raw = native.get("classifications")
            kept = d.extra.get("raw_classifications", [])
            assert [(describe[c], s) for c, s in kept] == (
                list(zip(raw["classes"], raw["scores"]))[:top_n] if raw and top_n else [])
