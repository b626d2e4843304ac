"""`mdi emammal projects|deployments|taxa|verify` against a real MariaDB server."""

from __future__ import annotations

from megadetector_integrations.cli import main


def run(capsys, *argv) -> tuple[int, list[list[str]], str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, [line.split("  ") for line in captured.out.splitlines()], captured.err


def cells(rows) -> list[list[str]]:
    return [[c.strip() for c in row if c.strip()] for row in rows]


def test_projects(wild_id, capsys):
    status, rows, _ = run(capsys, "emammal", "projects", "--db", wild_id.url)
    assert status == 0
    assert cells(rows) == [["project_id", "name"], ["1", "Mammals of the Blue Ridge"], ["2", "Urban Wildlife"]]


def test_deployments_by_project_id_or_name(wild_id, make_results, capsys):
    main(["export", "emammal", make_results({"site_a/cam_2/IMG_0003.JPG": []}), "--deployment", "11",
          *wild_id.args()])
    capsys.readouterr()
    status, rows, _ = run(capsys, "emammal", "deployments", "--project", "1", "--db", wild_id.url)
    assert status == 0
    assert cells(rows)[1:] == [
        ["10", "site_a cam_1", "5", "Spring 2024", "9", "5", "0"],
        ["11", "site_a cam_2", "5", "Spring 2024", "3", "2", "1"],
        ["12", "not loaded yet", "5", "Spring 2024", "0", "0", "0"],
    ]
    status, rows, _ = run(capsys, "emammal", "deployments", "--project", "urban wildlife", "--db", wild_id.url)
    assert [row[0] for row in cells(rows)[1:]] == ["20"]


def test_taxa(wild_id, capsys):
    status, rows, _ = run(capsys, "emammal", "taxa", "--project", "2", "--db", wild_id.url)
    assert status == 0
    assert cells(rows) == [["project_taxa_id", "species", "common_name"], ["51", "Procyon lotor", "Raccoon"],
                           ["52", "No Animal"]]


def test_verify_lists_each_image_with_its_taxa(wild_id, make_results, capsys):
    results = make_results({
        "site_a/cam_2/IMG_0001.JPG": [("1", 0.9), ("1", 0.9), ("2", 0.8)],
        "site_a/cam_2/IMG_0002.JPG": [],
    })
    assert main(["export", "emammal", results, "--deployment", "11", *wild_id.args()]) == 0
    capsys.readouterr()
    assert main(["emammal", "verify", "--deployment", "11", "--db", wild_id.url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "cam_2_IMG_0001.JPG - Human x1, Unknown Animal x2",
        "cam_2_IMG_0002.JPG - Human x1, Unknown Animal x2",
        "cam_2_IMG_0003.JPG - (no annotation)",
        "deployment 11 'site_a cam_2': 2 of 3 images annotated",
    ]


def test_unknown_project_and_deployment_are_clear_errors(wild_id, capsys):
    status, _, err = run(capsys, "emammal", "taxa", "--project", "Birds", "--db", wild_id.url)
    assert status == 1 and "no eMammal project 'Birds'" in err and "mdi emammal projects" in err
    status, _, err = run(capsys, "emammal", "verify", "--deployment", "77", "--db", wild_id.url)
    assert status == 1 and "no deployment 77" in err


def test_wrong_password(wild_id, capsys, monkeypatch):
    monkeypatch.setenv("MDI_EMAMMAL_PASSWORD", "not it")
    status, _, err = run(capsys, "emammal", "projects", "--db", wild_id.url)
    assert status == 1 and "access denied" in err and "Traceback" not in err



def test_password_prompt_on_a_terminal_is_not_echoed(wild_id, monkeypatch):
    import os
    import pty
    import sys

    monkeypatch.delenv("MDI_EMAMMAL_PASSWORD")
    pid, fd = pty.fork()  # the child gets the pseudo-terminal as its controlling terminal
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-m", "megadetector_integrations",
                                  "emammal", "projects", "--db", wild_id.url])
    seen = _read_terminal(fd, until=b"password for")
    os.write(fd, wild_id.password.encode() + b"\n")
    seen += _read_terminal(fd)
    _, status = os.waitpid(pid, 0)
    text = seen.decode()
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "password for database '" + wild_id.name + "' as 'emammal'" in text
    assert "Mammals of the Blue Ridge" in text and wild_id.password not in text


def _read_terminal(fd: int, until: bytes | None = None, timeout: float = 30) -> bytes:
    """What a pseudo-terminal shows, up to ``until`` or until the child closes it."""
    import os
    import select

    seen = b""
    while until is None or until not in seen:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"no output for {timeout} s after {seen!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            assert until is None, f"the child ended before {until!r}: {seen!r}"
            break
        seen += chunk
    return seen
