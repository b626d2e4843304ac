"""Helpers for the options classes of filters and exporters: validators whose
messages reach the user as they are."""

from __future__ import annotations

from typing import Any, Optional

import attrs


class OptionError(ValueError):
    """A bad option value; its message is shown to the user as it is."""


def flag(name: str) -> str:
    """The command-line flag of an options field: ``max_count`` → ``--max-count``."""
    return "--" + name.replace("_", "-")


def unit_interval(instance: Any, attribute: attrs.Attribute, value: Optional[float]) -> None:
    """attrs validator: ``None`` or a number in [0, 1]."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise OptionError(f"{flag(attribute.name)} must be between 0 and 1, got {value}")


def non_negative(instance: Any, attribute: attrs.Attribute, value: Optional[int]) -> None:
    """attrs validator: ``None`` or a number >= 0."""
    if value is not None and value < 0:
        raise OptionError(f"{flag(attribute.name)} must be 0 or more, got {value}")
