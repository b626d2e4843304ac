"""`split()` and `mdi split`, starting with the worked example of the
Camera Trap JSON Manager's documentation."""

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
from megadetector_integrations.splitting import split

LEAVES = ["A/B/C/D", "A/B/C/E", "A/B/C/F", "A/B/C/G", "E/Q/R/S", "E/Q/R/T"]


def example_doc(paths=None):
    paths = paths or [f"{leaf}/img{i}.jpg" for leaf in LEAVES for i in (1, 2)]
    return {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal"},
        "images": [{"file": p, "detections": [{"category": "1", "conf": 0.5, "bbox": [0, 0, 0.1, 0.1]}], "meta": i}
                   for i, p in enumerate(paths)],
        "unknown_top": [1, 2],
    }


def example():
    return convert.results_from_dict(example_doc())


def write_example(tmp_path: Path, paths=None) -> Path:
    src = tmp_path / "in.json"
    src.write_text(json.dumps(example_doc(paths)))
    return src


def json_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.json"))


# -- the worked example -------------------------------------------------------------


@pytest.mark.parametrize("mode, param, folders", [
    ("top", 0, ["A", "E"]),
    ("bottom", 0, LEAVES),
    ("n-from-top", 1, ["A/B", "E/Q"]),
    ("n-from-top", 0, ["A", "E"]),
    ("n-from-bottom", 1, ["A/B/C", "E/Q/R"]),
    ("n-from-bottom", 0, LEAVES),
])
def test_worked_example_groupings(mode, param, folders):
    parts = split(example(), mode=mode, param=param)
    assert list(parts) == folders
    for folder, rf in parts.items():
        assert all(im.file.startswith(folder + "/") for im in rf.images)
    assert sum(len(rf.images) for rf in parts.values()) == 12


@pytest.mark.parametrize("args, names", [
    (["--mode", "top"], ["A.json", "E.json"]),
    ([], ["A_B_C_D.json", "A_B_C_E.json", "A_B_C_F.json", "A_B_C_G.json", "E_Q_R_S.json", "E_Q_R_T.json"]),
    (["--mode", "n-from-top", "--param", "1"], ["A_B.json", "E_Q.json"]),
    (["--mode", "n-from-bottom", "-n", "1"], ["A_B_C.json", "E_Q_R.json"]),
])
def test_cli_file_names(tmp_path, args, names):
    src = write_example(tmp_path)
    assert main(["split", str(src), str(tmp_path / "out"), *args]) == 0
    assert json_files(tmp_path / "out") == names


def test_each_file_keeps_everything_but_the_other_images(tmp_path):
    src = write_example(tmp_path)
    assert main(["split", str(src), str(tmp_path / "out"), "--mode", "top"]) == 0
    written = json.loads((tmp_path / "out" / "E.json").read_text())
    assert written["unknown_top"] == [1, 2]
    assert written["info"]["detector"] == "md_v5a.0.0.pt"
    assert [im["file"] for im in written["images"]] == [f"E/Q/R/{x}/img{i}.jpg" for x in "ST" for i in (1, 2)]
    assert [im["meta"] for im in written["images"]] == [8, 9, 10, 11]
    read_results((tmp_path / "out" / "E.json").read_bytes())


def test_folder_relative_paths():
    parts = split(example(), mode="n-from-top", param=1, make_folder_relative=True)
    assert [im.file for im in parts["E/Q"].images] == [f"R/{x}/img{i}.jpg" for x in "ST" for i in (1, 2)]


def test_backslash_paths_split_and_relativize_with_forward_slashes():
    rf = convert.results_from_dict(example_doc(["A\\B\\x.jpg", "A\\C\\y.jpg"]))
    parts = split(rf, mode="top", make_folder_relative=True)
    assert list(parts) == ["A"]
    assert [im.file for im in parts["A"].images] == ["B/x.jpg", "C/y.jpg"]


def test_copy_jsons_to_folders_writes_inside_each_folder(tmp_path):
    src = write_example(tmp_path)
    out = tmp_path / "images"
    assert main(["split", str(src), str(out), "--mode", "n-from-top", "--param", "1", "--make-folder-relative",
                 "--copy-jsons-to-folders", "--create-folders"]) == 0
    assert json_files(out) == ["A/B/A_B.json", "E/Q/E_Q.json"]
    rf, _ = read_results((out / "A" / "B" / "A_B.json").read_bytes())
    assert rf.images[0].file == "C/D/img1.jpg"


def test_copy_jsons_to_folders_needs_existing_folders_or_create(tmp_path, capsys):
    src = write_example(tmp_path)
    out = tmp_path / "images"
    (out / "A" / "B").mkdir(parents=True)
    args = ["split", str(src), str(out), "--mode", "n-from-top", "--param", "1", "--make-folder-relative",
            "--copy-jsons-to-folders"]
    assert main(args) == 1
    assert "1 folder(s) do not exist" in capsys.readouterr().err
    assert json_files(out) == []  # nothing written, not even A/B/A_B.json
    assert main(args[:-2] + ["--copy-jsons-to-folders"]) == 1  # without --make-folder-relative
    assert "needs --make-folder-relative" in capsys.readouterr().err


# -- refusals: nothing written --------------------------------------------------------


def test_refuses_to_overwrite_any_file_and_writes_none(tmp_path, capsys):
    src = write_example(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "E.json").write_text("precious")
    assert main(["split", str(src), str(out), "--mode", "top"]) == 1
    assert "add --overwrite" in capsys.readouterr().err
    assert json_files(out) == ["E.json"] and (out / "E.json").read_text() == "precious"
    assert main(["split", str(src), str(out), "--mode", "top", "--overwrite"]) == 0
    assert json.loads((out / "E.json").read_text())["images"]


def test_never_overwrites_the_input(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    src = out / "A.json"
    src.write_text(json.dumps(example_doc()))
    assert main(["split", str(src), str(out), "--mode", "top", "--overwrite"]) == 1
    assert "is an input file" in capsys.readouterr().err
    assert json_files(out) == ["A.json"]


@pytest.mark.parametrize("args, message", [
    (["--mode", "n-from-top", "--param", "4"], "has 4 folder(s) in its path; --mode n-from-top 4 needs at least 5"),
    (["--mode", "n-from-bottom", "--param", "-1"], "--param must be 0 or more"),
    (["--mode", "top", "--param", "2"], "only applies to the n-from-top and n-from-bottom modes"),
    (["--confidence-threshold", "7"], "between 0 and 1"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path, capsys, args, message):
    src = write_example(tmp_path)
    assert main(["split", str(src), str(tmp_path / "out"), *args]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_mode(tmp_path, capsys):
    src = write_example(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["split", str(src), str(tmp_path / "out"), "--mode", "sideways"])
    assert exc.value.code == 2 and "invalid choice: 'sideways'" in capsys.readouterr().err
    with pytest.raises(MdiError, match="--mode: expected one of top, bottom"):
        split(example(), mode="sideways")


def test_image_at_the_top_level_has_no_folder():
    rf = convert.results_from_dict(example_doc(["A/x.jpg", "y.jpg"]))
    with pytest.raises(MdiError, match="'y.jpg' has 0 folder"):
        split(rf)


def test_absolute_paths_are_refused():
    rf = convert.results_from_dict(example_doc(["/data/A/x.jpg"]))
    with pytest.raises(MdiError, match="absolute path"):
        split(rf, mode="top")


def test_folders_that_would_share_a_file_name_are_refused(tmp_path, capsys):
    src = write_example(tmp_path, ["a_b/x.jpg", "a/b/y.jpg"])
    assert main(["split", str(src), str(tmp_path / "out")]) == 1
    assert "would both be written to" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_dry_run_prints_names_and_counts_and_writes_nothing(tmp_path, capsys):
    src = write_example(tmp_path)
    assert main(["split", str(src), str(tmp_path / "out"), "--mode", "top", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "[dry run] split: 2 file(s), 12 images" in out
    assert [line.split() for line in out.splitlines()[1:]] == [["A.json", "8"], ["E.json", "4"]]
    assert not (tmp_path / "out").exists()


def test_filters_apply_before_splitting(tmp_path):
    src = write_example(tmp_path)
    assert main(["split", str(src), str(tmp_path / "out"), "--mode", "top", "--query", "^E/"]) == 0
    assert json_files(tmp_path / "out") == ["E.json"]


# -- property: split then merge gives back the same images -----------------------------

segment = st.text("abAB_", min_size=1, max_size=3)
paths = st.lists(st.lists(segment, min_size=2, max_size=5).map("/".join), min_size=1, max_size=15, unique=True)


@settings(max_examples=60, deadline=None)
@given(paths, st.sampled_from(["top", "bottom", "n-from-top", "n-from-bottom"]))
def test_split_then_merge_gives_back_the_same_images(paths, mode):
    rf = convert.results_from_dict(example_doc(paths))
    parts = split(rf, mode=mode, param=1 if mode.startswith("n-") and min(p.count("/") for p in paths) >= 2 else 0)
    merged = merge(list(parts.values()))
    assert sorted(merged.images, key=lambda im: im.file) == sorted(rf.images, key=lambda im: im.file)
    assert merged.extra == rf.extra and merged.info == rf.info


def test_mdi_split_and_merge_stay_functions_after_the_cli_is_built():
    import subprocess
    import sys

    code = ("import megadetector_integrations as mdi; from megadetector_integrations.cli import build_parser; "
            "build_parser(); assert callable(mdi.split) and callable(mdi.merge) and callable(mdi.validate)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
