#!/usr/bin/env python3
"""Camtrap DP export of 100,000 images, EXIF dates read from the files: whole process.

Target (issue 8): `mdi export camtrapdp` on 100,000 images (EXIF read included)
in <= 30 s wall time on 2 cores. Also printed: the floor of just opening and
reading the head of every file in one process, and the ratio to it.

Data (deterministic, made once and reused): the synthetic results of
benchmarks/synthetic.py (111 camera folders, ~1 % failures, 1.4 boxes per image,
species classifications) plus a taxonomy for its classes, and one tiny JPEG per
image whose EXIF DateTimeOriginal advances by 1-400 s per image within a camera
folder. Location: /dev/shm (tmpfs) unless --dir is given.

    .venv/bin/python benchmarks/bench_camtrapdp.py
    .venv/bin/python benchmarks/bench_camtrapdp.py --images 20000 --dir /tmp
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import make_results  # noqa: E402

MDI = str(Path(sys.executable).with_name("mdi"))
TARGET_SECONDS = 30.0
PLACEHOLDER = b"2000:01:01 00:00:00"

TAXONOMY = {
    "white-tailed deer": "mammalia;cetartiodactyla;cervidae;odocoileus;virginianus",
    "elk": "mammalia;cetartiodactyla;cervidae;cervus;canadensis",
    "coyote": "mammalia;carnivora;canidae;canis;latrans",
    "bobcat": "mammalia;carnivora;felidae;lynx;rufus",
    "american black bear": "mammalia;carnivora;ursidae;ursus;americanus",
    "wild turkey": "aves;galliformes;phasianidae;meleagris;gallopavo",
    "raccoon": "mammalia;carnivora;procyonidae;procyon;lotor",
    "gray squirrel": "mammalia;rodentia;sciuridae;sciurus;carolinensis",
}


def template_jpeg() -> tuple[bytes, int]:
    """A 16x12 JPEG with EXIF Make/Model/DateTimeOriginal, and where its date sits."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "TC-100"
    exif.get_ifd(0x8769)[0x9003] = PLACEHOLDER.decode()
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (80, 110, 60)).save(buf, "JPEG", quality=75, exif=exif)
    data = buf.getvalue()
    assert data.count(PLACEHOLDER) == 1
    return data, data.index(PLACEHOLDER)


def make_data(n: int, base: Path) -> tuple[Path, Path]:
    """Results file and image tree, made once per size (a marker says it is complete)."""
    root, results = base / "images", base / "md_results.json"
    marker = base / ".complete"
    if marker.exists():
        return root, results
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    doc = make_results(n)
    doc["classification_category_descriptions"] = {
        cid: f"bench-{cid};{TAXONOMY[name]};{name}" for cid, name in doc["classification_categories"].items()}
    results.write_text(json.dumps(doc))

    data, at = template_jpeg()
    rng = random.Random(8)
    clock: dict[str, datetime] = {}
    made_dirs = set()
    for image in doc["images"]:
        folder, _, _ = image["file"].rpartition("/")
        now = clock.get(folder, datetime(2023, 1, 1, 6, 0, 0)) + timedelta(seconds=rng.choice((1, 2, 3, 5, 40, 400)))
        clock[folder] = now
        if folder not in made_dirs:
            (root / folder).mkdir(parents=True, exist_ok=True)
            made_dirs.add(folder)
        stamp = now.strftime("%Y:%m:%d %H:%M:%S").encode()
        with open(root / image["file"], "wb") as fh:
            fh.write(data[:at] + stamp + data[at + len(stamp):])
    marker.write_text("ok\n")
    return root, results


def floor_seconds(root: Path, results: Path) -> float:
    """One process that only opens every image and reads its first 4 KB."""
    code = (
        "import json,sys; root=sys.argv[1]; files=[i['file'] for i in json.load(open(sys.argv[2]))['images']]\n"
        "for f in files:\n    with open(root+'/'+f,'rb') as fh: fh.read(4096)\n"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(root), str(results)], check=True)
    return time.perf_counter() - start


def run_export(root: Path, results: Path, out: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user+sys of the child) and the report of one export."""
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([MDI, "export", "camtrapdp", str(results), "--images", str(root), "-o", str(out),
                           "--contributor", "Bench Runner <bench@example.org>", "--timezone", "Europe/Brussels",
                           "--deployment-level", "2", "--sequence-gap", "60"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"export failed:\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm"), help="where data and output go (default tmpfs)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    base = args.dir / f"mdi-bench-camtrapdp-{args.images}"
    start = time.perf_counter()
    root, results = make_data(args.images, base)
    print(f"data: {args.images:,} JPEGs + results under {base} ({time.perf_counter() - start:.1f} s to prepare)")
    print(f"cores available: {len(os.sched_getaffinity(0))}; filesystem: {'tmpfs' if str(args.dir).startswith('/dev/shm') else args.dir}")

    floor = min(floor_seconds(root, results) for _ in range(2))
    runs = [run_export(root, results, base / "package") for _ in range(args.repeats)]
    wall = sorted(r[0] for r in runs)[len(runs) // 2]
    cpu = sorted(r[1] for r in runs)[len(runs) // 2]
    print(runs[-1][2].rstrip())
    with open(base / "package" / "media.csv", newline="") as fh:
        media = sum(1 for _ in csv.reader(fh)) - 1
    print(f"\nexport (median of {len(runs)}): {wall:.2f} s wall, {cpu:.2f} s CPU, "
          f"{args.images / wall:,.0f} images/s; {media:,} media rows")
    print("  every run: " + ", ".join(f"{r[0]:.2f} s" for r in runs))
    print(f"floor (open + read 4 KB of each file, one process): {floor:.2f} s -> export is {wall / floor:.1f}x the floor")
    target = TARGET_SECONDS * args.images / 100_000
    verdict = "OK" if wall <= target else "OVER"
    print(f"target: <= {target:.1f} s for {args.images:,} images -> {verdict} ({wall / target:.2f} of the budget)")


if __name__ == "__main__":
    main()
