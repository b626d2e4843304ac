"""The exceptions users see. The CLI turns them into one-line messages."""

from __future__ import annotations

from typing import Sequence

import attrs


class MdiError(Exception):
    """A user-facing problem: bad input, a missing file, a refused action.

    The CLI prints ``str(error)`` and exits 1; it never shows a traceback.
    """


class PluginMissingError(MdiError):
    """An integration was asked for but its distribution is not installed."""


@attrs.frozen(slots=True)
class Problem:
    """One finding of the validator, located precisely.

    ``severity`` is ``error`` (the file breaks the format), ``unsafe`` (a path
    that could escape the folder a user names) or ``warning``.
    """

    where: str
    message: str
    severity: str = "error"

    def format(self, source: str) -> str:
        tag = "" if self.severity == "error" else f"[{self.severity}] "
        return f"{source}: {tag}{self.where}: {self.message}"


class ResultsError(MdiError):
    """A results file could not be read: not JSON, or not a valid results file.

    This is the only exception ``load`` raises for broken input. ``problems``
    lists every problem found; ``source`` names the file.
    """

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.source = source
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"] or list(self.problems)
        shown = "\n".join(p.format(source) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{shown}{more}\nRun `mdi validate {source}` to list every problem.")
