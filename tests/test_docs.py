"""The documentation's promises: CONTRIBUTING's example runs; README and CI agree."""

import csv
import importlib.util
import re
from pathlib import Path

import megadetector_integrations as mdi
from megadetector_integrations.cli import main
from megadetector_integrations.sample import RESULTS

ROOT = Path(__file__).resolve().parent.parent


def code_blocks(markdown: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", markdown.read_text(), re.S)


def test_contributing_example_exporter_runs_through_mdi_export(tmp_path):
    source = next(b for b in code_blocks(ROOT / "CONTRIBUTING.md", "python") if "mdi_register_exporters" in b)
    assert len(source.strip().splitlines()) <= 30
    module_file = tmp_path / "mdi_csv.py"
    module_file.write_text(source)
    spec = importlib.util.spec_from_file_location("mdi_csv", module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mdi.register(module, "csv-example")
    try:
        out = tmp_path / "images.csv"
        assert main(["export", "csv", str(RESULTS), "--out", str(out), "--threshold", "0.5"]) == 0
        rows = list(csv.DictReader(out.open()))
        results = mdi.load(RESULTS)
        expected = [im.file for im in results.images if im.max_conf() >= 0.5]
        assert [r["file"] for r in rows] == expected and expected
    finally:
        mdi.unregister("csv-example")


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = code_blocks(ROOT / "README.md", "sh")
    demo, tests = blocks[0].strip(), blocks[1].strip()
    assert readme.index(demo) < 1500  # at the very top
    assert "mdi demo" in demo and "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text()
