"""Whole-process timings of `mdi subset` and `mdi split` on a synthetic results file.

Four operations, as in ../shared/docs/performance-baseline.md: threshold subset,
path rewrite, split by leaf folder, split by top folder with folder-relative
paths. Each runs as its own process (start-up included); the script prints the
median wall time and the peak resident memory of that process (os.wait4), and
checks the 4 s target at 1M images.

Outputs go to fresh folders on tmpfs (/dev/shm) by default (--work to change;
the filesystem is printed). The input is made by ../shared/bench/make_synthetic.py
(the generator of the baseline figures) when missing, or by synthetic.py here
when that generator is not around.

When `megadetector` 10.0.28 is installed (in this Python, or in the one given
by --md-python), the same operations also run through its
subset_json_detector_output, with the ratios and whether the two outputs agree
image for image. Its own venv, for example:

    python3 -m venv /tmp/mdvenv && /tmp/mdvenv/bin/pip install --no-deps megadetector==10.0.28
    /tmp/mdvenv/bin/pip install pandas numpy pillow tqdm jsonpickle requests \
        opencv-python-headless pytest humanfriendly python-dateutil

    .venv/bin/python benchmarks/bench_subset.py --images 1000000
    .venv/bin/python benchmarks/bench_subset.py --images 100000 --md-python /tmp/mdvenv/bin/python
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 4.0
GENERATOR = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_synthetic.py"
MD_MODULE = "megadetector.postprocessing.subset_json_detector_output"

#: name → (mdi arguments, megadetector arguments, output is a folder); {i} input, {o} output.
OPERATIONS = {
    "threshold subset (>= 0.2)": (
        ["subset", "{i}", "{o}", "--confidence-threshold", "0.2"],
        ["{i}", "{o}", "--confidence_threshold", "0.2"], False),
    "path rewrite (every path)": (
        ["subset", "{i}", "{o}", "--query", "site_", "--replacement", "location_"],
        ["{i}", "{o}", "--query", "site_", "--replacement", "location_"], False),
    "split by leaf folder": (
        ["split", "{i}", "{o}", "--mode", "bottom"],
        ["{i}", "{o}", "--split_folders", "--split_folder_mode", "bottom"], True),
    "split by top folder, relative": (
        ["split", "{i}", "{o}", "--mode", "top", "--make-folder-relative"],
        ["{i}", "{o}", "--split_folders", "--split_folder_mode", "n_from_top", "--split_folder_param", "0",
         "--make_folder_relative"], True),
}


def run(command: list[str]) -> tuple[float, float, float]:
    """Run a process to its end: wall seconds, CPU seconds (user + system) and
    peak resident MB of that process. CPU time barely moves when other work
    shares the machine; wall time does."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{proc.stderr.read().decode()}")
    proc.returncode = 0
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def fill(args: list[str], source: Path, out: Path) -> list[str]:
    return [a.format(i=source, o=out) for a in args]


def measure(command_for, work: Path, is_folder: bool, repeat: int) -> tuple[float, float, float, Path]:
    """Median wall and CPU seconds, and peak MB, over repeat runs, each into a
    fresh output; keeps the last output."""
    times, cpus, peaks = [], [], []
    for n in range(repeat):
        out = work / f"out{n}"
        if is_folder:
            out.mkdir()
        else:
            out = out.with_suffix(".json")
        seconds, cpu, peak = run(command_for(out))
        times.append(seconds)
        cpus.append(cpu)
        peaks.append(peak)
        if n + 1 < repeat:
            shutil.rmtree(out) if is_folder else out.unlink()
    return statistics.median(times), statistics.median(cpus), max(peaks), out


def images_of(path: Path) -> dict:
    """file → (detections, failure) of a results file, or of every .json under a folder."""
    import orjson

    found = {}
    for file in sorted(path.rglob("*.json")) if path.is_dir() else [path]:
        part = file.name if path.is_dir() else ""  # split outputs: which file an image went to matters
        for im in orjson.loads(file.read_bytes())["images"]:
            found[(part, im["file"])] = (im.get("detections"), im.get("failure"))
    return found


def agreement(ours: Path, theirs: Path) -> str:
    a, b = images_of(ours), images_of(theirs)
    if a == b:
        return f"agree ({len(a):,} images)"
    differ = sum(1 for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    return f"DIFFER ({differ:,} of {len(a | b):,} images)"


def filesystem(path: Path) -> str:
    result = subprocess.run(["df", "--output=fstype", str(path)], capture_output=True, text=True)
    return result.stdout.split()[-1] if result.returncode == 0 else "unknown"


def input_file(n_images: int) -> Path:
    """The synthetic input: the baseline's generator when present (the same data
    the megadetector figures were measured on), else this folder's synthetic.py."""
    if not GENERATOR.exists():
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from synthetic import synthetic_file

        return synthetic_file(n_images, Path("/tmp/bench"))
    source = Path(f"/tmp/bench/md_{n_images // 1000}k.json".replace("1000k", "1m"))
    if not source.exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        print(f"making {source} ...", flush=True)
        subprocess.run([sys.executable, str(GENERATOR), "--n-images", str(n_images), "--out", str(source)],
                       check=True)
    return source


def bench_operation(operation, source: Path, work: Path, mdi: list[str], style: list[str], args):
    """One table row: our timings, and megadetector's when it is available."""
    name, (ours, theirs, is_folder) = operation
    (work / "mdi").mkdir(parents=True)
    seconds, cpu, peak, our_out = measure(lambda out: mdi + fill(ours, source, out) + style,
                                          work / "mdi", is_folder, args.repeat)
    line = f"{name:<32} {seconds:7.2f} {cpu:6.2f} {peak:8.0f}  {'ok' if seconds <= TARGET_SECONDS else 'OVER':<6}"
    if not args.md_python:
        return line, []
    (work / "md").mkdir()
    md_seconds, md_cpu, md_peak, md_out = measure(
        lambda out: [args.md_python, "-m", MD_MODULE] + fill(theirs, source, out), work / "md", is_folder, 1)
    line += f" {md_seconds:8.2f} {md_cpu:7.2f} {md_peak:6.0f} {md_seconds / seconds:6.1f}x /{md_cpu / cpu:5.1f}x"
    return line, [(name, our_out, md_out)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1_000_000, help="images in the synthetic file")
    parser.add_argument("--data", type=Path, help="input file (default /tmp/bench/md_<N>.json, made if missing)")
    parser.add_argument("--work", type=Path, default=Path("/dev/shm"), help="where outputs go (default tmpfs)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per operation (median)")
    parser.add_argument("--indented", action="store_true", help="write indent 1 (default: --compact)")
    parser.add_argument("--md-python", help="a Python with megadetector installed, to compare with "
                        "(default: this one, when it has megadetector)")
    args = parser.parse_args()
    if args.md_python is None and importlib.util.find_spec("megadetector") is not None:
        args.md_python = sys.executable

    source = args.data or input_file(args.images)
    if not source.is_file():
        raise SystemExit(f"{source}: no such file (leave out --data to have one made)")
    mdi = [str(Path(sys.executable).parent / "mdi")]
    style = [] if args.indented else ["--compact"]
    work = Path(tempfile.mkdtemp(prefix="mdi-bench-subset-", dir=args.work))
    print(f"input {source} ({source.stat().st_size / 1e6:.0f} MB); outputs under {work} "
          f"({filesystem(work)}); output {'indent 1' if args.indented else 'compact'}; "
          f"median of {args.repeat}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall times stretch when other work shares the machine; CPU times much less)")
    header = f"{'operation':<32} {'wall s':>7} {'cpu s':>6} {'peak MB':>8}  {'<= 4 s':<6}"
    if args.md_python:
        header += f" {'md wall':>8} {'md cpu':>7} {'md MB':>6} {'ratio wall/cpu':>15}"
    print(header)
    try:
        compare = []  # outputs are compared at the end: loading them here would raise the
        # peak memory that later child processes inherit from this one (Linux keeps maxrss across exec)
        for index, operation in enumerate(OPERATIONS.items()):
            line, outputs = bench_operation(operation, source, work / f"op{index}", mdi, style, args)
            print(line, flush=True)
            compare += outputs
        for name, our_out, md_out in compare:
            print(f"{name:<32} outputs {agreement(our_out, md_out)}", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
