"""megadetector-integrations: carry MegaDetector results into Timelapse,
eMammal, digiKam, sorted folders, Camtrap DP and more.

    import megadetector_integrations as mdi
    results = mdi.load("md_results.json")
    report = mdi.export(results, "folders", images="/data/traps", out="/data/sorted")

Names are imported on first use, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    # notebook API
    "load": "api", "validate": "api", "write": "api", "export": "api",
    "subset": "filters", "split": "splitting", "merge": "merging",
    # model
    "ResultsFile": "model", "Image": "model", "Detection": "model", "Info": "model",
    # plugin API
    "hookimpl": "hookspecs", "Exporter": "registry", "Filter": "registry", "Report": "registry",
    "register": "plugins", "unregister": "plugins",
    # errors
    "MdiError": "errors", "ResultsError": "errors", "Problem": "errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
