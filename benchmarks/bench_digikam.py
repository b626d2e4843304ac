#!/usr/bin/env python3
"""XMP tagging (issue 5) against `cp -r`, exiftool and the seed tool's pyexiv2 way.

Target: tag 20,000 small JPEGs, embedded, in <= 3 x a `cp -r` of the same tree,
and faster than exiftool and than pyexiv2 `modify_xmp` one image at a time
(the seed tool's way). Whole processes, same tree, same filesystem, same run;
medians of --repeats interleaved runs. Each tagging run works on a fresh copy
of the untagged tree (copied outside the timing). exiftool is slow, so it
tags a --subset of the images once and its rate is scaled (images/second is
what is compared). Default location: /dev/shm (tmpfs).

    .venv/bin/python benchmarks/bench_digikam.py
    .venv/bin/python benchmarks/bench_digikam.py --images 2000 --subset 200 --dir /tmp
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import make_results  # noqa: E402

MDI = str(Path(sys.executable).with_name("mdi"))
SAMPLE_JPEG = Path(__file__).parents[1] / "megadetector_integrations/sample/images/site_a/cam_1/IMG_0001.JPG"


def make_tree(root: Path, n: int) -> Path:
    """``n`` copies of a small sample JPEG under the synthetic results' paths; the results file."""
    results = make_results(n)
    data = SAMPLE_JPEG.read_bytes()
    for image in results["images"]:
        path = root / "tree" / image["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    results_path = root / "md_results.json"
    results_path.write_text(json.dumps(results))
    return results_path


def timed(command: list[str], **kw) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def fresh_copy(root: Path, name: str) -> Path:
    target = root / name
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(["cp", "-r", str(root / "tree"), str(target)], check=True)
    return target


def seed_tool_jobs(root: Path, results_path: Path) -> Path:
    """The seed tool's way for every image: the tags our exporter writes, given to pyexiv2."""
    tagged = fresh_copy(root, "reference")
    subprocess.run([MDI, "export", "xmp", str(results_path), "--images", str(tagged), "--journal",
                    str(root / "journal.jsonl")], check=True, stdout=subprocess.DEVNULL)
    tags = tags_by_file(tagged)
    jobs = root / "pyexiv2.json"
    jobs.write_text(json.dumps([[str(root / "pyexiv2" / f), tags[f]] for f in sorted(tags)]))
    (root / "seed.py").write_text(PYEXIV2_SCRIPT)
    return jobs


def tags_by_file(images: Path) -> dict[str, list[str]]:
    """The tags our exporter writes, per image (read back from a tagged tree with our reader)."""
    from megadetector_integrations_digikam import read_tags

    by_file: dict[str, list[str]] = {}
    for row in read_tags(images):
        by_file.setdefault(row["file"], []).append(row["tag"])
    return by_file


def exiftool_argfile(tags: dict[str, list[str]], images: Path, files: list[str], path: Path) -> None:
    """One -execute block per image writing the same four fields we write."""
    lines = []
    for file in files:
        for tag in tags[file]:
            lines.append(f"-XMP-lr:HierarchicalSubject+={tag}")
            lines.append(f"-XMP-digiKam:TagsList+={tag.replace('|', '/')}")
            lines.append(f"-XMP-microsoft:LastKeywordXMP+={tag.replace('|', '/')}")
            lines.append(f"-XMP-dc:Subject+={tag.split('|')[-1]}")
        lines += ["-overwrite_original", str(images / file), "-execute"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


PYEXIV2_SCRIPT = """
import json, sys
import pyexiv2
jobs = json.load(open(sys.argv[1]))
for path, tags in jobs:
    image = pyexiv2.Image(path)
    image.modify_xmp({
        "Xmp.lr.hierarchicalSubject": tags,
        "Xmp.digiKam.TagsList": [t.replace("|", "/") for t in tags],
        "Xmp.MicrosoftPhoto.LastKeywordXMP": [t.replace("|", "/") for t in tags],
        "Xmp.dc.subject": [t.split("|")[-1] for t in tags],
    })
    image.close()
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--subset", type=int, default=1_000, help="images tagged by exiftool (slow)")
    parser.add_argument("--dir", default="/dev/shm", help="where to work (default: tmpfs)")
    parser.add_argument("--workers", default="0,1,2t",
                        help="worker settings to compare, the default's first (0: auto; t: threads)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (the median is shown)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench_digikam_", dir=args.dir))
    try:
        n = args.images
        print(f"{n:,} JPEGs of {SAMPLE_JPEG.stat().st_size:,} bytes under {root} "
              f"({subprocess.run(['stat', '-f', '-c', '%T', str(root)], capture_output=True, text=True).stdout.strip()})")
        results = make_tree(root, n)
        rates: dict[str, float] = {}
        settings = args.workers.split(",")
        runs: dict[str, list[float]] = {}
        seed_jobs = seed_tool_jobs(root, results) if importlib.util.find_spec("pyexiv2") else None
        for _ in range(args.repeats):  # interleaved, so load from other processes hits all alike
            shutil.rmtree(root / "cp", ignore_errors=True)
            runs.setdefault("cp -r of the tree", []).append(timed(["cp", "-r", str(root / "tree"), str(root / "cp")]))
            for setting in settings:
                threads = setting.endswith("t")
                workers = setting.rstrip("t")
                images = fresh_copy(root, "embedded")
                label = f"mdi export xmp (embedded, workers={workers}{' threads' if threads else ''})"
                runs.setdefault(label, []).append(timed(
                    [MDI, "export", "xmp", str(results), "--images", str(images), "--workers", workers,
                     "--journal", str(root / "journal.jsonl")] + (["--threads"] if threads else [])))
            sidecars = fresh_copy(root, "sidecar")
            runs.setdefault("mdi export xmp --sidecar", []).append(timed(
                [MDI, "export", "xmp", str(results), "--images", str(sidecars), "--sidecar",
                 "--journal", str(root / "journal.jsonl")]))
            if seed_jobs is not None:
                target = fresh_copy(root, "pyexiv2")
                runs.setdefault("pyexiv2", []).append(timed([sys.executable, str(root / "seed.py"), str(seed_jobs)]))
        medians = {label: statistics.median(times) for label, times in runs.items()}
        cp = medians["cp -r of the tree"]
        print(f"median of {args.repeats} runs each:")
        for label, seconds in medians.items():
            label = "pyexiv2 modify_xmp, one image at a time" if label == "pyexiv2" else label
            print(f"{label:<44} {seconds:7.2f} s  {n / seconds:9,.0f} images/s  {seconds / cp:5.2f} x cp -r")
        rates["cp -r"] = n / cp
        embedded = {k: v for k, v in medians.items() if "embedded" in k}
        default = f"mdi export xmp (embedded, workers={settings[0]})"
        rates["mdi embedded"] = n / embedded.get(default, min(embedded.values()))
        rates["mdi embedded (best setting)"] = n / min(embedded.values())
        rates["mdi sidecar"] = n / medians["mdi export xmp --sidecar"]

        tags = tags_by_file(images)
        assert len(tags) == n, f"only {len(tags):,} of {n:,} images were tagged"
        subset = sorted(tags)[: args.subset]
        m = len(subset)

        target = fresh_copy(root, "exiftool")
        argfile = root / "exiftool.args"
        exiftool_argfile(tags, target, subset, argfile)
        seconds = timed(["exiftool", "-q", "-@", str(argfile)])
        rates["exiftool"] = m / seconds
        print(f"{f'exiftool -@ argfile ({m:,} images, scaled)':<44} {seconds * n / m:7.2f} s  {m / seconds:9,.0f} images/s")

        if "pyexiv2" in medians:
            rates["pyexiv2"] = n / medians["pyexiv2"]
        else:
            print("pyexiv2 not installed: seed-tool comparison skipped (pip install pyexiv2)")

        print("\nimages/second: " + ", ".join(f"{k} {v:,.0f}" for k, v in rates.items()))
        for which in ("mdi embedded", "mdi embedded (best setting)"):
            ratio = rates["cp -r"] / rates[which]
            print(f"{which} vs cp -r: {ratio:.2f} x (target <= 3): {'OK' if ratio <= 3 else 'MISSED'}")
        for other in ("exiftool", "pyexiv2"):
            if other in rates:
                speedup = rates["mdi embedded"] / rates[other]
                print(f"embedded vs {other}: {speedup:.1f} x faster: {'OK' if speedup > 1 else 'MISSED'}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
