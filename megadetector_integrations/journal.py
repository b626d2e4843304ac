"""Run journals: one JSON object per line, written as each action happens.

Commands that touch files (sorting, tagging) record every action, so a run can
be undone exactly and an interrupted run resumed. A line is written and
flushed before the next action starts; a torn last line (a crash mid-write) is
ignored when reading.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator


class Journal:
    """Append-only JSON-lines journal. Use as a context manager."""

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        self._fh = None

    def __enter__(self) -> "Journal":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")
        return self

    def write(self, **record: Any) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()

    def __exit__(self, *exc) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


def read_journal(path: os.PathLike | str) -> Iterator[dict]:
    """The records of a journal, oldest first; a torn final line is skipped."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                return
            yield json.loads(line)
