#!/usr/bin/env python3
"""Regenerate the bundled sample: 14 small JPEGs with EXIF dates under
``site_x/cam_n/`` and a matching MegaDetector results file.

Deterministic: the same script gives the same bytes. Run from the repository
root: ``python scripts/make_sample.py``.
"""

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "megadetector_integrations" / "sample"
W, H = 480, 360

CLASSES = {"1": "white-tailed deer", "2": "coyote", "3": "wild turkey"}
DESCRIPTIONS = {
    "1": "5c7ce479-8a45-40b3-ae21-7c97dfae22f5;mammalia;cetartiodactyla;cervidae;odocoileus;virginianus;white-tailed deer",
    "2": "5a565886-156e-4b19-a017-6a5bbae4df0f;mammalia;carnivora;canidae;canis;latrans;coyote",
    "3": "c6ae5a03-1b1f-4d2d-9c5c-6b0b0e0f0f0a;aves;galliformes;phasianidae;meleagris;gallopavo;wild turkey",
}

# (path, timestamp or None, detections [(category, conf, bbox, classifications)], failure)
IMAGES = [
    ("site_a/cam_1/IMG_0001.JPG", "2024:05:01 06:00:00", [("1", 0.92, [0.30, 0.40, 0.25, 0.30], [["1", 0.88], ["2", 0.06]])], None),
    ("site_a/cam_1/IMG_0002.JPG", "2024:05:01 06:00:01", [("1", 0.85, [0.35, 0.42, 0.25, 0.28], [["1", 0.91]]), ("1", 0.60, [0.70, 0.50, 0.15, 0.20], [["1", 0.77]])], None),
    ("site_a/cam_1/IMG_0003.JPG", "2024:05:01 06:00:02", [("1", 0.03, [0.10, 0.10, 0.05, 0.05], None)], None),
    ("site_a/cam_1/IMG_0004.JPG", "2024:05:01 14:30:00", [("2", 0.91, [0.45, 0.20, 0.12, 0.60], None)], None),
    ("site_a/cam_2/IMG_0001.JPG", "2024:05:02 09:15:00", [("3", 0.88, [0.05, 0.45, 0.60, 0.40], None)], None),
    ("site_a/cam_2/IMG_0002.JPG", "2024:05:02 09:15:02", [("1", 0.76, [0.60, 0.55, 0.20, 0.20], [["2", 0.70], ["1", 0.12]]), ("2", 0.65, [0.10, 0.25, 0.10, 0.55], None)], None),
    ("site_a/cam_2/IMG_0003.JPG", "2024:05:03 22:40:10", [], None),
    ("site_a/cam_2/IMG_0004.JPG", "2024:05:03 22:40:11", [("1", 0.12, [0.50, 0.60, 0.08, 0.08], None)], None),
    ("site_b/cam_1/IMG_0001.JPG", "2024:06:10 07:05:00", [("1", 0.95, [0.40, 0.50, 0.20, 0.30], [["3", 0.90], ["2", 0.05]])], None),
    ("site_b/cam_1/IMG_0002.JPG", "2024:06:10 07:05:03", [("1", 0.67, [0.20, 0.50, 0.20, 0.25], [["1", 0.45], ["2", 0.40]])], None),
    ("site_b/cam_1/IMG_0003.JPG", "2024:06:11 12:00:00", [], None),
    ("site_b/cam_1/IMG_0004.JPG", "2024:06:11 12:00:01", None, "image access failure"),
    ("site_b/cam_2/IMG_0001.JPG", "2024:06:12 18:20:00", [("1", 0.81, [0.55, 0.45, 0.25, 0.25], [["2", 0.83]])], None),
    ("site_b/cam_2/IMG_0002.JPG", "2024:06:12 18:20:04", [("1", 0.90, [0.10, 0.45, 0.30, 0.35], [["1", 0.86]]), ("1", 0.70, [0.60, 0.50, 0.25, 0.25], [["2", 0.79]])], None),
]

COLOURS = {"1": (120, 80, 40), "2": (40, 60, 160), "3": (110, 110, 110)}


def draw(dets, seed: int) -> Image.Image:
    rnd = random.Random(seed)
    img = Image.new("RGB", (W, H))
    px = ImageDraw.Draw(img)
    for y in range(H):  # sky-to-grass gradient
        g = 90 + int(100 * y / H)
        px.line([(0, y), (W, y)], fill=(60 + y // 6, g, 50 + y // 8))
    for _ in range(40):  # a few shrubs
        x, y = rnd.randrange(W), rnd.randrange(H // 2, H)
        px.ellipse([x, y, x + 18, y + 10], fill=(30, 90 + rnd.randrange(40), 30))
    for cat, _conf, (x, y, w, h), _cls in dets or ():
        box = [x * W, y * H, (x + w) * W, (y + h) * H]
        (px.ellipse if cat == "1" else px.rectangle)(box, fill=COLOURS[cat])
    return img


def main() -> None:
    images_root = OUT / "images"
    entries = []
    for seed, (path, stamp, dets, failure) in enumerate(IMAGES):
        target = images_root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        exif = Image.Exif()
        exif[0x010F] = "MDI Sample"  # Make
        exif[0x0110] = "TrailCam " + path.split("/")[1]  # Model
        if stamp:
            exif[0x0132] = stamp  # DateTime
            exif.get_ifd(0x8769)[0x9003] = stamp  # DateTimeOriginal
        draw(dets, seed).save(target, "JPEG", quality=75, exif=exif)
        if failure:  # a truncated file, as a camera's card error leaves it
            data = target.read_bytes()
            target.write_bytes(data[: len(data) // 3])
        entry = {"file": path}
        if failure:
            entry.update(detections=None, failure=failure)
        else:
            entry["detections"] = []
            for cat, conf, bbox, cls in dets:
                det = {"category": cat, "conf": conf, "bbox": bbox}
                if cls:
                    det["classifications"] = cls
                entry["detections"].append(det)
        entries.append(entry)
    results = {
        "info": {
            "format_version": "1.4",
            "detector": "md_v5a.0.0.pt",
            "detection_completion_time": "2024-06-20 10:00:00",
            "classifier": "speciesnet-sample",
            "classification_completion_time": "2024-06-20 10:05:00",
            "detector_metadata": {
                "megadetector_version": "v5a.0.1",
                "typical_detection_threshold": 0.2,
                "conservative_detection_threshold": 0.05,
            },
            "classifier_metadata": {"typical_classification_threshold": 0.5},
        },
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "classification_categories": CLASSES,
        "classification_category_descriptions": DESCRIPTIONS,
        "images": entries,
    }
    (OUT / "md_results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {len(entries)} images and {OUT / 'md_results.json'}")


if __name__ == "__main__":
    main()
