"""Command-line options from attrs options classes.

Each field of a filter's or exporter's options class becomes an option:
``images`` → ``--images``; ``metadata={"help": ...}`` is its help text. Types
decide the form: ``bool`` → ``--x/--no-x``; ``Literal`` → choices;
``tuple[X, ...]`` → one or more values; ``Mapping[str, X]`` → repeated
``KEY=VALUE``. Conversion of the values is left to the cattrs converter.
"""

from __future__ import annotations

import argparse
import collections.abc
import typing
from typing import Any, Literal, Union

import attrs


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) is Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def option_name(field: attrs.Attribute) -> str:
    return field.metadata.get("flag", "--" + field.name.replace("_", "-"))


def add_options(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """Add one option per field of ``cls`` to ``parser``."""
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        if field.name in skip or field.metadata.get("cli") is False:
            continue
        tp = _unwrap_optional(hints[field.name])
        origin = typing.get_origin(tp)
        required = field.default is attrs.NOTHING
        default = None if required or isinstance(field.default, attrs.Factory) else field.default
        text = field.metadata.get("help", "")
        if default not in (None, (), {}) and tp is not bool:
            text += f" (default: {default})"
        kw: dict = {"dest": field.name, "help": text, "default": argparse.SUPPRESS}
        names = [option_name(field), *field.metadata.get("aliases", ())]
        if tp is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif origin is Literal:
            kw["choices"] = typing.get_args(tp)
        elif origin in (tuple, list):
            kw.update(nargs="+", action="extend", metavar=field.metadata.get("metavar", "VALUE"))
        elif origin in (dict, collections.abc.Mapping):
            kw.update(action="append", type=_key_value, metavar=field.metadata.get("metavar", "KEY=VALUE"))
        else:
            kw["metavar"] = field.metadata.get("metavar", field.name.upper())
        if required:
            kw["required"] = True
        parser.add_argument(*names, **kw)


def options_values(cls: type, namespace: argparse.Namespace) -> dict:
    """The values the user gave for ``cls``'s fields (defaults left to the class)."""
    values = {}
    for field in attrs.fields(cls):
        if hasattr(namespace, field.name):
            value = getattr(namespace, field.name)
            if isinstance(value, list) and value and isinstance(value[0], tuple):
                value = dict(value)  # KEY=VALUE pairs
            values[field.name] = value
    return values


def add_loader_options(parser: argparse.ArgumentParser) -> None:
    """The installed loaders' options (e.g. ``--base-folder``), as one group."""
    from .api import loader_options_classes

    classes = loader_options_classes()
    if classes:
        group = parser.add_argument_group("input options (from loader plugins)")
        for cls in classes:
            add_options(group, cls)


def loader_values(namespace: argparse.Namespace) -> dict:
    """The loader options the user gave, for ``api.load(path, **values)``."""
    from .api import loader_options_classes

    values: dict = {}
    for cls in loader_options_classes():
        values.update(options_values(cls, namespace))
    return values
