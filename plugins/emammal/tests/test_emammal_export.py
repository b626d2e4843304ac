"""`mdi export emammal` against a real MariaDB server (see conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from megadetector_integrations.cli import main

CAM_1 = "site_a/cam_1/"
#: Deployment 10's results: sequence 100 (two animals in one image, a person in
#: another), 101 (only a detection below threshold), 102 (a vehicle), 103 (one
#: image failed, one empty), 104 (no result), and one entry eMammal lacks.
BASE = {
    CAM_1 + "IMG_0001.JPG": [("1", 0.9), ("1", 0.8)],
    CAM_1 + "IMG_0002.JPG": [("1", 0.95), ("2", 0.7)],
    CAM_1 + "IMG_0003.JPG": [],
    CAM_1 + "IMG_0004.JPG": [],
    CAM_1 + "IMG_0005.JPG": [("1", 0.1)],
    CAM_1 + "IMG_0006.JPG": [("3", 0.5)],
    CAM_1 + "IMG_0007.JPG": "Failure image access",
    CAM_1 + "IMG_0008.JPG": [],
    CAM_1 + "IMG_0999.JPG": [("1", 0.9)],
}
# (sequence_id, project_taxa_id, total_count); taxa: 1 No Animal, 2 Unknown Animal, 3 Homo sapiens, 4 Vehicle
BASE_ROWS = [(100, 2, 2), (100, 3, 1), (101, 1, 1), (102, 4, 1)]


def export(wild_id, results, *args) -> int:
    return main(["export", "emammal", results, "--deployment", "10", *wild_id.args(*args)])


def test_one_decision_per_sequence_and_every_leftover_reported(wild_id, make_results, capsys):
    assert export(wild_id, make_results(BASE)) == 0
    assert wild_id.annotations() == BASE_ROWS
    out = capsys.readouterr().out
    assert "inserted 4 annotation row(s) for 3 sequence(s)" in out
    assert f"{CAM_1}IMG_0999.JPG: matches no image of deployment 10" in out
    assert "IMG_0009.JPG: image of deployment 10 has no result" in out
    assert f"{CAM_1}IMG_0007.JPG: failed in MegaDetector" in out
    assert "sequence 103: no detection, but 1 image(s) failed; not marked blank" in out


@pytest.mark.parametrize("file_threshold, args, rows", [
    (0.2, ["--threshold", "0.85"], [(100, 2, 1), (101, 1, 1), (102, 1, 1)]),
    (0.75, [], [(100, 2, 2), (101, 1, 1), (102, 1, 1)]),  # default from detector_metadata
    (0.05, [], [(100, 2, 2), (100, 3, 1), (101, 2, 1), (102, 4, 1)]),
])
def test_threshold_from_option_or_results_file(wild_id, make_results, file_threshold, args, rows):
    assert export(wild_id, make_results(BASE, threshold=file_threshold), *args) == 0
    assert wild_id.annotations() == rows


def test_parent_folder_raw_names(wild_id, make_results):
    results = make_results({
        "site_a/cam_2/IMG_0001.JPG": [("2", 0.9)],
        "site_a/cam_2/IMG_0002.JPG": [("2", 0.8), ("2", 0.6)],
        "site_a/cam_2/IMG_0003.JPG": [],
    })
    assert main(["export", "emammal", results, "--deployment", "11", *wild_id.args()]) == 0
    assert wild_id.annotations() == [(200, 3, 2), (201, 1, 1)]


def test_folder_picks_the_camera_when_file_names_repeat(wild_id, make_results, capsys):
    images = {**BASE, **{f.replace("cam_1", "cam_9"): [("2", 0.9)] for f in BASE}}
    results = make_results(images)
    assert export(wild_id, results) == 0  # every file name is claimed twice: nothing usable
    assert wild_id.annotations() == []
    assert "all match image IMG_0001.JPG; none used (pick the camera with --folder)" in capsys.readouterr().out
    assert export(wild_id, results, "--folder", "site_a/cam_1") == 0
    assert wild_id.annotations() == BASE_ROWS


def test_rerun_adds_nothing_and_schema_is_never_altered(wild_id, make_results, capsys):
    schema = wild_id.schema()
    results = make_results(BASE)
    assert export(wild_id, results) == 0
    assert export(wild_id, results) == 0
    assert wild_id.annotations() == BASE_ROWS
    out = capsys.readouterr().out
    assert "inserted 0 annotation row(s)" in out and "sequences unchanged" in out
    assert wild_id.schema() == schema


def test_dry_run_prints_rows_and_writes_nothing(wild_id, make_results, capsys):
    assert export(wild_id, make_results(BASE), "--dry-run") == 0
    assert wild_id.annotations() == []
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    printed = [(int(s), int(t), int(c)) for action, s, t, c, *_ in (x for x in lines if x[:1] == ["insert"])]
    assert printed == BASE_ROWS
    assert not wild_id.record.exists()


def test_replace_changes_only_what_mdi_wrote(wild_id, make_results, capsys):
    assert export(wild_id, make_results(BASE)) == 0
    made_in_emammal = [(103, 6, 1), (101, 7, 1)]  # a coyote and a squirrel, typed in eMammal
    for row in made_in_emammal:
        wild_id.query("INSERT INTO emammal_sequence_annotation (sequence_id, project_taxa_id, total_count) "
                      "VALUES (%s, %s, %s)", row)
    stricter = make_results(BASE, name="stricter.json")
    assert export(wild_id, stricter, "--threshold", "0.85") == 0
    assert wild_id.annotations() == sorted(BASE_ROWS + made_in_emammal)
    assert "sequence 100: already annotated differently (--replace" in capsys.readouterr().out

    assert export(wild_id, stricter, "--threshold", "0.85", "--replace") == 0
    assert wild_id.annotations() == [(100, 2, 1), (101, 1, 1), (101, 7, 1), (102, 1, 1), (103, 6, 1)]
    assert "sequence 101: has annotations made in eMammal; left as they are" in capsys.readouterr().out
    assert export(wild_id, make_results(BASE, name="again.json"), "--replace") == 0  # back again
    assert wild_id.annotations() == sorted(BASE_ROWS + made_in_emammal)


def test_species_from_classifications(wild_id, make_results, capsys):
    classes = {"1": "whitetail", "2": "coyote", "3": "gray fox", "4": "squirrel"}
    descriptions = {"1": "5c7c;mammalia;cetartiodactyla;cervidae;odocoileus;virginianus;white-tailed deer"}
    results = make_results({
        CAM_1 + "IMG_0001.JPG": [("1", 0.9, [("1", 0.8)]), ("1", 0.9, [("1", 0.7)])],
        CAM_1 + "IMG_0002.JPG": [("1", 0.9, [("2", 0.9), ("1", 0.05)]), ("1", 0.9, [("3", 0.6)])],
        CAM_1 + "IMG_0003.JPG": [("1", 0.5, [("1", 0.3)])],  # classification below 0.5: Unknown Animal
        CAM_1 + "IMG_0006.JPG": [("1", 0.9, [("4", 0.9)])],
    }, classes=classes, descriptions=descriptions)
    args = ["--species", "--species-map", "squirrel=Eastern Gray Squirrel"]
    assert export(wild_id, results, *args) == 0
    assert wild_id.annotations() == [(100, 2, 1), (100, 5, 2), (100, 6, 1), (102, 7, 1)]
    assert "classification 'gray fox': no project taxon; 1 detection(s)" in capsys.readouterr().out


def test_map_categories_to_other_taxa(wild_id, make_results):
    args = ["--map", "animal=white-tailed deer", "--map", "person=Unknown Animal", "--map", "blank=1"]
    assert export(wild_id, make_results(BASE), *args) == 0
    assert wild_id.annotations() == [(100, 2, 1), (100, 5, 2), (101, 1, 1), (102, 4, 1)]


def test_unmapped_category_is_reported_and_never_blank(wild_id, make_results, capsys):
    wild_id.query("DELETE FROM emammal_project_taxa WHERE species = 'Vehicle'")
    assert export(wild_id, make_results(BASE)) == 0
    assert wild_id.annotations() == [(100, 2, 2), (100, 3, 1), (101, 1, 1)]
    out = capsys.readouterr().out
    assert "category 'vehicle': no taxon 'Vehicle' in the project; add --map vehicle=TAXON" in out
    assert "sequence 102: only detections of unmapped categories" in out


@pytest.mark.parametrize("setup, args, message", [
    (None, ["--map", "animal=Unicorn"], "--map animal: the project has no taxon 'Unicorn'"),
    (None, ["--map", "bird=Unknown Animal"], "the results have no detection category 'bird'"),
    (None, ["--species", "--species-map", "wolf=Canis lupus"], "the results have no classification 'wolf'"),
    (None, ["--threshold", "1.5"], "'threshold' must be <= 1.0"),
    ("password", [], "access denied to the eMammal database"),
    ("deployment 99", [], "no deployment 99 in the eMammal database"),
    ("deployment 12", [], "deployment 12 'not loaded yet' has no images"),
    ("deployment 20", [], "none of the result entries match an image of deployment 20 'park cam'"),
    ("unreachable", [], "cannot reach the eMammal database"),
])
def test_mistakes_give_a_clear_error_and_write_nothing(wild_id, make_results, capsys, monkeypatch,
                                                       setup, args, message):
    deployment = "10"
    if setup == "password":
        monkeypatch.setenv("MDI_EMAMMAL_PASSWORD", "wrong")
    elif setup and setup.startswith("deployment"):
        deployment = setup.split()[1]
    elif setup == "unreachable":
        from megadetector_integrations_emammal.server import free_port

        args = ["--port", str(free_port())]
    command = ["export", "emammal", make_results(BASE), *wild_id.args(*args), "--deployment", deployment]
    assert main(command) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert wild_id.annotations() == []


def test_failure_in_mid_write_rolls_everything_back(wild_id, make_results, capsys):
    assert export(wild_id, make_results(BASE)) == 0
    wild_id.query("CREATE TRIGGER refuse BEFORE INSERT ON emammal_sequence_annotation FOR EACH ROW "
                  "IF NEW.sequence_id = 102 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'disk full'; END IF")
    # --replace first deletes mdi's earlier rows, then the insert fails on the server
    assert export(wild_id, make_results(BASE, name="b.json"), "--threshold", "0.85", "--replace") == 1
    err = capsys.readouterr().err
    assert "disk full" in err and "rolled back and nothing was written" in err
    assert wild_id.annotations() == BASE_ROWS


def test_killed_connection_leaves_the_database_unchanged(wild_id, make_results, capsys):
    assert export(wild_id, make_results(BASE)) == 0
    wild_id.query("CREATE TRIGGER stall BEFORE INSERT ON emammal_sequence_annotation FOR EACH ROW "
                  "SET @slept = SLEEP(30)")  # the first row stalls the INSERT
    command = [sys.executable, "-m", "megadetector_integrations", "export", "emammal",
               make_results(BASE, name="b.json"), "--deployment", "10", "--threshold", "0.85", "--replace",
               *wild_id.args()]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    deadline = time.monotonic() + 30
    while not (ids := wild_id.query("SELECT ID FROM information_schema.PROCESSLIST "
                                    "WHERE DB = %s AND STATE = 'User sleep'", (wild_id.name,))):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    wild_id.query(f"KILL CONNECTION {ids[0][0]}")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert "nothing was written" in err and "Traceback" not in err
    assert wild_id.annotations() == BASE_ROWS


def test_demo_on_the_bundled_sample(tmp_path):
    import pymysql

    from megadetector_integrations.api import load
    from megadetector_integrations.plugins import get_exporter
    from megadetector_integrations.testing import copy_sample, require_tool

    require_tool("mariadbd", "mysqld")
    images, results = copy_sample(tmp_path)
    exporter = get_exporter("emammal")
    options = exporter.demo(images, tmp_path / "out")
    report = exporter.run(load(results), options)
    assert report.counts["outside --folder"] == 6 and report.counts["rows inserted"] == 6
    socket = options.db.split("unix_socket=")[1]
    with pymysql.connect(unix_socket=socket, user="root", database="wild_id") as conn, conn.cursor() as cur:
        cur.execute("SELECT sequence_id, project_taxa_id, total_count FROM emammal_sequence_annotation")
        rows = sorted(cur.fetchall())
    # 5 Odocoileus virginianus and 6 Canis latrans come from the classifications' taxonomy strings
    assert rows == [(100, 5, 2), (101, 3, 1), (102, 3, 1), (102, 4, 1), (102, 6, 1), (103, 1, 1)]
