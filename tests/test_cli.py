"""The `mdi` command: help, version, demo."""

import subprocess
import sys

import megadetector_integrations as mdi
from megadetector_integrations import plugins
from megadetector_integrations.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"mdi {mdi.__version__}"


def test_help_lists_commands_and_examples(capsys):
    try:
        main(["--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    for word in ("plugins", "validate", "export", "convert", "demo", "examples:"):
        assert word in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: mdi" in capsys.readouterr().out


def test_importing_the_package_is_light():
    code = ("import sys, megadetector_integrations as m; "
            "print(','.join(x for x in ('msgspec', 'orjson', 'attrs', 'cattrs', 'pluggy') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_demo_runs_every_installed_exporter(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "14 images" in printed
    names = {e.name for e in plugins.exporters().values() if e.demo is not None}
    for name in names:
        assert f"== {name} ==" in printed
        assert (out / name).is_dir()
    assert main(["demo", str(out)]) == 0  # a re-run replaces its own earlier demo


def test_demo_refuses_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", str(tmp_path)]) == 1
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert "not an earlier demo folder" in capsys.readouterr().err


def test_the_executable_exits_with_the_status(tmp_path):
    from megadetector_integrations.sample import RESULTS

    run = lambda *args: subprocess.run([sys.executable, "-m", "megadetector_integrations", *args],
                                       capture_output=True, text=True)
    ok = run("validate", str(RESULTS))
    assert ok.returncode == 0 and "valid" in ok.stdout
    missing = run("validate", str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
