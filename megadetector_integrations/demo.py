"""``mdi demo``: every installed exporter on its own copy of the bundled sample."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import MdiError

MARKER = ".mdi-demo"


def run_demo(out_dir: str | Path) -> int:
    from .api import load, validate
    from .plugins import exporters
    from .sample import IMAGES, RESULTS

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise MdiError(f"{out} exists and is not an earlier demo folder; name another OUT_DIR")
        shutil.rmtree(out)  # our own earlier demo: start afresh
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by `mdi demo`; safe to delete\n")
    results_copy = out / "md_results.json"
    shutil.copyfile(RESULTS, results_copy)

    problems = validate(results_copy)
    print(f"sample: {results_copy} ({len(problems)} validation problem(s))")
    results = load(results_copy)
    print(f"  {len(results.images)} images; categories {dict(results.detection_categories)}")

    seen = set()
    status = 0
    for name, exporter in sorted(exporters().items()):
        if exporter.name in seen:
            continue
        seen.add(exporter.name)
        if exporter.demo is None:
            print(f"\n{exporter.name}: no demo")
            continue
        work = out / exporter.name
        images = work / "images"
        shutil.copytree(IMAGES, images)
        print(f"\n== {exporter.name} ==")
        try:
            report = exporter.run(results, exporter.demo(images, work / "output"))
        except MdiError as exc:
            print(f"  failed: {exc}")
            status = 1
            continue
        print(report.format())
        for output in report.outputs[:10]:
            print(f"  wrote {output}")
    if not seen:
        print("\nno exporters installed: pip install megadetector-integrations-folders (or another plugin)")
    print(f"\neverything is under {out}")
    return status
