"""The bundled sample: 14 JPEGs under ``images/site_x/cam_n/`` with EXIF dates,
and ``md_results.json`` with animals, people, a vehicle, empties, a failure (a
truncated file) and species classifications. Made by ``scripts/make_sample.py``."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
IMAGES = SAMPLE_DIR / "images"
RESULTS = SAMPLE_DIR / "md_results.json"
