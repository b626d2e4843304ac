"""Benchmark: `mdi export emammal` writing 100,000 images in 20,000 sequences.

Starts a private MariaDB server (data directory on tmpfs, /dev/shm), fills an
eMammal ``wild_id`` database with one deployment of N images in N/5
sequences, writes a matching results file, and times the export through TCP
on 127.0.0.1 (as the eMammal client's server is reached): connect, read the
deployment, match, decide, insert in one transaction, commit. Then times an
idempotent re-run and a ``--replace`` run with another threshold.

Target: 100,000 images / 20,000 sequences in <= 10 s.

    .venv/bin/python benchmarks/bench_emammal.py [--images 100000] [--per-sequence 5]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 10.0


def make_database(server, images: int, per_sequence: int) -> None:
    from megadetector_integrations_emammal.server import create_wild_id, insert

    with server.root() as conn:
        create_wild_id(conn, "wild_id")
        insert(conn, "project", ("project_id", "name"), [(1, "benchmark")])
        insert(conn, "emammal_project", ("project_id",), [(1,)])
        insert(conn, "event", ("event_id", "name", "project_id"), [(1, "sub-project", 1)])
        insert(conn, "deployment", ("deployment_id", "name"), [(1, "cam_1")])
        insert(conn, "emammal_deployment", ("deployment_id", "event_id"), [(1, 1)])
        insert(conn, "emammal_project_taxa", ("emammal_project_taxa_id", "project_id", "species"),
               [(1, 1, "No Animal"), (2, 1, "Unknown Animal"), (3, 1, "Homo sapiens"), (4, 1, "Vehicle")])
        n_sequences = images // per_sequence
        insert(conn, "image_sequence", ("image_sequence_id", "deployment_id"), [(s, 1) for s in range(n_sequences)])
        insert(conn, "image", ("raw_name", "image_sequence_id"),
               [(f"IMG_{i:06d}.JPG", i // per_sequence) for i in range(n_sequences * per_sequence)])


def make_results(images: int):
    """Half the images empty, the rest one to three animals, people or vehicles."""
    import megadetector_integrations as mdi

    rng = random.Random(7)
    entries = []
    for i in range(images):
        n = 0 if rng.random() < 0.5 else rng.randint(1, 3)
        dets = tuple(mdi.Detection(rng.choice("1112223"), round(rng.random(), 3), (0.1, 0.1, 0.2, 0.2))
                     for _ in range(n))
        entries.append(mdi.Image(f"site/cam_1/IMG_{i:06d}.JPG", dets))
    info = mdi.Info(detector="md_v5a.0.0.pt", detector_metadata={"typical_detection_threshold": 0.2})
    return mdi.ResultsFile(images=tuple(entries), info=info)


def timed(label: str, results, options) -> float:
    from megadetector_integrations_emammal.export import export_emammal

    start = time.perf_counter()
    report = export_emammal(results, options)
    seconds = time.perf_counter() - start
    rows = report.counts.get("rows inserted", 0) + report.counts.get("rows deleted", 0)
    print(f"{label:<34} {seconds:6.2f} s  {rows:>7,} rows written  "
          f"{len(results.images) / seconds:>9,.0f} images/s  {rows / seconds:>8,.0f} rows/s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--per-sequence", type=int, default=5)
    args = parser.parse_args()

    import attrs

    from megadetector_integrations_emammal.export import EmammalOptions
    from megadetector_integrations_emammal.server import PrivateServer

    with PrivateServer() as server, tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        print(f"MariaDB server on tmpfs ({server.base}), TCP 127.0.0.1:{server.port}")
        server.create_user("bench", "bench")
        start = time.perf_counter()
        make_database(server, args.images, args.per_sequence)
        results = make_results(args.images)
        print(f"fixture: {args.images:,} images in {args.images // args.per_sequence:,} sequences "
              f"({time.perf_counter() - start:.1f} s to build)")
        options = EmammalOptions(db=f"mysql://bench:bench@127.0.0.1:{server.port}/wild_id", deployment=1,
                                 record=Path(tmp) / "record.jsonl")
        first = timed("first export", results, options)
        timed("re-run (nothing to write)", results, options)
        timed("--replace with --threshold 0.6", results, attrs.evolve(options, threshold=0.6, replace=True))
        verdict = "OK" if first <= TARGET_SECONDS else "TOO SLOW"
        print(f"target <= {TARGET_SECONDS:.0f} s for the first export: {first:.2f} s "
              f"({TARGET_SECONDS / first:.1f}x under the target) {verdict}")


if __name__ == "__main__":
    main()
