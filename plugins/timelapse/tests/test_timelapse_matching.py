"""Path normalization and prefix detection, with generated layouts."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from megadetector_integrations_timelapse.matching import Prefix, normalize, normalize_all, resolve, scan

segment = st.text(alphabet="abcXYZ_-. 09", min_size=1, max_size=6).filter(lambda s: s not in (".", ".."))


@given(st.lists(st.text(alphabet="aB/\\.:x\n", max_size=12), max_size=20))
def test_bulk_normalization_equals_one_by_one(paths):
    assert normalize_all(paths) == [normalize(p).lower() for p in paths]


def make_tree(root: Path, paths) -> Path:
    for p in paths:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_bytes(b"")
    return root


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.lists(segment, min_size=1, max_size=2),
    leaves=st.lists(st.tuples(segment, segment), min_size=1, max_size=8, unique_by=lambda t: (t[0].lower(), t[1].lower())),
    written_prefix=st.sampled_from(["", "old/", "D:\\cards\\", "/mnt/x/y/"]),
    backslashes=st.booleans(),
    upper=st.booleans(),
)
def test_detected_prefix_resolves_every_entry(tmp_path_factory, base, leaves, written_prefix, backslashes, upper):
    """Files live under ROOT/<base>/<folder>/<name>.jpg; the results name them with some
    other prefix, separators and case. Detection must map every entry to its file."""
    root = tmp_path_factory.mktemp("root")
    disk = ["/".join(base) + f"/{folder}/{name}.JPG" for folder, name in leaves]
    make_tree(root, disk)
    written = []
    for (folder, name) in leaves:
        w = f"{written_prefix}{folder}/{name}.JPG"
        w = w.replace("/", "\\") if backslashes else w
        written.append(w.upper() if upper else w)
    res = resolve(written, scan(root))
    assert res.targets == disk


def test_prefix_keeps_case_for_entries_not_on_disk():
    assert Prefix("d:/old/", "New/").apply_keeping_case("D:/OLD/Cam/x.JPG") == "New/Cam/x.JPG"
    assert Prefix("d:/old/", "").apply_keeping_case("E:/x.jpg") is None


def test_scan_skips_other_types_and_reports_case_clashes(tmp_path):
    make_tree(tmp_path, ["a/x.jpg", "a/X.JPG", "a/y.png", "a/z.MOV", "b.jpeg/inside.jpg"])
    tree = scan(tmp_path)
    assert set(tree.files) == {"a/x.jpg", "a/z.mov", "b.jpeg/inside.jpg"}
    assert tree.case_clashes == 1
    assert tree.has_videos
    (tmp_path / "a" / "z.MOV").unlink()
    assert not scan(tmp_path).has_videos
