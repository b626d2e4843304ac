"""Fixtures for the folder sorter's tests (helpers live in folders_testkit.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pytest's importlib mode does not add it

from folders_testkit import Scene  # noqa: E402


@pytest.fixture
def scene(tmp_path) -> Scene:
    return Scene(tmp_path)
