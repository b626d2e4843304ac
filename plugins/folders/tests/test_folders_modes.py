"""Every mode on disk, dry run, journal, undo, resume and refusals."""

import json
import os

import pytest
from folders_testkit import all_paths, det, tree_hashes

import megadetector_integrations as mdi
from megadetector_integrations.journal import read_journal
from megadetector_integrations_folders.sorter import JOURNAL_NAME
from megadetector_integrations_folders.transfer import PART_SUFFIX
from megadetector_integrations_folders.undo import undo

IMAGES = [
    {"file": "s1/c1/a.jpg", "detections": [det("1", 0.9)]},
    {"file": "s1/c1/b.jpg", "detections": [det("2", 0.8)]},
    {"file": "s1/c2/c.jpg", "detections": [det("3", 0.7), det("1", 0.6)]},
    {"file": "s2/d.jpg", "detections": []},
    {"file": "s2/e.jpg", "detections": [det("1", 0.05)]},
    {"file": "f.jpg", "detections": None, "failure": "image access failure"},
]
EXPECTED = {
    "animals/s1/c1/a.jpg", "people/s1/c1/b.jpg", "animal_vehicle/s1/c2/c.jpg",
    "empty/s2/d.jpg", "empty/s2/e.jpg", "processing_failure/f.jpg",
}
COUNTS = {"animal_vehicle": 1, "animals": 1, "empty": 2, "people": 1, "processing_failure": 1}


def placed_files(out) -> set:
    return {p for p in all_paths(out) if (out / p).is_file() or (out / p).is_symlink()} - {JOURNAL_NAME}


@pytest.mark.parametrize("mode", ["copy", "hardlink", "symlink", "reflink", "move"])
def test_every_mode_places_every_image(scene, mode):
    scene.setup(IMAGES)
    before = tree_hashes(scene.images)
    stats = {f: os.stat(scene.images / f) for f in before}
    report = scene.sort(mode=mode)
    assert dict(report.counts) == COUNTS and not report.problems
    assert placed_files(scene.out) == EXPECTED
    for dst in EXPECTED:
        src = dst.split("/", 1)[1]
        target = scene.out / dst
        assert tree_hashes(target.parent)[target.name] == before[src]
        if mode == "hardlink":
            assert os.stat(target).st_ino == stats[src].st_ino
        if mode == "symlink":
            assert target.is_symlink() and os.readlink(target) == str((scene.images / src).resolve())
        if mode in ("copy", "reflink"):
            assert not target.is_symlink() and os.stat(target).st_ino != stats[src].st_ino
            assert os.stat(target).st_mtime_ns == stats[src].st_mtime_ns
    if mode == "move":
        assert tree_hashes(scene.images) == {}
    else:
        assert tree_hashes(scene.images) == before


def test_reflink_falls_back_to_copy_and_says_so(scene):
    scene.setup(IMAGES)
    report = scene.sort(mode="reflink")
    assert report.summary.startswith("cloned 6 images")
    if "copied instead" not in report.summary:  # tmpfs and ext4 cannot clone; btrfs and xfs can
        pytest.skip("this filesystem clones, so there is no fallback to see")


def test_dry_run_touches_nothing_and_counts_the_same(scene, capsys):
    scene.setup(IMAGES)
    report = scene.sort(dry_run=True)
    assert report.dry_run and dict(report.counts) == COUNTS
    assert not scene.out.exists()
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 6 and all(line.startswith("copy ") for line in printed)
    assert f"{scene.images.resolve()}/s1/c1/a.jpg -> {scene.out.resolve()}/animals/s1/c1/a.jpg" in printed[0] + "".join(printed)


def test_journal_lists_every_source_destination_and_mode(scene):
    scene.setup(IMAGES)
    scene.sort(mode="hardlink")
    records = list(read_journal(scene.out / JOURNAL_NAME))
    assert records[0]["mode"] == "hardlink" and records[0]["images"] == str(scene.images.resolve())
    pairs = {(src, dst) for r in records if "op" in r for src, dst in r["files"]}
    assert {op for r in records if "op" in r for op in [r["op"]]} == {"hardlink"}
    assert pairs == {(d.split("/", 1)[1], d) for d in EXPECTED}


def test_undo_after_move_restores_a_byte_identical_tree(scene):
    scene.setup(IMAGES)
    before = tree_hashes(scene.images)
    dirs_before = all_paths(scene.images)
    scene.sort(mode="move")
    assert tree_hashes(scene.images) == {}
    report = undo(scene.out)
    assert report.counts["moved back"] == 6 and not report.problems
    assert tree_hashes(scene.images) == before and all_paths(scene.images) == dirs_before
    assert not scene.out.exists()  # the run created it, undo removed it


@pytest.mark.parametrize("mode", ["copy", "hardlink", "symlink"])
def test_undo_removes_what_the_run_created_and_keeps_what_was_there(scene, mode):
    scene.setup(IMAGES)
    keep = scene.out / "notes.txt"
    keep.parent.mkdir()
    keep.write_text("mine")
    before = tree_hashes(scene.images)
    scene.sort(mode=mode)
    report = undo(scene.out / JOURNAL_NAME)
    assert report.counts["removed files"] == 6 and not report.problems
    assert all_paths(scene.out) == {"notes.txt"} and tree_hashes(scene.images) == before


def test_undo_keeps_a_copy_changed_since_and_can_be_repeated(scene):
    scene.setup(IMAGES)
    scene.sort()
    (scene.out / "animals/s1/c1/a.jpg").write_bytes(b"edited by hand")
    report = undo(scene.out)
    assert len(report.problems) == 1 and "changed since" in report.problems[0]
    assert placed_files(scene.out) == {"animals/s1/c1/a.jpg"}
    assert (scene.out / JOURNAL_NAME).exists()  # kept so undo can run again
    (scene.out / "animals/s1/c1/a.jpg").unlink()
    again = undo(scene.out)
    assert not again.problems and not scene.out.exists()


def test_rerun_skips_what_is_done(scene):
    scene.setup(IMAGES)
    scene.sort()
    report = scene.sort()
    assert report.summary.startswith("copied 0 images") and "6 already done" in report.summary
    assert dict(report.counts) == COUNTS and not report.problems


def test_existing_different_file_is_never_overwritten(scene):
    scene.setup(IMAGES)
    blocker = scene.out / "animals/s1/c1/a.jpg"
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"someone else's file")
    twin = scene.out / "people/s1/c1/b.jpg"
    twin.parent.mkdir(parents=True)
    twin.write_bytes((scene.images / "s1/c1/b.jpg").read_bytes())
    report = scene.sort()
    assert blocker.read_bytes() == b"someone else's file"
    assert [p for p in report.problems if "different file" in p] == [
        f"{blocker.resolve()}: a different file is already there; left alone (remove it, or choose another --out)"]
    assert "4 images" in report.summary and "1 already done" in report.summary  # the identical twin
    undo(scene.out)
    assert twin.exists() and blocker.exists()  # neither was made by the run


def test_partial_copy_of_an_earlier_run_is_replaced(scene):
    scene.setup(IMAGES)
    scene.sort()
    copy = scene.out / "animals/s1/c1/a.jpg"
    original = (scene.images / "s1/c1/a.jpg").read_bytes()
    copy.unlink()
    copy.write_bytes(original[:10])  # what a killed copy leaves: a prefix, today's time
    report = scene.sort()
    assert copy.read_bytes() == original and report.summary.startswith("copied 1 images")


def test_temporary_file_left_after_publishing_is_removed_by_the_next_run(scene):
    scene.setup(IMAGES)
    scene.sort()
    copy = scene.out / "animals/s1/c1/a.jpg"
    leftover = copy.with_name(".a.jpg" + PART_SUFFIX)  # killed between link and unlink
    os.link(copy, leftover)
    stranger = copy.with_name(".b.jpg" + PART_SUFFIX)  # not beside anything the run made
    stranger.write_bytes(b"not ours")
    report = scene.sort()
    assert not leftover.exists() and copy.exists() and stranger.read_bytes() == b"not ours"
    assert "6 already done" in report.summary and not report.problems


def test_missing_sources_are_reported_unless_strict(scene):
    scene.setup(IMAGES)
    (scene.images / "s2/d.jpg").unlink()
    report = scene.sort()
    assert [p for p in report.problems if "missing" in p] == [
        f"{scene.images.resolve()}/s2/d.jpg: source image is missing"]
    assert len(placed_files(scene.out)) == 5
    with pytest.raises(mdi.MdiError, match="nothing was changed"):
        scene.sort(out=scene.base / "strict", strict=True)
    assert not (scene.base / "strict").exists()


@pytest.mark.parametrize("evil", ["../escape.jpg", "/tmp/abs.jpg", "s1/../../escape.jpg", "C:\\x\\y.jpg",
                                  "\\\\server\\share\\z.jpg", "..", "s1/.."])
def test_traversal_attempts_are_refused(scene, evil):
    scene.setup(IMAGES)
    doc = json.loads(scene.results.read_text())
    doc["images"].append({"file": evil, "detections": [det("1", 0.9)]})
    scene.write_results(doc)
    (scene.base / "escape.jpg").write_bytes(b"outside")
    outside_before = all_paths(scene.base.parent)
    report = scene.sort()
    assert any(repr(evil) in p and "refused" in p for p in report.problems)
    assert placed_files(scene.out) == EXPECTED
    assert all_paths(scene.base.parent) - outside_before <= {
        str(p.relative_to(scene.base.parent)) for p in [scene.out, *scene.out.rglob("*")]}
    with pytest.raises(mdi.MdiError, match="refused"):
        scene.sort(out=scene.base / "strict", strict=True)


def test_a_symbolic_link_inside_the_output_cannot_lead_writes_outside(scene, tmp_path_factory):
    scene.setup(IMAGES)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    scene.out.mkdir()
    (scene.out / "animals").symlink_to(elsewhere, target_is_directory=True)
    report = scene.sort()
    assert list(elsewhere.iterdir()) == []
    assert any("animals/s1/c1/a.jpg: refused" in p for p in report.problems)


def test_output_inside_the_image_folder_never_resorts_sorted_images(scene):
    images = list(IMAGES) + [{"file": "sorted/animals/s1/c1/a.jpg", "detections": [det("2", 0.9)]}]
    scene.setup(images)
    report = scene.sort(out=scene.images / "sorted")
    assert any("lies inside the output folder" in p for p in report.problems)
    assert not (scene.images / "sorted/people/sorted").exists()


@pytest.mark.parametrize("out", ["images", "."])
def test_output_that_is_or_holds_the_image_folder_is_an_error(scene, out):
    scene.setup(IMAGES)
    with pytest.raises(mdi.MdiError, match="contains the image folder"):
        scene.sort(out=scene.base / out)


def test_duplicate_entries_are_reported_once_placed(scene):
    scene.setup(IMAGES)  # the loader refuses duplicates; results built in a notebook may have them
    results = mdi.load(scene.results)
    results = results.with_images(results.images + results.images[:1])
    report = mdi.export(results, "folders", images=scene.images, out=scene.out)
    assert any("listed again" in p for p in report.problems)
    assert placed_files(scene.out) == EXPECTED


def test_hardlinks_across_filesystems_are_refused_up_front(scene):
    if os.stat("/dev/shm").st_dev == os.stat(scene.base).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temporary folder")
    scene.setup(IMAGES)
    import tempfile

    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        with pytest.raises(mdi.MdiError, match="same filesystem"):
            scene.sort(out=os.path.join(other, "out"), mode="hardlink")


def test_skip_empty_keeps_failures(scene):
    scene.setup(IMAGES)
    report = scene.sort(skip_empty=True)
    assert placed_files(scene.out) == EXPECTED - {"empty/s2/d.jpg", "empty/s2/e.jpg"}
    assert "2 empty skipped" in report.summary


def test_species_subfolders_on_disk(scene):
    classes = {"1": "white-tailed deer", "2": "coyote"}
    images = [
        {"file": "x/1.jpg", "detections": [det("1", 0.9, [("1", 0.9)])]},
        {"file": "x/2.jpg", "detections": [det("1", 0.9, [("2", 0.9)])]},
        {"file": "x/3.jpg", "detections": [det("1", 0.9, [("1", 0.9), ("2", 0.8)])]},
        {"file": "x/4.jpg", "detections": [det("1", 0.9, [("2", 0.3)])]},
    ]
    scene.setup(images, classes=classes)
    report = scene.sort(species={"white-tailed deer": 0.5, "coyote": 0.5})
    assert placed_files(scene.out) == {"animals/white-tailed deer/x/1.jpg", "animals/coyote/x/2.jpg",
                                       "animals/multiple/x/3.jpg", "animals/unclassified/x/4.jpg"}
    assert dict(report.counts)["animals/coyote"] == 1
    with pytest.raises(mdi.MdiError, match="not in the results' classification_categories"):
        scene.sort(species={"wolf": 0.5})


def test_unsafe_category_names_are_refused(scene):
    scene.setup(IMAGES, categories={"1": "animal", "2": "../person", "3": "vehicle"})
    with pytest.raises(mdi.MdiError, match="cannot be a folder name"):
        scene.sort()
    assert not scene.out.exists()


def test_undo_dry_run_changes_nothing(scene, capsys):
    scene.setup(IMAGES)
    scene.sort(mode="move")
    after_sort = tree_hashes(scene.out)
    report = undo(scene.out, dry_run=True)
    assert report.dry_run and report.counts["moved back"] == 6
    assert tree_hashes(scene.out) == after_sort and tree_hashes(scene.images) == {}
    assert "moved back: " in capsys.readouterr().out


def test_publishing_a_copy_never_replaces_a_file_that_appeared(tmp_path):
    from megadetector_integrations_folders import transfer

    src = tmp_path / "src.jpg"
    src.write_bytes(b"original")
    dst = tmp_path / "dst.jpg"
    dst.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        transfer.copy_file(str(src), str(dst))
    assert dst.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst.jpg", "src.jpg"]  # no temporary left
    dst.unlink()
    transfer.copy_file(str(src), str(dst))
    assert dst.read_bytes() == b"original"


def test_thread_pool_places_every_image_like_one_thread(scene):
    scene.setup(IMAGES)
    report = scene.sort(workers=3)
    assert placed_files(scene.out) == EXPECTED and dict(report.counts) == COUNTS and not report.problems
    assert all((scene.out / dst).read_bytes() == (scene.images / dst.split("/", 1)[1]).read_bytes()
               for dst in EXPECTED)
