"""Whole processes and real images: an interrupted run, the CLI, rendering, the demo."""

import os
import subprocess
import sys
import threading
import time

import pytest
from folders_testkit import det, tree_hashes

import megadetector_integrations as mdi
from megadetector_integrations.cli import main
from megadetector_integrations.journal import read_journal
from megadetector_integrations.testing import copy_sample
from megadetector_integrations_folders import _demo
from megadetector_integrations_folders import placing
from megadetector_integrations_folders.placing import DELAY_ENV, TWO_PROCESSES_FROM
from megadetector_integrations_folders.sorter import JOURNAL_NAME, VERBS
from megadetector_integrations_folders.transfer import PART_SUFFIX
from megadetector_integrations_folders.undo import undo


def placed(out) -> dict:
    return {str(p.relative_to(out)): p for p in out.rglob("*") if p.is_file() and p.name != JOURNAL_NAME}


@pytest.mark.parametrize("mode, n", [("copy", 60), ("move", 60), ("copy", TWO_PROCESSES_FROM + 200)])
def test_interrupted_run_resumes_with_nothing_lost_or_duplicated(scene, mode, n):
    files = [f"s{i % 3}/img_{i:04d}.jpg" for i in range(n)]
    scene.setup([{"file": f, "detections": [det("1", 0.9)] if i % 2 else []} for i, f in enumerate(files)])
    before = tree_hashes(scene.images)
    expected = {("animals/" if i % 2 else "empty/") + f: f for i, f in enumerate(files)}
    command = [sys.executable, "-m", "megadetector_integrations", "export", "folders", str(scene.results),
               "--images", str(scene.images), "--out", str(scene.out), "--mode", mode]
    proc = subprocess.Popen(command, env={**os.environ, DELAY_ENV: "0.03"}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline and not (
            scene.out.exists() and len(placed(scene.out)) >= 10):
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    at_kill = len(placed(scene.out))
    time.sleep(0.2)  # a second process left running would place a file every 0.03 s
    assert len(placed(scene.out)) == at_kill, "something kept placing files after the run was killed"
    assert 10 <= at_kill < n, "the run was not interrupted mid-way"

    report = scene.sort(mode=mode)
    assert not report.problems
    assert set(placed(scene.out)) == set(expected)
    after = tree_hashes(scene.out)
    assert {dst: after[dst] for dst in expected} == {dst: before[src] for dst, src in expected.items()}
    assert tree_hashes(scene.images) == ({} if mode == "move" else before)
    undo(scene.out)
    assert tree_hashes(scene.images) == before and not scene.out.exists()


@pytest.mark.parametrize("mode", ["copy", "hardlink"])
def test_many_small_files_are_shared_with_a_second_process(scene, monkeypatch, mode):
    files = [f"s{i % 4}/img_{i:04d}.jpg" for i in range(5 * placing.BATCH + 7)]
    scene.setup([{"file": f, "detections": [det("2", 0.8)] if i % 3 else []} for i, f in enumerate(files)])
    blocked = files[placing.BATCH + 5]  # in the second batch: the second process's
    (scene.images / blocked).unlink()
    (scene.images / blocked).mkdir()  # listed, so planned, but cannot be placed
    before = tree_hashes(scene.images)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.setattr(placing, "TWO_PROCESSES_FROM", 100)
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may leave idle threads
    report = scene.sort(mode=mode)
    assert forks == [1]
    assert [p for p in report.problems if blocked in p and "not placed" in p] == [report.problems[0]]
    assert len(report.problems) == 1 and report.summary.startswith(f"{VERBS[mode]} {len(files) - 1:,} images")
    expected = {("people/" if i % 3 else "empty/") + f for i, f in enumerate(files) if f != blocked}
    assert set(placed(scene.out)) == expected
    after = tree_hashes(scene.out)
    assert all(after[dst] == before[dst.split("/", 1)[1]] for dst in expected)
    journaled = {dst for r in read_journal(scene.out / JOURNAL_NAME) if "op" in r for _, dst in r["files"]}
    assert journaled == expected | {("people/" if files.index(blocked) % 3 else "empty/") + blocked}
    undo(scene.out)
    assert tree_hashes(scene.images) == before and not scene.out.exists()


def test_a_process_with_other_threads_is_never_forked(scene, monkeypatch):
    files = [f"img_{i:04d}.jpg" for i in range(3 * placing.BATCH)]
    scene.setup([{"file": f, "detections": []} for f in files])
    forks = []
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or pytest.fail("forked"))
    monkeypatch.setattr(placing, "TWO_PROCESSES_FROM", 100)
    release = threading.Event()
    other = threading.Thread(target=release.wait)  # as in a notebook kernel
    other.start()
    try:
        report = scene.sort()
    finally:
        release.set()
        other.join()
    assert forks == [] and len(placed(scene.out)) == len(files) and not report.problems


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def test_cli_sorts_reports_and_undoes(scene, capsys):
    scene.setup([{"file": "a.jpg", "detections": [det("2", 0.6)]}, {"file": "b.jpg", "detections": []}])
    assert run_cli("export", "folders", scene.results, "--images", scene.images, "--out", scene.out,
                   "--mode", "hardlink", "--person-threshold", "0.5") == 0
    out = capsys.readouterr().out
    assert "hard-linked 2 images" in out and "people" in out and "empty" in out
    assert run_cli("folders", "undo", scene.out) == 0
    assert "removed files" in capsys.readouterr().out and not scene.out.exists()


@pytest.mark.parametrize("args, message", [
    (["--threshold", "1.5"], "not between 0 and 1"),
    (["--mode", "move", "--render-boxes"], "cannot be used with --mode move"),
    (["--species", "deer=0.5"], "no classification_categories"),
])
def test_cli_user_mistakes_exit_1_with_a_message(scene, capsys, args, message):
    scene.setup([{"file": "a.jpg", "detections": []}])
    assert run_cli("export", "folders", scene.results, "--images", scene.images, "--out", scene.out, *args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_help_explains_with_examples(capsys):
    assert run_cli("export", "folders", "--help") == 0
    text = capsys.readouterr().out
    assert "animal_person" in text and "mdi folders undo" in text and "--mode" in text
    assert run_cli("folders") == 2
    assert "undo" in capsys.readouterr().out
    assert run_cli("folders", "undo", "/nonexistent/place") == 1


def test_rendering_draws_on_copies_only(tmp_path):
    from PIL import Image, ImageStat

    images, results_path = copy_sample(tmp_path)
    person_path = images / "site_a/cam_1/IMG_0004.JPG"
    with Image.open(person_path) as sample:  # the sample's person is flat: give it texture to blur
        exif = sample.getexif()
        noisy = Image.effect_noise(sample.size, 80).convert("RGB")
    noisy.save(person_path, exif=exif.tobytes(), quality=95)
    before = tree_hashes(images)
    results = mdi.load(results_path)
    report = mdi.export(results, "folders", images=images, out=tmp_path / "out", render_boxes=True,
                        blur_people=True)
    assert tree_hashes(images) == before  # originals untouched
    out = tmp_path / "out"
    empty_copy = out / "empty/site_a/cam_1/IMG_0003.JPG"
    assert empty_copy.read_bytes() == (images / "site_a/cam_1/IMG_0003.JPG").read_bytes()  # never re-encoded
    person = out / "people/site_a/cam_1/IMG_0004.JPG"
    original = Image.open(images / "site_a/cam_1/IMG_0004.JPG")
    drawn = Image.open(person)
    assert drawn.size == original.size
    assert drawn.getexif().get_ifd(0x8769)[36867] == "2024:05:01 14:30:00"  # EXIF kept
    w, h = original.size
    inner = (int(0.47 * w), int(0.25 * h), int(0.55 * w), int(0.75 * h))  # inside the person's box
    assert sum(ImageStat.Stat(drawn.crop(inner)).stddev) < sum(ImageStat.Stat(original.crop(inner)).stddev) / 2
    outside = (0, 0, int(0.3 * w), int(0.15 * h))
    diff = [abs(a - b) for a, b in zip(ImageStat.Stat(drawn.crop(outside)).mean,
                                       ImageStat.Stat(original.crop(outside)).mean)]
    assert max(diff) < 3
    assert report.counts["people"] == 1
    undo(out)
    assert not out.exists()


def test_rendering_resumes_over_a_half_written_temporary_file(tmp_path):
    images, results_path = copy_sample(tmp_path)
    out = tmp_path / "out"
    person = out / "people/site_a/cam_1/IMG_0004.JPG"
    person.parent.mkdir(parents=True)
    half = person.with_name(".IMG_0004.JPG" + PART_SUFFIX)  # a render killed while writing
    half.write_bytes(b"\xff\xd8 cut short")
    report = mdi.export(mdi.load(results_path), "folders", images=images, out=out, render_boxes=True)
    assert not report.problems and not half.exists()
    from PIL import Image

    with Image.open(person) as drawn:
        drawn.load()
    undo(out)
    assert [p for p in out.rglob("*") if not p.is_dir()] == []  # the folders made before the run stay


def test_rendering_refuses_link_and_move_modes(scene):
    scene.setup([{"file": "a.jpg", "detections": []}])
    for mode in ("move", "hardlink", "symlink"):
        with pytest.raises(mdi.MdiError, match="cannot be used with"):
            scene.sort(mode=mode, blur_people=True)


def test_demo_options_run_on_the_sample(tmp_path):
    images, results_path = copy_sample(tmp_path)
    options = _demo(images, tmp_path / "out")
    report = mdi.export(mdi.load(results_path), "folders", **{
        name: getattr(options, name) for name in ("images", "out", "species")})
    assert report.counts["animals/white-tailed deer"] >= 1 and not report.problems
