"""Helpers for the test suites of the host and of plugins (public API)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: Set by ``.ci/run``: a missing external tool fails the test instead of skipping it.
REQUIRE_TOOLS = os.environ.get("MDI_REQUIRE_TOOLS") == "1"


def require_tool(*names: str) -> str:
    """Path of the first of ``names`` on PATH; skip the test (fail in CI) when none is."""
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for d in ("/usr/sbin", "/usr/local/sbin") if (p := Path(d) / name).exists()), None
        )
        if found:
            return found
    message = f"{' or '.join(names)} not installed (CI installs it: see .ci/run)"
    if REQUIRE_TOOLS:
        pytest.fail(message)
    pytest.skip(message)


def copy_sample(dest: Path) -> tuple[Path, Path]:
    """Copy the bundled sample into ``dest``: returns ``(images_root, results_path)``."""
    from .sample import IMAGES, RESULTS

    images = dest / "images"
    shutil.copytree(IMAGES, images)
    results = dest / "md_results.json"
    shutil.copyfile(RESULTS, results)
    return images, results
