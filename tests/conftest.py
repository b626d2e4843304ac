import json
from pathlib import Path

import pytest

from megadetector_integrations.sample import RESULTS


@pytest.fixture
def sample_doc() -> dict:
    """The bundled sample results as plain data (a fresh copy per test)."""
    return json.loads(RESULTS.read_text())


@pytest.fixture
def write_doc(tmp_path):
    """Write a plain-data document (or raw text) to a file and return its path."""

    def write(doc, name: str = "results.json") -> Path:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        return path

    return write
