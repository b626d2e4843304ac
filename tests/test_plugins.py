"""Plugin discovery and the hooks, with plugins registered in-process."""

import json
from pathlib import Path
from typing import Literal, Mapping, Optional

import attrs
import pytest

import megadetector_integrations as mdi
from megadetector_integrations import plugins
from megadetector_integrations.cli import main
from megadetector_integrations.model import Detection, Image, ResultsFile


@pytest.fixture
def registered():
    """Register plugin objects for one test; unregister them afterwards."""
    names = []

    def register(plugin, name):
        names.append(mdi.register(plugin, name))
        return plugin

    yield register
    for name in names:
        mdi.unregister(name)


@attrs.frozen
class EchoOptions:
    out: Path = attrs.field(metadata={"help": "where to write"})
    level: Literal["low", "high"] = attrs.field(default="low", metadata={"help": "how loud"})
    tags: tuple[str, ...] = attrs.field(default=(), metadata={"help": "tags to add"})
    mapping: Mapping[str, str] = attrs.field(factory=dict, metadata={"help": "renames"})
    limit: Optional[int] = attrs.field(default=None, metadata={"help": "at most this many"})
    loud: bool = attrs.field(default=False, metadata={"help": "shout"})
    ratio: float = attrs.field(default=0.5, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.le(1.0)), metadata={"help": "a share"})


def echo(results, options):
    options.out.write_text(json.dumps({
        "images": len(results.images), "level": options.level, "tags": list(options.tags),
        "mapping": dict(options.mapping), "limit": options.limit, "loud": options.loud, "ratio": options.ratio,
    }))
    return mdi.Report("echo", "done", counts={"images": len(results.images)}, outputs=(str(options.out),))


class EchoPlugin:
    @mdi.hookimpl
    def mdi_register_exporters(self):
        return [mdi.Exporter("echo", EchoOptions, echo, help="echo the options", aliases=("say",))]


def test_registered_exporter_runs_through_the_cli(registered, tmp_path, capsys):
    registered(EchoPlugin(), "echo")
    out = tmp_path / "o.json"
    from megadetector_integrations.sample import RESULTS

    status = main(["export", "say", str(RESULTS), "--out", str(out), "--level", "high",
                   "--tags", "a", "b", "--tags", "c", "--mapping", "animal=Unknown Animal",
                   "--mapping", "person = Homo sapiens", "--limit", "3", "--loud", "--ratio", "0.25"])
    assert status == 0
    assert json.loads(out.read_text()) == {
        "images": 14, "level": "high", "tags": ["a", "b", "c"],
        "mapping": {"animal": "Unknown Animal", "person": "Homo sapiens"}, "limit": 3, "loud": True, "ratio": 0.25,
    }
    assert "echo: done" in capsys.readouterr().out


def test_exporter_defaults_and_notebook_api(registered, tmp_path):
    registered(EchoPlugin(), "echo")
    from megadetector_integrations.sample import RESULTS

    report = mdi.export(RESULTS, "echo", out=tmp_path / "o.json")
    assert report.counts == {"images": 14}
    assert json.loads((tmp_path / "o.json").read_text())["level"] == "low"


@pytest.mark.parametrize("args, message", [
    (["--level", "medium"], "invalid choice: 'medium'"),
    (["--ratio", "1.5"], "ratio"),
    (["--limit", "many"], "limit"),
    (["--mapping", "novalue"], "expected KEY=VALUE"),
])
def test_bad_options_are_clear_errors(registered, tmp_path, capsys, args, message):
    registered(EchoPlugin(), "echo")
    from megadetector_integrations.sample import RESULTS

    with pytest.raises(SystemExit) if message.startswith(("invalid choice", "expected")) else _no_raise():
        status = main(["export", "echo", str(RESULTS), "--out", str(tmp_path / "o.json"), *args])
        assert status == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o.json").exists()


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_exporter_help_lists_its_options(registered, capsys):
    registered(EchoPlugin(), "echo")
    assert main(["export", "echo", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--out", "--level {low,high}", "--tags", "--mapping KEY=VALUE", "--loud, --no-loud", "(default: 0.5)"):
        assert flag in out


def test_missing_integration_names_the_package(capsys, monkeypatch):
    monkeypatch.setattr(plugins, "exporters", lambda: {})  # as if only the host were installed
    assert main(["export", "xmp", "results.json"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "mdi: error: the 'xmp' exporter is not installed: pip install megadetector-integrations-digikam"


def test_unknown_target_lists_installed(capsys):
    assert main(["export", "nonesuch", "results.json"]) == 1
    assert "unknown export target 'nonesuch'" in capsys.readouterr().err


def test_plugins_command_lists_each_plugin(registered, capsys):
    registered(EchoPlugin(), "echo")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "builtin" in out and "loader" in out
    assert "echo" in out and "exporter echo" in out and "(in-process)" in out


class TsvLoader:
    """Loads a tab-separated 'file<TAB>conf' format: a plugin input format."""

    @mdi.hookimpl
    def mdi_load(self, path, data):
        if not data.startswith(b"#tsv\n"):
            return None
        images = []
        for line in data.decode().splitlines()[1:]:
            file, conf = line.split("\t")
            images.append(Image(file, (Detection("1", float(conf), (0.1, 0.1, 0.2, 0.2)),)))
        return ResultsFile(images=tuple(images))


def test_loader_plugin_comes_before_the_builtin_reader(registered, tmp_path, sample_doc):
    registered(TsvLoader(), "tsv")
    tsv = tmp_path / "r.txt"
    tsv.write_text("#tsv\na/1.jpg\t0.9\na/2.jpg\t0.1\n")
    rf = mdi.load(tsv)
    assert [im.file for im in rf.images] == ["a/1.jpg", "a/2.jpg"]
    md = tmp_path / "md.json"
    md.write_text(json.dumps(sample_doc))
    assert len(mdi.load(md).images) == 14  # other content still reaches the host reader
    assert main(["validate", str(tsv)]) == 0


def test_convert_writes_megadetector_format_from_a_plugin_format(registered, tmp_path):
    registered(TsvLoader(), "tsv")
    tsv = tmp_path / "r.txt"
    tsv.write_text("#tsv\na/1.jpg\t0.9\n")
    out = tmp_path / "out.json"
    assert main(["convert", str(tsv), "-o", str(out)]) == 0
    assert mdi.validate(out) == []
    assert main(["convert", str(tsv), "-o", str(out)]) == 1  # refuses to overwrite
    assert main(["convert", str(tsv), "-o", str(out), "--overwrite"]) == 0


class CommandPlugin:
    @mdi.hookimpl
    def mdi_register_commands(self, subparsers):
        p = subparsers.add_parser("hello", help="say hello")
        p.add_argument("--name", default="world")
        p.set_defaults(run=lambda args: print(f"hello {args.name}") or 3)


def test_command_plugin_adds_a_subcommand(registered, capsys):
    registered(CommandPlugin(), "hello")
    assert main(["hello", "--name", "deer"]) == 3
    assert capsys.readouterr().out == "hello deer\n"


def test_registering_twice_is_an_error(registered):
    registered(EchoPlugin(), "echo")
    with pytest.raises(mdi.MdiError):
        mdi.register(EchoPlugin(), "echo")
