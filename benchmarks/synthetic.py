"""Deterministic synthetic MegaDetector results for the benchmarks.

Shaped like real batches (see ../shared/docs/performance-baseline.md): 20 sites,
~1,100 leaf folders per million images, ~1 % failures, 1.4 detections per image,
species classifications on ~60 % of animal boxes; format 1.4, indent 1,
images sorted by path as MegaDetector writes them.
"""

from __future__ import annotations

import random
from pathlib import Path

CATEGORIES = {"1": "animal", "2": "person", "3": "vehicle"}
CLASSES = {str(i): name for i, name in enumerate(
    ["white-tailed deer", "elk", "coyote", "bobcat", "american black bear", "wild turkey", "raccoon", "gray squirrel"], 1)}


def make_results(n_images: int, seed: int = 0) -> dict:
    rnd = random.Random(seed)
    images = []
    per_leaf = 900
    for i in range(n_images):
        leaf = i // per_leaf
        site, cam, month = leaf % 20, (leaf // 20) % 4, (leaf // 80) % 12 + 1
        file = f"site_{site:02d}/cam_{'ABCD'[cam]}/2023-{month:02d}/IMG_{i:07d}.JPG"
        if rnd.random() < 0.01:
            images.append({"file": file, "detections": None, "failure": "image access failure"})
            continue
        dets = []
        for _ in range(rnd.choice((0, 1, 1, 2, 2, 2))):
            cat = rnd.choice("1112223")
            conf = round(rnd.random(), 3)
            x, y = round(rnd.random() * 0.7, 4), round(rnd.random() * 0.7, 4)
            det = {"category": cat, "conf": conf,
                   "bbox": [x, y, round(rnd.random() * 0.3, 4), round(rnd.random() * 0.3, 4)]}
            if cat == "1" and conf >= 0.1 and rnd.random() < 0.6:
                det["classifications"] = [[rnd.choice(list(CLASSES)), round(rnd.random(), 3)]
                                          for _ in range(rnd.randint(1, 3))]
            dets.append(det)
        dets.sort(key=lambda d: -d["conf"])
        images.append({"file": file, "detections": dets})
    images.sort(key=lambda im: im["file"])  # as MegaDetector writes them
    return {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt",
                 "detection_completion_time": "2023-12-01 10:00:00",
                 "detector_metadata": {"megadetector_version": "v5a.0.1", "typical_detection_threshold": 0.2,
                                       "conservative_detection_threshold": 0.05}},
        "detection_categories": CATEGORIES,
        "classification_categories": CLASSES,
        "images": images,
    }


def synthetic_file(n_images: int, folder: Path, seed: int = 0) -> Path:
    """The path of a cached synthetic file (made on first use)."""
    import orjson
    import msgspec

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"md_{n_images}_{seed}_v2.json"
    if not path.exists():
        data = msgspec.json.format(orjson.dumps(make_results(n_images, seed)), indent=1)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.rename(path)
    return path
