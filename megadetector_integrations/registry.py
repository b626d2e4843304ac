"""What plugins register: filters, exporters and the reports they return."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import attrs

from .model import NO_EXTRA


@attrs.frozen(slots=True)
class Report:
    """What an exporter (or another command) did, for people and for tests.

    ``counts`` are named totals (e.g. images per folder); ``outputs`` the files
    or places written; ``problems`` what was skipped or refused, one line each.
    """

    target: str
    summary: str
    counts: Mapping[str, int] = NO_EXTRA
    outputs: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    dry_run: bool = False

    def format(self) -> str:
        lines = [("[dry run] " if self.dry_run else "") + f"{self.target}: {self.summary}"]
        if self.counts:
            width = max(map(len, self.counts))
            lines += [f"  {k:<{width}}  {v:>9,}" for k, v in self.counts.items()]
        if self.problems:
            lines.append(f"  {len(self.problems)} problem(s):")
            lines += [f"    {p}" for p in self.problems[:50]]
            if len(self.problems) > 50:
                lines.append(f"    ... and {len(self.problems) - 50} more")
        return "\n".join(lines)


@attrs.frozen(slots=True)
class Exporter:
    """An export target: ``mdi export NAME RESULTS [options]``.

    ``options`` is an attrs class; each field becomes a command-line option
    (``images`` → ``--images``), its ``metadata["help"]`` the help text.
    ``demo`` (optional) returns options for running on the bundled sample,
    given the sample's image folder and a fresh output folder.
    """

    name: str
    options: type
    run: Callable[[Any, Any], Report]
    help: str = ""
    aliases: tuple[str, ...] = ()
    demo: Optional[Callable[[Any, Any], Any]] = None


@attrs.frozen(slots=True)
class Filter:
    """A named results transformation, applied in ascending ``order``.

    ``options`` is an attrs class; ``applies(options)`` says whether the given
    options ask for this filter at all (most default to doing nothing).
    """

    name: str
    options: type
    apply: Callable[[Any, Any], Any]
    order: int = 100
    help: str = ""
    applies: Callable[[Any], bool] = lambda options: True
