"""Helpers for the folder sorter's tests: results documents, small trees, hashes."""

import hashlib
import json
import os
from pathlib import Path

import megadetector_integrations as mdi

CATEGORIES = {"1": "animal", "2": "person", "3": "vehicle"}


def det(category: str, conf: float, classifications=None, bbox=(0.1, 0.1, 0.5, 0.5)) -> dict:
    d = {"category": category, "conf": conf, "bbox": list(bbox)}
    if classifications is not None:
        d["classifications"] = [list(c) for c in classifications]
    return d


def results_doc(images: list, categories=None, classes=None, info=None) -> dict:
    doc = {"info": info or {"format_version": "1.4", "detector": "md_v5a.0.0.pt",
                            "detector_metadata": {"typical_detection_threshold": 0.2}},
           "detection_categories": categories or CATEGORIES, "images": images}
    if classes is not None:
        doc["classification_categories"] = classes
    return doc


def tree_hashes(root: Path) -> dict:
    """Relative path → SHA-256 of every file under ``root`` (links followed)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def all_paths(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


class Scene:
    """An image folder, a results file and an output folder under one temporary folder."""

    def __init__(self, base: Path):
        self.base = base
        self.images = base / "images"
        self.out = base / "out"
        self.results = base / "md.json"

    def write_images(self, files) -> None:
        """Small distinct files (the sorter never decodes them unless rendering)."""
        for i, file in enumerate(files):
            path = self.images / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\xff\xd8" + f"image {i} {file}".encode() * 20 + b"\xff\xd9")
            os.utime(path, ns=(1_600_000_000_000_000_000 + i, 1_600_000_000_000_000_000 + i))

    def write_results(self, doc: dict) -> None:
        self.results.write_text(json.dumps(doc))

    def setup(self, images: list, write_files: bool = True, **doc_args) -> "Scene":
        self.write_results(results_doc(images, **doc_args))
        if write_files:
            self.write_images(im["file"] for im in images)
        return self

    def sort(self, **options) -> "mdi.Report":
        options.setdefault("images", self.images)
        options.setdefault("out", self.out)
        return mdi.export(mdi.load(self.results), "folders", **options)
