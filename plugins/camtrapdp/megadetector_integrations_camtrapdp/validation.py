"""Offline Camtrap DP validation with the schemas shipped in ``schemas/``.

``frictionless validate datapackage.json`` would download the profile and the
table schemas named in the package (and the profile's own ``$ref``s). Here:

1. the descriptor is checked with ``jsonschema`` against the local profile; its
   two remote ``$ref``s are served from a local registry: the Frictionless Data
   Package schema by frictionless' own ``Package.metadata_profile`` and the
   GeoJSON schema by the copy frictionless ships (``settings.GEOJSON_PROFILE``);
2. frictionless validates the tables (types, formats, required, enums,
   patterns, unique and primary keys, foreign keys) of a copy of the descriptor
   in which each schema URL is replaced by the local table schema and the
   (already checked) remote profile URL is removed.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

VERSION = "1.0.2"
BASE_URL = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}"
PROFILE_URL = f"{BASE_URL}/camtrap-dp-profile.json"
SCHEMA_URLS = {name: f"{BASE_URL}/{name}-table-schema.json" for name in ("deployments", "media", "observations")}
DATA_PACKAGE_URL = "https://specs.frictionlessdata.io/schemas/data-package.json"
GEOJSON_URL = "http://json.schemastore.org/geojson.json"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


@functools.lru_cache(maxsize=None)
def _load(filename: str) -> str:
    return (SCHEMA_DIR / filename).read_text(encoding="utf-8")


def load_schema(table: str) -> dict:
    """A fresh copy of the bundled table schema (``deployments``, ``media``, ``observations``)."""
    return json.loads(_load(f"{table}-table-schema.json"))


def load_profile() -> dict:
    return json.loads(_load("camtrap-dp-profile.json"))


def profile_problems(descriptor: dict) -> list[str]:
    """``datapackage.json`` against the Camtrap DP profile, offline."""
    import jsonschema
    from frictionless import Package, settings
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    registry = Registry().with_resources([
        (DATA_PACKAGE_URL, Resource.from_contents(Package.metadata_profile, default_specification=DRAFT4)),
        (GEOJSON_URL, Resource.from_contents(settings.GEOJSON_PROFILE, default_specification=DRAFT4)),
    ])
    validator = jsonschema.Draft4Validator(load_profile(), registry=registry,
                                           format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    problems = []
    for error in sorted(validator.iter_errors(descriptor), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(map(str, error.absolute_path)) or "(package)"
        problems.append(f"datapackage.json: {where}: {error.message}")
    return problems


def table_problems(folder: Path, descriptor: dict) -> list[str]:
    """Each Camtrap DP table against its bundled schema, with keys across tables."""
    from frictionless import Package

    local = copy.deepcopy(descriptor)
    local.pop("profile", None)
    for resource in local.get("resources", []):
        if resource.get("name") in SCHEMA_URLS:
            resource["schema"] = load_schema(resource["name"])
    report = Package.from_descriptor(local, basepath=str(folder)).validate()
    problems = []
    for task in report.tasks:
        for error in task.errors:
            row = f" row {error.row_number}" if getattr(error, "row_number", None) else ""
            field = f" field {error.field_name}" if getattr(error, "field_name", None) else ""
            problems.append(f"{task.name}:{row}{field}: {error.type}: {error.note}")
    problems += [f"package: {error.type}: {error.note}" for error in report.errors]
    return problems


def validate_package(path: Path) -> list[str]:
    """Every problem of a Camtrap DP package folder (empty when it is valid)."""
    path = Path(path)
    folder = path.parent if path.name == "datapackage.json" else path
    try:
        descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{folder}: no datapackage.json"]
    except ValueError as exc:
        return [f"{folder / 'datapackage.json'}: not JSON ({exc})"]
    problems = profile_problems(descriptor)
    if isinstance(descriptor, dict) and isinstance(descriptor.get("resources"), list):
        problems += table_problems(folder, descriptor)
    return problems
