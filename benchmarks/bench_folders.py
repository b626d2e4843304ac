#!/usr/bin/env python3
"""Folder sorter against `cp`: whole processes, same tree, same filesystem, same run.

Targets (issue 4):
  20,000 small JPEGs:  `mdi export folders` copy     <= 2 x `cp -r`
                       `mdi export folders` hardlink <= 3 x `cp -al`
  1,000 JPEGs of ~1 MB: copy                        <= 1.1 x `cp -r`

Each figure is the median of --repeats runs into a fresh destination folder
(removed between runs, outside the timing). Default location: /dev/shm (tmpfs);
use --dir for another filesystem (ext4 here is slow to create files right
after deleting many, so compare only figures from the same run).

    .venv/bin/python benchmarks/bench_folders.py
    .venv/bin/python benchmarks/bench_folders.py --dir /tmp --small 20000 --big 1000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MDI = str(Path(sys.executable).with_name("mdi"))


# -- data -------------------------------------------------------------------


def jpeg_bytes(rng: random.Random, width: int, height: int, noise: bool) -> bytes:
    """A valid JPEG: flat colour with a few specks (tiny) or noise (big)."""
    from PIL import Image

    if noise:
        img = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    else:
        img = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
        for _ in range(8):
            img.putpixel((rng.randrange(width), rng.randrange(height)), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90 if noise else 75)
    return buf.getvalue()


def random_detections(rng: random.Random) -> list | None:
    if rng.random() < 0.01:
        return None
    dets = []
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3))):
        cat = rng.choices("123", weights=(70, 20, 10))[0]
        conf = round(rng.uniform(0.001, 0.2) if rng.random() < 0.5 else rng.uniform(0.2, 0.99), 3)
        w, h = rng.uniform(0.05, 0.5), rng.uniform(0.05, 0.5)
        dets.append({"category": cat, "conf": conf,
                     "bbox": [round(rng.uniform(0, 1 - w), 4), round(rng.uniform(0, 1 - h), 4), round(w, 4), round(h, 4)]})
    return sorted(dets, key=lambda d: -d["conf"])


def make_tree(root: Path, n: int, big: bool, seed: int) -> Path:
    """``n`` JPEGs under ``root/images/site_NN/cam_X/IMG_NNNN.JPG`` and ``root/md.json``."""
    rng = random.Random(seed)
    if big:  # one ~1 MB JPEG, each file made distinct by trailing bytes after the end marker
        blobs = [jpeg_bytes(rng, 1360, 900, noise=True)]
    else:
        blobs = [jpeg_bytes(rng, 64, 48, noise=False) for _ in range(64)]
    images = []
    per_folder = 50 if big else 500
    for i in range(n):
        folder = f"site_{i // (per_folder * 4):02d}/cam_{'ABCD'[i // per_folder % 4]}"
        file = f"{folder}/IMG_{i % per_folder:04d}.JPG"
        path = root / "images" / file
        if i % per_folder == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        data = blobs[i % len(blobs)]
        path.write_bytes(data + i.to_bytes(4, "big") if big else data)
        dets = random_detections(rng)
        images.append({"file": file, "detections": dets} if dets is not None
                      else {"file": file, "detections": None, "failure": "image access failure"})
    results = {"info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt",
                        "detector_metadata": {"typical_detection_threshold": 0.2}},
               "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
               "images": images}
    (root / "md.json").write_text(json.dumps(results))
    return root


# -- timing -----------------------------------------------------------------


def python_env(cache: Path) -> dict:
    """The environment of the timed processes: compiled bytecode cached (as in any normal
    install; PYTHONDONTWRITEBYTECODE would recompile every module at each start), kept
    under ``cache`` rather than in the checkout."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


ENV = dict(os.environ)


def timed(cmd: list[str], dest: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one whole process writing into ``dest``
    (fresh; removed afterwards). CPU time is less disturbed by other load on the machine."""
    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run(["sync"], check=False)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(dest)
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)



def sort_cmd(root: Path, mode: str) -> list[str]:
    return [MDI, "export", "folders", str(root / "md.json"), "--images", str(root / "images"),
            "--out", str(root / "out"), "--mode", mode]


def compare(label: str, root: Path, mode: str, cp_flags: str, target: float, repeats: int) -> bool:
    """Interleave cp and mdi runs so load on the shared machine hits both alike."""
    cp_times, mdi_times = [], []
    timed(sort_cmd(root, mode), root / "out")  # warm-up: bytecode cache, page cache
    for _ in range(repeats):
        cp_times.append(timed(["cp", cp_flags, str(root / "images"), str(root / "out")], root / "out"))
        mdi_times.append(timed(sort_cmd(root, mode), root / "out"))
    cp, ours = (statistics.median(t[0] for t in ts) for ts in (cp_times, mdi_times))
    cp_cpu, ours_cpu = (statistics.median(t[1] for t in ts) for ts in (cp_times, mdi_times))
    ratio = ours / cp
    ok = ratio <= target
    print(f"  {label:<9} wall: cp {cp_flags:<3} {cp:6.3f} s  mdi {ours:6.3f} s  ratio {ratio:4.2f} "
          f"(target <= {target}) {'PASS' if ok else 'FAIL'}   "
          f"cpu: cp {cp_cpu:5.3f} s  mdi {ours_cpu:5.3f} s  ratio {ours_cpu / cp_cpu:4.2f}")
    return ok


def filesystem(path: Path) -> str:
    kind = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True).stdout.strip()
    return f"{kind} ({path})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/dev/shm", help="where to build the trees (default: /dev/shm, tmpfs)")
    ap.add_argument("--small", type=int, default=20000, help="number of tiny JPEGs (default 20000)")
    ap.add_argument("--big", type=int, default=1000, help="number of ~1 MB JPEGs (default 1000)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per figure; the median is shown (default 5)")
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench_folders_", dir=args.dir))
    ENV.clear()
    ENV.update(python_env(base / "pycache"))
    try:
        print(f"filesystem: {filesystem(base)}; {os.cpu_count()} CPUs; medians of {args.repeats} runs; "
              "whole processes (start-up, loading the results file and journaling included)")
        small = make_tree(base / "small", args.small, big=False, seed=1)
        size = sum(f.stat().st_size for f in (small / "images").rglob("*.JPG"))
        print(f"{args.small:,} small JPEGs ({size / args.small / 1024:.1f} KiB each):")
        ok = compare("copy", small, "copy", "-r", 2.0, args.repeats)
        ok &= compare("hardlink", small, "hardlink", "-al", 3.0, args.repeats)
        big = make_tree(base / "big", args.big, big=True, seed=2)
        size = sum(f.stat().st_size for f in (big / "images").rglob("*.JPG"))
        print(f"{args.big:,} big JPEGs ({size / args.big / 2**20:.2f} MiB each):")
        ok &= compare("copy", big, "copy", "-r", 1.1, args.repeats)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("all targets met" if ok else "some targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
