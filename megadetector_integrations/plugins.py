"""Plugin discovery: one pluggy manager, fed by the entry-point group.

Third-party packages declare, in their ``pyproject.toml``::

    [project.entry-points.megadetector_integrations]
    myexporter = "my_package_module"

Tests and notebooks can register a module or object in-process with
``register(obj)``. The host's own hooks (its MegaDetector reader and built-in
filters) are registered the same way, so they are listed by ``mdi plugins``.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable

import pluggy

from . import hookspecs
from .errors import MdiError, PluginMissingError

#: Which distribution provides a well-known target, for the "please install" message.
KNOWN_TARGETS = {
    "folders": "megadetector-integrations-folders",
    "digikam": "megadetector-integrations-digikam",
    "xmp": "megadetector-integrations-digikam",
    "timelapse": "megadetector-integrations-timelapse",
    "emammal": "megadetector-integrations-emammal",
    "camtrapdp": "megadetector-integrations-camtrapdp",
    "speciesnet": "megadetector-integrations-speciesnet",
}


@functools.lru_cache(maxsize=None)
def manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, loading entry points on first use."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    from . import builtin

    pm.register(builtin, name="builtin")
    pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    return pm


def register(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object or module in-process (tests, notebooks)."""
    try:
        registered = manager().register(plugin, name=name)
    except ValueError as exc:  # the name is taken
        raise MdiError(str(exc)) from None
    if registered is None:
        raise MdiError(f"plugin {name or plugin!r} is already registered")
    return registered


def unregister(name: str) -> None:
    manager().unregister(name=name)


def _collect(results: Iterable[Iterable[Any] | None]) -> list:
    return [item for group in results if group for item in group]


def exporters() -> dict:
    """Installed exporters by name and alias."""
    found: dict = {}
    for exp in _collect(manager().hook.mdi_register_exporters()):
        for name in (exp.name, *exp.aliases):
            found.setdefault(name, exp)
    return found


def filters() -> list:
    """Installed filters, in the order they apply."""
    return sorted(_collect(manager().hook.mdi_register_filters()), key=lambda f: f.order)


def get_exporter(name: str):
    found = exporters()
    if name in found:
        return found[name]
    if name in KNOWN_TARGETS:
        raise PluginMissingError(
            f"the '{name}' exporter is not installed: pip install {KNOWN_TARGETS[name]}"
        )
    names = ", ".join(sorted(found)) or "none"
    raise MdiError(f"unknown export target '{name}' (installed: {names}); `mdi plugins` lists them")


def describe() -> list[dict]:
    """Each registered plugin: name, distribution and version, and what it provides."""
    pm = manager()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        if dist is not None:
            distribution, version = dist.project_name, dist.version
        elif name == "builtin":
            distribution, version = "megadetector-integrations", _host_version()
        else:
            distribution, version = "(in-process)", ""
        provides = []
        for hook in ("mdi_register_exporters", "mdi_register_filters"):
            impl = getattr(plugin, hook, None)
            if impl:
                provides += [f"{hook.split('_')[-1][:-1]} {x.name}" for x in (impl() or ())]
        for hook in ("mdi_load", "mdi_register_commands"):
            if getattr(plugin, hook, None):
                provides.append({"mdi_load": "loader", "mdi_register_commands": "commands"}[hook])
        rows.append({
            "name": name,
            "distribution": distribution,
            "version": version,
            "provides": provides,
        })
    return rows


def _host_version() -> str:
    from . import __version__

    return __version__
