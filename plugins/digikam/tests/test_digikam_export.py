"""`mdi export xmp` on real JPEGs, read back with exiftool, exiv2 and Pillow."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import megadetector_integrations as mdi
from megadetector_integrations.cli import main
from megadetector_integrations.journal import read_journal
from megadetector_integrations.model import Detection, Image, ResultsFile
from megadetector_integrations.testing import require_tool

# What the sample's results say (see md_results.json): typical threshold 0.2,
# classification threshold 0.5, classes 1 deer, 2 coyote, 3 turkey.
EXPECTED = {
    # animal 0.76 (coyote 0.7) and person 0.65
    "site_a/cam_2/IMG_0002.JPG": ["MegaDetector|Animal", "MegaDetector|Person", "Species|coyote"],
    "site_a/cam_1/IMG_0003.JPG": ["MegaDetector|Empty"],  # one animal at 0.03
    "site_a/cam_2/IMG_0003.JPG": ["MegaDetector|Empty"],  # no detections
    "site_b/cam_1/IMG_0004.JPG": ["MegaDetector|Failure"],
    "site_a/cam_2/IMG_0001.JPG": ["MegaDetector|Vehicle"],
    "site_b/cam_1/IMG_0002.JPG": ["MegaDetector|Animal"],  # deer at 0.45 < 0.5: no species
    # two animals: deer 0.86 and coyote 0.79
    "site_b/cam_2/IMG_0002.JPG": ["MegaDetector|Animal", "Species|coyote", "Species|white-tailed deer"],
}


def _fields(tags: list[str]) -> dict[str, list[str]]:
    """The four fields as digiKam writes a list of |-separated tags."""
    return {
        "HierarchicalSubject": tags,
        "TagsList": [t.replace("|", "/") for t in tags],
        "Subject": [t.split("|")[-1] for t in tags],
        "LastKeywordXMP": [t.replace("|", "/") for t in tags],
    }


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_embedded_tags_read_by_exiftool_and_exiv2(sample, readers, tmp_path):
    images, results = sample
    report = mdi.export(results, "xmp", images=images, journal=tmp_path / "j.jsonl")
    assert report.counts["written"] == 14 and not report.problems
    for file, tags in EXPECTED.items():
        assert readers.exiftool_tags(images / file) == _fields(tags), file
        exiv2 = readers.exiv2_xmp(images / file)
        assert exiv2["Xmp.lr.hierarchicalSubject"] == ", ".join(tags)
        assert exiv2["Xmp.digiKam.TagsList"] == ", ".join(t.replace("|", "/") for t in tags)
        assert exiv2["Xmp.MicrosoftPhoto.LastKeywordXMP"] == ", ".join(t.replace("|", "/") for t in tags)
        assert exiv2["Xmp.dc.subject"] == ", ".join(t.split("|")[-1] for t in tags)


def test_only_the_xmp_segment_changes_and_pixels_decode_the_same(sample, readers):
    from PIL import Image as PILImage

    images, results = sample
    before = _snapshot(images)
    mdi.export(results, "xmp", images=images)
    after = _snapshot(images)
    assert set(after) - set(before) <= {p for p in after if p.startswith(".megadetector-integrations/")}
    for name, old in before.items():
        new = after[name]
        assert new != old and readers.without_xmp(new) == readers.without_xmp(old) == old, name
        if name != "site_b/cam_1/IMG_0004.JPG":  # the sample's truncated JPEG
            with PILImage.open(io.BytesIO(old)) as a, PILImage.open(io.BytesIO(new)) as b:
                assert a.tobytes() == b.tobytes()


def _user_fixture(path: Path) -> None:
    """EXIF, foreign XMP and the user's own tags, written by exiftool."""
    tool = require_tool("exiftool")
    subprocess.run([tool, "-q", "-overwrite_original", "-charset", "utf8",
                    "-EXIF:Artist=Field Team", "-XMP-dc:Title=Ridge camera", "-XMP-xmp:Rating=4",
                    "-XMP-lr:HierarchicalSubject=Place|Forest", "-XMP-lr:HierarchicalSubject=Species|Leopard Cat",
                    "-XMP-digiKam:TagsList=Place/Forest", "-XMP-digiKam:TagsList=Species/Leopard Cat",
                    "-XMP-dc:Subject=Forest", "-XMP-dc:Subject=Leopard Cat", str(path)], check=True)


def test_user_tags_exif_and_foreign_xmp_survive_rerun_and_remove(sample, readers, tmp_path):
    images, results = sample
    image = images / "site_a/cam_2/IMG_0002.JPG"
    _user_fixture(image)
    original = image.read_bytes()
    keep = ("-EXIF:Artist", "-XMP-dc:Title", "-XMP-xmp:Rating")
    foreign_before = readers.exiftool_json(image, args=keep)[0]

    mdi.export(results, "xmp", images=images, journal=tmp_path / "1.jsonl")
    user = ["Place|Forest", "Species|Leopard Cat"]
    ours = EXPECTED["site_a/cam_2/IMG_0002.JPG"]
    expected = _fields(user + ours)
    expected["Subject"] = ["Forest", "Leopard Cat", "Animal", "Person", "coyote"]
    assert readers.exiftool_tags(image) == expected
    assert readers.exiftool_json(image, args=keep)[0] == foreign_before
    assert readers.without_xmp(image.read_bytes()) == readers.without_xmp(original)

    tagged = image.read_bytes()
    report = mdi.export(results, "xmp", images=images, journal=tmp_path / "2.jsonl")
    assert report.counts["unchanged"] == 14 and image.read_bytes() == tagged  # idempotent

    mdi.export(results, "xmp", images=images, remove=True, journal=tmp_path / "3.jsonl")
    expected = _fields(user)
    expected["Subject"] = ["Forest", "Leopard Cat"]
    assert readers.exiftool_tags(image) == expected
    assert readers.exiftool_json(image, args=keep)[0] == foreign_before


def test_user_species_tag_equal_to_ours_is_kept_on_remove(sample, readers):
    images, results = sample
    image = images / "site_a/cam_2/IMG_0002.JPG"  # we tag Species|coyote here
    subprocess.run([require_tool("exiftool"), "-q", "-overwrite_original",
                    "-XMP-lr:HierarchicalSubject=Species|coyote", str(image)], check=True)
    mdi.export(results, "xmp", images=images)
    assert readers.exiftool_tags(image)["TagsList"] == ["Species/coyote", "MegaDetector/Animal", "MegaDetector/Person"]
    mdi.export(results, "xmp", images=images, remove=True)
    assert readers.exiftool_tags(image) == _fields(["Species|coyote"])


def test_lightroom_only_tags_are_copied_into_the_new_tagslist(sample, readers):
    """digiKam reads TagsList first: creating it with only our tags would hide the user's."""
    images, results = sample
    image = images / "site_a/cam_2/IMG_0001.JPG"
    subprocess.run([require_tool("exiftool"), "-q", "-overwrite_original",
                    "-XMP-lr:HierarchicalSubject=Habitat|Grass/Scrub", str(image)], check=True)
    mdi.export(results, "xmp", images=images)
    tags = readers.exiftool_tags(image)
    assert tags["TagsList"] == ["Habitat/Grass\\Scrub", "MegaDetector/Vehicle"]
    assert tags["HierarchicalSubject"] == ["Habitat|Grass/Scrub", "MegaDetector|Vehicle"]


def test_sidecars_leave_images_untouched(sample, readers):
    images, results = sample
    before = _snapshot(images)
    mdi.export(results, "xmp", images=images, sidecar=True)
    for name, data in before.items():
        assert (images / name).read_bytes() == data
    for file, tags in EXPECTED.items():
        sidecar = images / (file + ".xmp")
        assert readers.exiftool_tags(sidecar) == _fields(tags)
        assert readers.exiv2_xmp(sidecar)["Xmp.lr.hierarchicalSubject"] == ", ".join(tags)
    mdi.export(results, "xmp", images=images, sidecar=True, remove=True)
    assert not list(images.rglob("*.xmp"))


def test_stem_sidecars_and_videos(sample, readers):
    images, results = sample
    (images / "site_a/clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    video = Image("site_a/clip.mp4", (Detection("2", 0.9, (0.1, 0.1, 0.2, 0.2)),))
    results = results.with_images((*results.images, video))
    mdi.export(results, "xmp", images=images, sidecar=True, sidecar_name="image.xmp")
    assert readers.exiftool_tags(images / "site_a/clip.xmp")["HierarchicalSubject"] == ["MegaDetector|Person"]
    assert (images / "site_a/cam_1/IMG_0001.xmp").exists() and not (images / "site_a/cam_1/IMG_0001.JPG.xmp").exists()

    report = mdi.export(results, "xmp", images=images)  # embedded: the video is skipped, with a reason
    assert report.counts["skipped"] == 1
    assert report.problems == ("site_a/clip.mp4: not a JPEG: embedded XMP is written only into JPEGs (use --sidecar)",)


def test_dry_run_changes_nothing(sample):
    images, results = sample
    before = _snapshot(images)
    report = mdi.export(results, "xmp", images=images, dry_run=True)
    assert report.dry_run and report.counts["written"] == 14 and report.outputs == ()
    assert _snapshot(images) == before


def test_permissions_and_mtime_kept_unless_asked(sample):
    images, results = sample
    a, b = images / "site_a/cam_1/IMG_0001.JPG", images / "site_a/cam_1/IMG_0002.JPG"
    for path in (a, b):
        path.chmod(0o640)
        os.utime(path, (1_000_000_000, 1_000_000_000))
    keep = results.with_images(im for im in results.images if im.file.endswith("cam_1/IMG_0001.JPG"))
    mdi.export(keep, "xmp", images=images)
    assert (a.stat().st_mode & 0o777, a.stat().st_mtime) == (0o640, 1_000_000_000)
    touch = results.with_images(im for im in results.images if im.file.endswith("cam_1/IMG_0002.JPG"))
    mdi.export(touch, "xmp", images=images, keep_mtime=False)
    assert b.stat().st_mode & 0o777 == 0o640 and b.stat().st_mtime > 1_000_000_000


def test_journal_records_each_change_with_the_old_xmp(sample, tmp_path):
    images, results = sample
    journal = tmp_path / "run.jsonl"
    mdi.export(results, "xmp", images=images, journal=journal)
    records = list(read_journal(journal))
    assert records[0]["event"] == "start"
    written = {r["file"]: r for r in records[1:]}
    assert set(written) == {im.file for im in results.images}
    assert written["site_a/cam_2/IMG_0001.JPG"]["tags"] == ["MegaDetector|Vehicle"]
    assert written["site_a/cam_2/IMG_0001.JPG"]["old_xmp"] is None
    mdi.export(results, "xmp", images=images, remove=True, journal=journal)
    removed = [r for r in read_journal(journal) if r["event"] == "removed"]
    assert len(removed) == 14 and "MegaDetector|Vehicle" in removed[0]["old_xmp"] + removed[4]["old_xmp"]


def test_default_journal_lives_in_a_hidden_folder_of_the_image_root(sample):
    images, results = sample
    report = mdi.export(results, "xmp", images=images)
    (journal,) = report.outputs
    assert Path(journal).parent == images / ".megadetector-integrations" and Path(journal).exists()


def test_unsafe_missing_repeated_and_truncated_images_are_skipped(sample, tmp_path):
    images, results = sample
    (images / "site_a/broken.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    outside = tmp_path / "outside.jpg"
    shutil.copyfile(images / "site_a/cam_1/IMG_0001.JPG", outside)
    outside_bytes = outside.read_bytes()
    empty = ()
    bad = [Image("../outside.jpg", empty), Image(str(outside), empty), Image("site_a/nothere.jpg", empty),
           Image("site_a/broken.jpg", empty), results.images[0]]
    report = mdi.export(results.with_images([results.images[0], *bad]), "xmp", images=images)
    problems = "\n".join(report.problems)
    assert "images[1] '../outside.jpg': skipped: unsafe path" in problems
    assert "images[2]" in problems and "absolute path" in problems
    assert "site_a/nothere.jpg: image not found" in problems
    assert "site_a/broken.jpg: truncated or corrupt JPEG" in problems
    assert "images[5] 'site_a/cam_1/IMG_0001.JPG': listed twice" in problems
    assert outside.read_bytes() == outside_bytes
    assert (images / "site_a/broken.jpg").read_bytes() == b"\xff\xd8\xff\xe0\x00\x10JFIF"
    assert report.counts["written"] == 1


def test_symlinks_leading_outside_the_image_root_are_refused(sample, tmp_path, readers):
    images, results = sample
    outside = tmp_path / "outside.jpg"
    shutil.copyfile(images / "site_a/cam_1/IMG_0001.JPG", outside)
    before = outside.read_bytes()
    (images / "site_a/link.jpg").symlink_to(outside)
    (images / "linked_folder").symlink_to(tmp_path, target_is_directory=True)
    (images / "site_b/inside.jpg").symlink_to(images / "site_a/cam_2/IMG_0001.JPG")
    entries = [Image("site_a/link.jpg", ()), Image("linked_folder/outside.jpg", ()), Image("site_b/inside.jpg", ())]
    for sidecar in (False, True):
        report = mdi.export(results.with_images(entries), "xmp", images=images, sidecar=sidecar)
        assert sorted(report.problems) == sorted([
            f"images[1] 'linked_folder/outside.jpg': skipped: unsafe path 'linked_folder/outside.jpg': "
            f"resolves outside {images}",
            f"site_a/link.jpg: unsafe path 'site_a/link.jpg': a symlink to {outside}, outside the image folder; "
            "left unchanged",
        ])
        assert outside.read_bytes() == before and not (tmp_path / "outside.jpg.xmp").exists()
    # a symlink inside the root: the file it points to is tagged, the link stays a link
    assert (images / "site_b/inside.jpg").is_symlink()
    assert readers.exiftool_tags(images / "site_a/cam_2/IMG_0001.JPG")["HierarchicalSubject"] == ["MegaDetector|Empty"]
    assert readers.exiftool_tags(images / "site_b/inside.jpg.xmp")["HierarchicalSubject"] == ["MegaDetector|Empty"]


def test_too_big_for_a_jpeg_segment_falls_back_to_a_sidecar(sample, readers):
    images, results = sample
    image = images / "site_a/cam_2/IMG_0001.JPG"
    header = b"http://ns.adobe.com/xap/1.0/\x00"
    long_text = "x" * 65_200
    packet = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              f'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="{long_text}"/>'
              f"</rdf:RDF></x:xmpmeta>").encode()
    data = image.read_bytes()
    segment = b"\xff\xe1" + (2 + len(header) + len(packet)).to_bytes(2, "big") + header + packet
    image.write_bytes(data[:2] + segment + data[2:])
    before = image.read_bytes()
    report = mdi.export(results, "xmp", images=images)
    assert image.read_bytes() == before
    assert any("site_a/cam_2/IMG_0001.JPG: XMP too big for a JPEG segment" in p for p in report.problems)
    assert readers.exiftool_tags(Path(str(image) + ".xmp"))["HierarchicalSubject"] == ["MegaDetector|Vehicle"]


def test_thresholds_bands_review_and_species_root(sample, readers):
    images, results = sample
    mdi.export(results, "xmp", images=images, threshold=0.7, category_threshold={"person": 0.6},
               bands=(0.5, 0.8), review=(0.1, 0.7), species_root="Taxon", classification_threshold=0.8)
    tags = lambda f: readers.exiftool_tags(images / f)["HierarchicalSubject"]  # noqa: E731
    # animal 0.76 (< 0.8: medium), person 0.65 (person threshold 0.6); 0.65 is in the review band
    assert tags("site_a/cam_2/IMG_0002.JPG") == ["MegaDetector|Animal|medium", "MegaDetector|Person|medium",
                                                 "MegaDetector|Review"]
    # animal 0.67 < 0.7: empty, but in review
    assert tags("site_b/cam_1/IMG_0002.JPG") == ["MegaDetector|Empty", "MegaDetector|Review"]
    # animal 0.95, turkey 0.9
    assert tags("site_b/cam_1/IMG_0001.JPG") == ["MegaDetector|Animal|high", "Taxon|wild turkey"]


def test_cli_export_read_and_errors(sample, readers, tmp_path, capsys):
    images, results = sample
    results_path = images.parent / "md_results.json"
    assert main(["export", "xmp", str(results_path), "--images", str(images), "--sidecar"]) == 0
    out_csv = tmp_path / "tags.csv"
    assert main(["xmp", "read", str(images), "--csv", str(out_csv)]) == 0
    import csv

    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    for file, tags in EXPECTED.items():
        assert [r["tag"] for r in rows if r["file"] == file] == tags
        assert {r["source"] for r in rows if r["file"] == file} == {"sidecar"}
    capsys.readouterr()
    assert main(["xmp", "read", str(images), "--root", "Species"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "file\tsource\ttag" and all(line.split("\t")[2].startswith("Species|") for line in lines[1:])

    assert main(["export", "xmp", str(results_path), "--images", str(images), "--category-threshold", "bird=0.3"]) == 1
    assert "no category 'bird' in the results file" in capsys.readouterr().err
    assert main(["export", "xmp", str(results_path), "--images", str(images), "--bands", "0.8", "0.5"]) == 1
    assert "--bands takes two confidences" in capsys.readouterr().err
    assert main(["export", "xmp", str(results_path), "--images", str(tmp_path / "nope")]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_read_tags_matches_exiftool_for_embedded_tags(sample, readers):
    from megadetector_integrations_digikam import read_tags

    images, results = sample
    mdi.export(results, "xmp", images=images)
    rows = read_tags(images)
    for file in EXPECTED:
        ours = [r["tag"] for r in rows if r["file"] == file and r["source"] == "embedded"]
        assert ours == readers.exiftool_tags(images / file)["HierarchicalSubject"]


@pytest.mark.parametrize("threads", [False, True])
def test_parallel_workers_tag_every_image(tmp_path, readers, threads):
    from megadetector_integrations.sample import IMAGES

    source = (IMAGES / "site_a/cam_1/IMG_0001.JPG").read_bytes()
    root = tmp_path / "many"
    root.mkdir()
    entries = []
    for i in range(80):
        (root / f"{i:03}.jpg").write_bytes(source)
        category = "1" if i % 2 else "2"
        entries.append(Image(f"{i:03}.jpg", (Detection(category, 0.9, (0.1, 0.1, 0.2, 0.2)),)))
    report = mdi.export(ResultsFile(tuple(entries)), "xmp", images=root, workers=2, threads=threads)
    assert report.counts["written"] == 80
    records = readers.exiftool_json(*sorted(root.glob("*.jpg")), args=("-XMP-lr:HierarchicalSubject",))
    assert [r["HierarchicalSubject"] for r in records] == ["MegaDetector|Person", "MegaDetector|Animal"] * 40


def test_a_failed_write_leaves_the_image_and_no_temporary_file(sample, monkeypatch):
    images, results = sample
    before = _snapshot(images)

    def disk_full(fd, mode):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fchmod", disk_full)  # every write fails after its data, before the rename
    report = mdi.export(results, "xmp", images=images, journal=images.parent / "j.jsonl")
    monkeypatch.undo()
    assert report.counts["skipped"] == 14
    assert report.problems[0].endswith("cannot read or write: No space left on device")
    assert _snapshot(images) == before  # no half-written image, no leftover temporary file
