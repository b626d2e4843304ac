#!/usr/bin/env python3
"""Load, validate and write a large results file; compare with the floor.

The floor is a bare JSON parse of the file (read included; msgspec and orjson)
with the garbage collector disabled, measured in the same run. Each figure is
the median of --repeat fresh processes. Imports and plugin discovery happen
before the clock starts, on both sides (start-up has its own row); the CLI
rows are whole processes. Files live on tmpfs (/dev/shm) so the disk does not
blur the figures.

    python benchmarks/bench_load_write.py --images 1000000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import synthetic_file  # noqa: E402

TIMED = r"""
import gc, json, resource, sys, time
path, what = sys.argv[1], sys.argv[2]
# Imports and plugin discovery happen before the clock starts, on both sides:
# start-up is measured on its own (the `mdi --help` row).
import msgspec, orjson
import megadetector_integrations as mdi
from megadetector_integrations.plugins import manager
manager()
t = time.perf_counter()
if what == "msgspec":  # the floor: read the file and parse it, garbage collector off
    gc.disable(); msgspec.json.decode(open(path, "rb").read()); gc.enable()
elif what == "orjson":
    gc.disable(); orjson.loads(open(path, "rb").read()); gc.enable()
elif what == "load":
    mdi.load(path)
elif what == "load+validate":
    problems = mdi.validate(path)
    assert not [p for p in problems if p.severity == "error"]
elif what.startswith("write"):
    results = mdi.load(path)
    t = time.perf_counter()
    mdi.write(results, sys.argv[3], indent=None if what == "write-compact" else 1)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def timed(what: str, path: Path, repeat: int, *extra: str) -> dict:
    runs = [json.loads(subprocess.run([sys.executable, "-c", TIMED, str(path), what, *extra],
                                      check=True, capture_output=True, text=True).stdout) for _ in range(repeat)]
    return {"seconds": statistics.median(r["seconds"] for r in runs), "peak_mb": max(r["peak_mb"] for r in runs)}


def whole_process(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(args, check=False, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/mdi-bench"))
    args = parser.parse_args()

    path = synthetic_file(args.images, args.dir)
    print(f"{args.images:,} images, {path.stat().st_size / 1e6:.0f} MB ({path}, tmpfs), median of {args.repeat} runs")
    rows = {what: timed(what, path, args.repeat) for what in ("msgspec", "orjson", "load", "load+validate")}
    out = args.dir / "written.json"
    for what in ("write-compact", "write-indent1"):
        rows[what] = timed(what, path, args.repeat, str(out))
    floor = rows["msgspec"]["seconds"]
    print(f"{'operation':<16} {'seconds':>8} {'× floor':>8} {'peak MB':>8}")
    for what, r in rows.items():
        print(f"{what:<16} {r['seconds']:8.2f} {r['seconds'] / floor:8.2f} {r['peak_mb']:8.0f}")
    ratio = rows["load+validate"]["seconds"] / floor
    print(f"\nload + validate = {ratio:.2f}× a bare msgspec parse with the GC off (target ≤ 2; "
          f"megadetector's loader is ~6.9×)")
    print(f"write: compact {rows['write-compact']['seconds']:.2f} s, indent=1 "
          f"{rows['write-indent1']['seconds']:.2f} s (target ≤ 1.5 s)")
    mdi = str(Path(sys.executable).with_name("mdi"))
    print(f"start-up: `mdi --help` {whole_process([mdi, '--help'], 10) * 1000:.0f} ms (target ≤ 150 ms); "
          f"`mdi validate` whole process {whole_process([mdi, 'validate', str(path)], args.repeat):.2f} s")


if __name__ == "__main__":
    main()
