"""Auto mode against all-4x on a mixed 10-page document: per page the mode chosen and the time to first token, totals.

    PYTHONPATH=app python -m tests.benchmarks.auto_bench                      # full-size twin (about 10 minutes on 2 cores)
    PYTHONPATH=app python -m tests.benchmarks.auto_bench --size tiny          # the harness itself (seconds)
    PYTHONPATH=app python -m tests.benchmarks --auto                          # the same, through the main harness

The document (A4 at 150 dpi, drawn by tests/density_pages.py): dense text x3, a table x2, a title page, a short
letter x2, a photo-like picture x2, in an interleaved order (so auto mode switches projectors as a real document
would make it). Each run parses it through the real pipeline and the real llama.cpp engine, in a process of its own,
with a fixed, short answer (`--tokens`, the end-of-turn token suppressed) so that the image encode, which the mode
changes, is what is compared; projector switches and the density measure are inside the auto run's time.
Prints a Markdown table; writes JSON to bench-results/. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "bench-results"
ORDER = (
    ("dense text", "dense_text_page", 0),
    ("title page", "title_page", 0),
    ("table", "table_page", 0),
    ("letter", "letter_page", 0),
    ("dense text", "dense_text_page", 1),
    ("photo", "photo_page", 0),
    ("table", "table_page", 1),
    ("letter", "letter_page", 1),
    ("dense text", "dense_text_page", 2),
    ("photo", "photo_page", 1),
)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_document(folder: Path) -> list[tuple[str, Path]]:
    from tests import density_pages

    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i, (what, fn, seed) in enumerate(ORDER, 1):
        path = folder / f"page{i:02d}.png"
        getattr(density_pages, fn)(seed=seed).save(path)
        made.append((what, path))
    return made


def run_one(
    model_dir: Path, mode: str, images: list[Path], tokens: int, threads: int | None, device: str
) -> dict:
    """In this process: parse the pages in `mode` through the pipeline; per page mode, first token, wall time."""
    from PIL import Image

    from paperlens.core.density import measure
    from paperlens.core.engine import LlamaEngine
    from paperlens.core.engine.images import peak_rss_mb
    from paperlens.core.models import scan_model_dir
    from paperlens.core.page import Page
    from paperlens.core.pipeline import PageSource, parse_pages
    from tests.benchmarks.worker import fixed_length_config

    pages = [Page(Image.open(p).convert("RGB"), number=n) for n, p in enumerate(images, 1)]
    config = fixed_length_config(mode, device, threads, max_tokens=tokens)
    engine = LlamaEngine(scan_model_dir(model_dir), config)
    engine.preflight()
    t0 = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    doc = parse_pages([PageSource(p.number, p) for p in pages], len(pages), engine)
    total_s = time.perf_counter() - t0
    engine.close()
    rows = []
    for page, pr in zip(pages, doc.pages, strict=True):
        d = measure(page.image, page.text)
        rows.append(
            {
                "page": pr.page,
                "mode": pr.stats.mode,
                "characters": d.characters,
                "measure_ms": round(d.ms, 1),
                "image_tokens": pr.stats.image_tokens,
                "ttft_s": pr.stats.ttft_s,
                "wall_s": pr.stats.wall_s,
                "error": pr.error,
            }
        )
    return {"mode": mode, "load_s": load_s, "total_s": total_s, "peak_rss_mb": peak_rss_mb(), "pages": rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.auto_bench", description=__doc__.split("\n")[0]
    )
    p.add_argument("--size", choices=("full", "tiny"), default="full")
    p.add_argument("--tokens", type=int, default=16, help="generated tokens per page (default 16)")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--model-dir", type=Path, default=None, help="use these model files instead of the twin")
    p.add_argument("--json", type=Path, default=None, help="where to write the JSON (default bench-results/)")
    p.add_argument("--worker", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        mode, folder = args.worker
        images = sorted(Path(folder).glob("page*.png"))
        print(json.dumps(run_one(args.model_dir, mode, images, args.tokens, args.threads, args.device)))
        return 0

    if args.model_dir is None:
        from paperlens.dev.synth import cached_twin

        say(f"Building or reusing the {args.size} synthetic twin…")
        args.model_dir = cached_twin(args.size).text.parent
    from paperlens.core.models import scan_model_dir

    scan_model_dir(args.model_dir).require("4x")  # derive the 4x projector before any timing
    with tempfile.TemporaryDirectory() as tmp:
        doc = make_document(Path(tmp))
        results = {}
        for mode in ("4x", "auto"):
            say(f"{len(doc)} pages in {mode}…")
            cmd = [sys.executable, "-m", "tests.benchmarks.auto_bench", "--worker", mode, tmp]
            cmd += ["--model-dir", str(args.model_dir), "--tokens", str(args.tokens), "--device", args.device]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                say(proc.stderr[-3000:])
                raise SystemExit(f"benchmark run failed: {' '.join(cmd)}")
            results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
            say(f"  {results[mode]['total_s']:.1f}s")
    all4, auto = results["4x"], results["auto"]
    lines = [
        f"{args.size} twin, device {args.device}, {args.tokens} generated tokens per page (end of turn suppressed).",
        "",
        "| page | what | characters (measure) | auto: mode | 4x: first token (s) | auto: first token (s) "
        "| 4x: page (s) | auto: page (s) |",
        "|---:|---|---:|---|---:|---:|---:|---:|",
    ]
    for (what, _), a, b in zip(doc, all4["pages"], auto["pages"], strict=True):
        lines.append(
            f"| {a['page']} | {what} | {b['characters']:,} | {b['mode']} | {a['ttft_s']:.2f} | {b['ttft_s']:.2f} "
            f"| {a['wall_s']:.2f} | {b['wall_s']:.2f} |"
        )
    ratio = auto["total_s"] / all4["total_s"] if all4["total_s"] else float("nan")
    lines += [
        "",
        f"Total: all-4x {all4['total_s']:.1f} s, auto {auto['total_s']:.1f} s ({ratio:.2f} of all-4x; "
        f"{sum(1 for r in auto['pages'] if r['mode'] == '16x')} pages in 16x). Load: {all4['load_s']:.1f} s / "
        f"{auto['load_s']:.1f} s. Peak RSS: {all4['peak_rss_mb']:.0f} MB / {auto['peak_rss_mb']:.0f} MB. "
        f"Density measure: at most {max(r['measure_ms'] for r in auto['pages']):.0f} ms a page.",
    ]
    table = "\n".join(lines)
    print(table)
    out = args.json or OUT_DIR / f"bench-{args.size}-auto.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"results": results, "table": table, "ratio": ratio}, indent=2))
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
