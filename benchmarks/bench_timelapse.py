"""Benchmark: `mdi export timelapse` on 1M images against a 1M-file tree (target ≤ 10 s).

The results paths lack the tree's leading folder and differ in folder case
(``site_00/cam_A/...`` in the results, ``Survey2023/Site_00/cam_A/...`` on disk),
so prefix detection has real work and every entry is rewritten. The whole
process is timed (start-up, load, scan, detection, rules, write), as a user runs it.

Filesystem: tmpfs (/dev/shm) for the tree and the output. The results file is
/tmp/bench/md_1m.json when present (made by shared/bench/make_synthetic.py),
else generated here deterministically (--generate forces that).

    .venv/bin/python benchmarks/bench_timelapse.py [--images 1000000] [--runs 3] [--keep] [--generate]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SHARED_RESULTS = Path("/tmp/bench/md_1m.json")
WORK = Path("/dev/shm/mdi-bench-timelapse")
LEADING = "Survey2023"
TARGET_SECONDS = 10.0


def generate_results(n: int, path: Path) -> None:
    """A deterministic MegaDetector file: 20 sites, 1-4 cameras, folders of ≤1000 images."""
    import orjson

    rng = random.Random(42)
    images = []
    folder_index = 0
    while len(images) < n:
        site, cam = folder_index % 20, "ABCD"[(folder_index // 20) % 4]
        month = folder_index // 80
        for k in range(min(1000, n - len(images))):
            file = f"site_{site:02d}/cam_{cam}/2023-{month + 1:02d}/IMG_{k + 1:04d}.JPG"
            if rng.random() < 0.01:
                images.append({"file": file, "failure": "image access failure", "detections": None})
                continue
            dets = []
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                x, y = rng.random() * 0.6, rng.random() * 0.6
                dets.append({"category": rng.choice("1112"), "conf": round(rng.random(), 3),
                             "bbox": [round(x, 4), round(y, 4), 0.2, 0.3]})
            images.append({"file": file, "detections": dets})
        folder_index += 1
    doc = {"info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
           "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"}, "images": images}
    path.write_bytes(orjson.dumps(doc))


def disk_path(file: str) -> str:
    """Where the tree holds a results path: one more leading folder, the site folder capitalized."""
    return f"{LEADING}/{file[0].upper()}{file[1:]}"


def make_tree(results: Path, root: Path) -> int:
    """Empty files for every results path (plus the folders), under ``root``."""
    import orjson

    files = [im["file"] for im in orjson.loads(results.read_bytes())["images"]]
    made_dirs = set()
    for file in files:
        path = root / disk_path(file)
        parent = str(path.parent)
        if parent not in made_dirs:
            os.makedirs(parent, exist_ok=True)
            made_dirs.add(parent)
        os.mknod(path)
    return len(files)


def timed_export(results: Path, root: Path, out: Path) -> tuple[float, float, str]:
    """Wall seconds and CPU seconds (user + system) of one whole `mdi` process, and its report.

    CPU time is the steadier figure on a shared machine: wall time includes
    waiting for a core other processes hold.
    """
    mdi = Path(sys.executable).with_name("mdi")
    command = [str(mdi), "export", "timelapse", str(results), "--root", str(root), "-o", str(out), "--overwrite"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"export failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout


def stage_breakdown(results: Path, root: Path, out: Path) -> None:
    """CPU seconds of each stage, in this process, to show where the time goes."""
    import megadetector_integrations as mdi
    from megadetector_integrations.atomic import gc_paused
    from megadetector_integrations.io import write
    from megadetector_integrations_timelapse.matching import resolve, scan
    from megadetector_integrations_timelapse.rules import conform

    stages = {}

    def timed(name, fn):
        start = time.process_time()
        value = fn()
        stages[name] = time.process_time() - start
        return value

    rf = timed("load (host)", lambda: mdi.load(results))
    with gc_paused():
        tree = timed("scan the tree", lambda: scan(root))
        res = timed("detect prefix + resolve", lambda: resolve([im.file for im in rf.images], tree))
        done = timed("Timelapse rules", lambda: conform(rf, res.targets, maybe_videos=tree.has_videos))
        timed("write (host)", lambda: write(done.results, out, indent=None))
    print("  stages (CPU s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--generate", action="store_true", help="generate the results here even if the shared file exists")
    parser.add_argument("--keep", action="store_true",
                        help=f"leave the tree (and generated results) in {WORK} for the next run")
    args = parser.parse_args()

    WORK.mkdir(parents=True, exist_ok=True)
    results = SHARED_RESULTS
    if args.generate or args.images != 1_000_000 or not results.exists():
        results = WORK / f"md_{args.images}.json"
        if not results.exists():
            t = time.perf_counter()
            generate_results(args.images, results)
            print(f"generated {results} in {time.perf_counter() - t:.1f} s")
    root = WORK / f"tree_{results.stem}"
    marker = root / ".complete"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        t = time.perf_counter()
        n = make_tree(results, root)
        marker.touch()
        print(f"made {n:,} empty files under {root} in {time.perf_counter() - t:.1f} s")
    out = WORK / "recognitionData.json"
    try:
        times, cpus = [], []
        for run in range(args.runs):
            seconds, cpu, report = timed_export(results, root, out)
            times.append(seconds)
            cpus.append(cpu)
            if run == 0:
                print(report.rstrip())
            print(f"run {run + 1}: {seconds:.2f} s wall, {cpu:.2f} s CPU")
        median, cpu = statistics.median(times), statistics.median(cpus)
        load = os.getloadavg()[0]
        print(f"\nmdi export timelapse, {results.name} against {root} (tmpfs), load average {load:.1f} "
              f"on {os.cpu_count()} cores:")
        print(f"  whole process: median {median:.2f} s wall (best {min(times):.2f}), {cpu:.2f} s CPU, "
              f"over {len(times)} runs; peak memory {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6:.1f} GB")
        print(f"  target {TARGET_SECONDS:.0f} s: best wall {min(times) / TARGET_SECONDS:.0%} of it, "
              f"CPU {cpu / TARGET_SECONDS:.0%} of it -> {'OK' if min(times) <= TARGET_SECONDS else 'OVER'}")
        print(f"  output {out.stat().st_size / 1e6:.0f} MB")
        stage_breakdown(results, root, out)
    finally:
        out.unlink(missing_ok=True)
        if not args.keep:  # our own folder: the tree and any generated results
            shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
