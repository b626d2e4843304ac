"""Reading and writing results files: round trips, both read paths, errors."""

import json
import os

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import megadetector_integrations as mdi
from megadetector_integrations import io
from megadetector_integrations.errors import ResultsError
from megadetector_integrations.model import EXTRA_KEY
from megadetector_integrations.testing import results_documents


def encode(doc, indent=None) -> bytes:
    return json.dumps(doc, indent=indent, ensure_ascii=False).encode()


def normalized(doc: dict) -> dict:
    """What a written file should hold: the input with the current format version
    and confidences/coordinates as floats."""
    out = json.loads(json.dumps(doc))
    out["info"]["format_version"] = "1.6"
    for im in out["images"]:
        for d in im.get("detections") or ():
            d["conf"] = float(d["conf"])
            d["bbox"] = [float(x) for x in d["bbox"]]
            for pair in d.get("classifications") or ():
                pair[1] = float(pair[1])
    return out


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(doc=results_documents(), indent=st.sampled_from([None, 1, 2]))
def test_round_trip_keeps_everything(doc, indent):
    rf, problems = io.read_results(encode(doc, indent))
    assert [p for p in problems if p.severity == "error"] == []
    written = io.dumps(rf, indent=indent if indent != 2 else 1)
    assert json.loads(written) == normalized(doc)
    again, _ = io.read_results(written)
    assert again == attrs.evolve(rf, info=attrs.evolve(rf.info, format_version="1.6"))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(doc=results_documents())
def test_fast_and_careful_paths_agree(doc):
    data = encode(doc)
    careful, _ = io._careful_read(data, "x")
    fast = io._fast_read(data)
    if fast is not None:  # the fast path declines anything unusual; when it answers, it agrees
        assert fast == careful


def test_fast_path_takes_plain_megadetector_output(sample_doc):
    assert io._fast_read(encode(sample_doc, 1)) is not None


def test_unknown_fields_survive_at_every_level(sample_doc):
    sample_doc["custom_top"] = {"a": [1, 2]}
    sample_doc["info"]["custom_metadata"] = {"site": "x"}
    sample_doc["images"][0]["width"] = 480
    sample_doc["images"][0]["detections"][0]["raw_classifications"] = [["2", 0.5]]
    sample_doc["images"][1]["extra"] = {"a": 1}  # names the model uses inside are only names here
    sample_doc["images"][2][EXTRA_KEY] = {}
    assert io._fast_read(encode(sample_doc)) is None  # unknown fields: the careful way
    rf, _ = io.read_results(encode(sample_doc))
    out = json.loads(io.dumps(rf))
    assert out["custom_top"] == {"a": [1, 2]}
    assert out["info"]["custom_metadata"] == {"site": "x"}
    assert out["images"][0]["width"] == 480
    assert out["images"][0]["detections"][0]["raw_classifications"] == [["2", 0.5]]
    assert out["images"][1]["extra"] == {"a": 1} and out["images"][2][EXTRA_KEY] == {}
    assert all(EXTRA_KEY not in im for im in out["images"][3:])


def test_max_detection_conf_is_recomputed_never_trusted(sample_doc):
    sample_doc["info"]["format_version"] = "1.2"
    for im in sample_doc["images"]:
        im["max_detection_conf"] = 0.123  # wrong on purpose
    rf, _ = io.read_results(encode(sample_doc))
    out = json.loads(io.dumps(rf))
    for im in out["images"]:
        expected = max((d["conf"] for d in im["detections"] or ()), default=0.0)
        assert im["max_detection_conf"] == expected
    assert out["info"]["format_version"] == "1.6"


def test_numeric_format_version_is_read_and_written_as_string(sample_doc):
    sample_doc["info"]["format_version"] = 1.4
    rf, _ = io.read_results(encode(sample_doc))
    assert rf.info.format_version == "1.4"
    assert json.loads(io.dumps(rf))["info"]["format_version"] == "1.6"


def test_integer_confidence_becomes_float(sample_doc):
    sample_doc["images"][0]["detections"][0]["conf"] = 1
    rf, _ = io.read_results(encode(sample_doc))
    assert isinstance(rf.images[0].detections[0].conf, float)


def test_compact_and_indented_output(sample_doc, tmp_path):
    rf, _ = io.read_results(encode(sample_doc))
    compact, indented = io.dumps(rf), io.dumps(rf, indent=1)
    assert b"\n" not in compact.rstrip(b"\n")
    assert indented.startswith(b'{\n "info": {\n  "format_version"')
    assert json.loads(compact) == json.loads(indented)


def test_chunked_writing_matches_single_chunk(sample_doc, monkeypatch):
    rf, _ = io.read_results(encode(sample_doc))
    whole = {ind: io.dumps(rf, ind) for ind in (None, 1)}
    monkeypatch.setattr(io, "_CHUNK", 3)
    for ind in (None, 1):
        assert io.dumps(rf, ind) == whole[ind]


def test_write_is_atomic(sample_doc, tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("previous content")
    rf, _ = io.read_results(encode(sample_doc))
    monkeypatch.setattr(io, "_CHUNK", 2)
    calls = {"n": 0}
    real = io._encode_images

    def failing(encode, images):  # the third chunk fails, after two were written
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError("disk full")
        return real(encode, images)

    monkeypatch.setattr(io, "_encode_images", failing)
    with pytest.raises(OSError):
        io.write(rf, target)
    assert target.read_text() == "previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary file left


def test_load_and_write_through_the_public_api(sample_doc, write_doc, tmp_path):
    rf = mdi.load(write_doc(sample_doc))
    out = mdi.write(rf, tmp_path / "copy.json")
    assert mdi.load(out).images == rf.images
    assert mdi.load(out).info.format_version == "1.6"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(doc=results_documents(max_images=3), data=st.data())
def test_mutated_files_raise_only_the_documented_error(doc, data):
    """Replace any one value anywhere with junk: loading either works or raises ResultsError."""
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))

    walk(doc, ())
    path = data.draw(st.sampled_from(paths))
    junk = data.draw(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                     | st.text(max_size=5) | st.just([]) | st.just({}) | st.just([[1]]))
    if path:
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = junk
    else:
        doc = junk
    try:
        io.read_results(encode(doc))
    except ResultsError as exc:
        assert exc.problems and str(exc)


@settings(max_examples=200)
@given(blob=st.binary(max_size=200) | st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
).map(lambda v: json.dumps(v).encode()))
def test_random_input_raises_only_the_documented_error(blob):
    try:
        io.read_results(blob)
    except ResultsError:
        pass


def test_not_json_names_the_file(write_doc):
    path = write_doc("{not json")
    with pytest.raises(ResultsError) as info:
        mdi.load(path)
    assert str(path) in str(info.value) and "not valid JSON" in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(mdi.MdiError, match="no such file"):
        mdi.load(tmp_path / "nope.json")


def test_written_files_get_ordinary_permissions(sample_doc, tmp_path):
    rf, _ = io.read_results(encode(sample_doc))
    out = io.write(rf, tmp_path / "out.json")
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_atomic_write_bytes_keeps_mode_and_times_of_the_original(tmp_path):
    from megadetector_integrations.atomic import atomic_write_bytes

    target = tmp_path / "IMG.JPG"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    os.utime(target, ns=(1_000_000_000, 2_000_000_000))
    before = os.stat(target)
    atomic_write_bytes(target, b"new", like=before, keep_mtime=True)
    after = os.stat(target)
    assert target.read_bytes() == b"new"
    assert (after.st_mode & 0o777, after.st_mtime_ns) == (0o640, 2_000_000_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG.JPG"]


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(doc=results_documents(), chunk=st.integers(1, 4))
def test_indented_output_is_the_compact_output_formatted(doc, chunk):
    import msgspec

    rf, _ = io.read_results(encode(doc))
    original, io._CHUNK = io._CHUNK, chunk
    try:
        compact, indented = io.dumps(rf), io.dumps(rf, indent=1)
    finally:
        io._CHUNK = original
    assert indented == msgspec.json.format(compact.rstrip(b"\n"), indent=1) + b"\n"


def test_images_and_detections_are_frozen_values_with_replace():
    from megadetector_integrations.model import Detection, Image

    d = Detection("1", 0.5, (0.1, 0.1, 0.2, 0.2))
    im = Image("a.jpg", (d,))
    with pytest.raises(AttributeError):
        im.file = "b.jpg"
    moved = im.replace(file="b.jpg")
    assert moved.file == "b.jpg" and moved.detections is im.detections and im.file == "a.jpg"
    assert moved == Image("b.jpg", (Detection("1", 0.5, (0.1, 0.1, 0.2, 0.2)),))
    assert json.loads(io.dumps(mdi.ResultsFile((moved, Image("c.jpg", None, "image access failure")))))[
        "images"] == [{"file": "b.jpg", "detections": [{"category": "1", "conf": 0.5, "bbox": [0.1, 0.1, 0.2, 0.2]}]},
                      {"file": "c.jpg", "detections": None, "failure": "image access failure"}]
