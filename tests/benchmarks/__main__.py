"""What a page costs, measured on the full-size synthetic twin (same shapes as MiniCPM-V 4.6, so the same cost).

    ./run bench                      # everything (about 20-30 minutes on 2 cores)
    ./run bench --quick              # A4 page only, fewer tokens: a smoke run of the whole harness (minutes)
    ./run bench --size tiny --quick  # the harness itself on the tiny twin (seconds)
    ./run bench --low-memory         # A4 page, 4x: peak RSS and first token with and without the Q8_0 projector
    ./run bench --auto               # a mixed 10-page document in auto mode against all-4x (tests/benchmarks/auto_bench.py)

Builds the full-size twin once (cached under the user cache dir), then measures, each run in its own process:
- per input (A4 page at 150 dpi, US letter, a receipt photo, a 3136x3136 image) and mode (4x, 16x): image tokens, time
  to first token, decode tokens/s, seconds for a page of 512 generated tokens, peak RSS;
- the same work done by raw llama-cpp-python (no PaperLens code) and the ratio PaperLens / raw;
- a follow-up question on an encoded page against the first question;
- the boxes question after an answer ("where on the page did that come from", `boxes_bench.py`) against the answer;
- the GUI thread's worst stall while a page runs;
- PDF page rendering time, and page finding frames/s on 1280x720 frames.
Prints a Markdown table and writes JSON to bench-results/. Goals are shown beside the figures, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "bench-results"
GOALS = {
    "overhead": 1.03,
    "followup": 20.0,
    "rss_mb": 2000 * 1.0,
    "stall_ms": 50.0,
    "low_memory_rss_mb": 1800.0,
}


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- inputs -----------------------------------------------------------------------------------------------------------
def make_inputs(folder: Path, quick: bool) -> dict[str, Path]:
    """Pages a user brings: rendered PDF pages (A4, letter), a phone photo of a receipt, and a huge square image."""
    import pymupdf as fitz
    from PIL import Image, ImageDraw, ImageFilter

    folder.mkdir(parents=True, exist_ok=True)
    inputs: dict[str, Path] = {}

    def pdf_page(name: str, width_pt: float, height_pt: float) -> Path:
        pdf = fitz.open()
        page = pdf.new_page(width=width_pt, height=height_pt)
        y = 72
        page.insert_text((72, y), "Quarterly report", fontsize=20)
        for i in range(40):
            y += 16
            page.insert_text(
                (72, y),
                f"Line {i + 1}: revenue {1000 + 37 * i:,} EUR, costs {500 + 11 * i:,} EUR",
                fontsize=10,
            )
        path = folder / f"{name}.pdf"
        pdf.save(path)
        return path

    a4_pdf = pdf_page("a4", 595.28, 841.89)
    letter_pdf = pdf_page("letter", 612, 792)
    from paperlens.core.documents import open_document

    # Rendered the way PaperLens renders a user's PDF (the DPI that fills llama.cpp's 9 slices): one pixel more
    # or less can change the slice grid and the page's cost by a fifth.
    for name, pdf in (("A4 page, 150 dpi", a4_pdf), ("US letter, 150 dpi", letter_pdf)):
        with open_document(pdf) as doc:
            page = doc.page(0)
        out = folder / f"{pdf.stem}.png"
        page.image.save(out)
        inputs[f"{name} ({page.image.width}x{page.image.height})"] = out
    if quick:
        return {k: v for k, v in inputs.items() if k.startswith("A4")}

    # A receipt photographed with a phone: a long narrow slip on a darker table, 3024x4032 like a 12 MP camera.
    photo = Image.new("RGB", (3024, 4032), (92, 84, 70))
    slip = Image.new("RGB", (900, 2800), (245, 243, 236))
    d = ImageDraw.Draw(slip)
    for i in range(60):
        d.text((60, 80 + 44 * i), f"ITEM {i:02d} ........ {3 + i * 0.37:6.2f}", fill=(30, 30, 30))
    slip = slip.rotate(4, expand=True, fillcolor=(92, 84, 70))
    photo.paste(slip, (1000, 500))
    photo = photo.filter(ImageFilter.GaussianBlur(1))
    inputs["receipt photo, 3024x4032"] = folder / "receipt.png"
    photo.save(inputs["receipt photo, 3024x4032"])

    big = Image.new("RGB", (3136, 3136), "white")
    d = ImageDraw.Draw(big)
    for i in range(120):
        d.text((100, 40 + 25 * i), f"Row {i}: " + "lorem ipsum dolor sit amet " * 6, fill="black")
    inputs["3136x3136 image"] = folder / "square.png"
    big.save(inputs["3136x3136 image"])
    return inputs


# -- runs -------------------------------------------------------------------------------------------------------------
def worker(args, tool: str, mode: str, image: Path, *extra: str) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "tests.benchmarks.worker",
        "--tool",
        tool,
        "--mode",
        mode,
        "--image",
        str(image),
        "--model-dir",
        str(args.model_dir),
        "--tokens",
        str(args.tokens),
        "--device",
        args.device,
        *extra,
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        say(proc.stderr[-2000:])
        raise SystemExit(f"benchmark run failed: {' '.join(cmd)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def page_seconds(r: dict, tokens: int) -> float:
    rate = r.get("decode_tokens_per_s") or 0
    return r["ttft_s"] + (tokens - 1) / rate if rate else float("nan")


def pdf_render_ms(pdf: Path, repeats: int = 5) -> float:
    try:
        from paperlens.core.documents import open_document
    except ImportError:
        return float("nan")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with open_document(pdf) as doc:
            doc.page(0)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def pagefind_fps(n: int = 120) -> float | None:
    """Page finding on 1280x720 frames with OpenCV held to one thread, as the camera view runs it."""
    try:
        import cv2

        from paperlens.core.pagefind import find_page
        from tests.benchmarks.pagefind_bench import synthetic_frames
    except ImportError:
        return None
    cv2.setNumThreads(1)
    frames = synthetic_frames(n)
    find_page(frames[0])  # warm-up
    t0 = time.perf_counter()
    for frame in frames:
        find_page(frame)
    return n / (time.perf_counter() - t0)


def gui_stall(args) -> dict | None:
    """The window's GUI thread while the real engine parses an A4 page and answers two questions (worst lateness of a
    10 ms heartbeat), measured by scripts/gui_heartbeat.py, which also says what caused each stall."""
    out = OUT_DIR / "gui-heartbeat.json"
    proc = subprocess.run(
        [
            sys.executable,
            "scripts/gui_heartbeat.py",
            "--model-dir",
            str(args.model_dir),
            "--mode",
            "4x",
            "--max-tokens",
            "64",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    if not out.exists():
        say("GUI stall measurement failed: " + proc.stderr[-1500:])
        return None
    return json.loads(out.read_text())


# -- report -----------------------------------------------------------------------------------------------------------
def machine() -> str:
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
        cores = f"{psutil.cpu_count(logical=False)} cores"
    except ImportError:
        mem, cores = "?", f"{os.cpu_count()} CPUs"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {cores}, {mem}, {platform.system()} {platform.release()}"


def fmt(x, digits=1) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return f"{x:,.{digits}f}"


def report(res: dict, tokens: int) -> str:
    lines = [
        f"Machine: {res['machine']}; llama-cpp-python {res['llama_cpp_version']}, device {res['device']}, "
        f"{res['size']} twin, {tokens} generated tokens per page.",
        "",
        "| input | mode | image tokens | time to first token (s) | decode tok/s | s per page of "
        f"{tokens} tokens | peak RSS (MB) | raw: prompt tokens | raw: first token (s) | raw: tok/s | raw: s/page "
        "| raw: peak RSS (MB) | PaperLens / raw |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in res["pages"]:
        pl, raw = row["paperlens"], row["raw"]
        lines.append(
            f"| {row['input']} | {row['mode']} | {pl['image_tokens']:,} | {fmt(pl['ttft_s'])} | "
            f"{fmt(pl['decode_tokens_per_s'])} | {fmt(row['paperlens_page_s'])} | {fmt(pl['peak_rss_mb'], 0)} | "
            f"{fmt(raw.get('prompt_tokens'), 0)} | {fmt(raw.get('ttft_s'))} | {fmt(raw.get('decode_tokens_per_s'))} | "
            f"{fmt(row['raw_page_s'])} | {fmt(raw.get('peak_rss_mb'), 0)} | {fmt(row['ratio'], 3)} |"
        )
    lines += ["", "| figure | measured | goal |", "|---|---:|---:|"]
    worst = max((r["ratio"] for r in res["pages"] if r["ratio"] == r["ratio"]), default=float("nan"))
    lines.append(f"| overhead PaperLens / raw (worst) | {fmt(worst, 3)} | ≤ {GOALS['overhead']} |")
    fu = res.get("followup")
    if fu:
        lines.append(
            f"| follow-up question, time to first token: first {fmt(fu['first_ttft_s'], 2)} s, follow-up "
            f"{fmt(fu['followup_ttft_s'], 3)} s | {fmt(fu['speedup'], 0)}x faster | ≥ {GOALS['followup']:.0f}x |"
        )
    bx = res.get("boxes")
    if bx:
        lines.append(
            f"| boxes question after an answer (4x): answer {fmt(bx['first_s'], 1)} s, boxes {fmt(bx['boxes_s'], 2)} s "
            f"({bx['boxes_tokens']} tokens) | {fmt(100 * bx['ratio'], 1)} % | < 10 % |"
        )
    rss = max(r["paperlens"]["peak_rss_mb"] for r in res["pages"])
    lines.append(f"| peak RSS (worst page) | {fmt(rss, 0)} MB | ≤ 2,000 MB |")
    lines.append(
        f"| GUI thread's worst stall while a page runs | {fmt(res.get('gui_stall_ms'), 1)} ms | ≤ 50 ms |"
    )
    lines.append(f"| PDF page rendering (A4, default DPI) | {fmt(res.get('pdf_render_ms'), 1)} ms | |")
    lines.append(
        f"| page finding on 1280x720 frames, one core | {fmt(res.get('pagefind_fps'), 1)} frames/s | ≥ 15 |"
    )
    return "\n".join(lines)


def low_memory(args, inputs: dict[str, Path]) -> int:
    """The A4 page in 4x with the default projector and with its Q8_0 copy (`EngineOptions.low_memory`), each in a
    process of its own: peak RSS and time to first token beside their goals."""
    from paperlens.core.models import scan_model_dir

    models = scan_model_dir(args.model_dir)
    models.require("4x")
    models.require("4x", low_memory=True)  # derive the Q8_0 copy before any timing
    name, a4 = next((k, v) for k, v in inputs.items() if k.startswith("A4"))
    rows = []
    for label, extra, goal in (
        ("default projector (F16)", (), GOALS["rss_mb"]),
        ("low memory (Q8_0 projector)", ("--low-memory",), GOALS["low_memory_rss_mb"]),
    ):
        say(f"{name}, 4x, {label}…")
        r = worker(args, "paperlens", "4x", a4, *extra)
        rows.append((label, r, goal))
        say(f"  peak RSS {r['peak_rss_mb']:.0f} MB, first token {r['ttft_s']:.2f} s")
    lines = [
        f"Machine: {machine()}; {args.size} twin, {name}, 4x, {args.tokens} generated tokens.",
        "",
        "| projector | peak RSS (MB) | goal | time to first token (s) | decode tok/s | image tokens |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r, goal in rows:
        met = "met" if r["peak_rss_mb"] <= goal else "missed"
        lines.append(
            f"| {label} | {fmt(r['peak_rss_mb'], 0)} | ≤ {goal:,.0f} ({met}) | {fmt(r['ttft_s'], 2)} | "
            f"{fmt(r['decode_tokens_per_s'])} | {r['image_tokens']:,} |"
        )
    d, q = rows[0][1], rows[1][1]
    lines.append(
        f"\nQ8_0 saves {d['peak_rss_mb'] - q['peak_rss_mb']:,.0f} MB and costs "
        f"{(q['ttft_s'] / d['ttft_s'] - 1) * 100 if d['ttft_s'] else float('nan'):+.0f} % time to first token."
    )
    table = "\n".join(lines)
    print(table)
    out = args.json or OUT_DIR / f"bench-{args.size}-low-memory.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"rows": [{"projector": lb, **r} for lb, r, _ in rows], "table": table}, indent=2)
    )
    say(f"wrote {out}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--size", choices=("full", "tiny"), default="full")
    p.add_argument("--quick", action="store_true", help="A4 page only and 64 tokens")
    p.add_argument("--tokens", type=int, default=None, help="generated tokens per page (default 512)")
    p.add_argument("--modes", default="4x,16x")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--model-dir", type=Path, default=None, help="use these model files instead of the twin")
    p.add_argument("--no-raw", action="store_true", help="skip the raw llama-cpp-python comparison")
    p.add_argument("--json", type=Path, default=None, help="where to write the JSON (default bench-results/)")
    p.add_argument(
        "--low-memory",
        action="store_true",
        help="only the A4 page in 4x, with the default and with the Q8_0 projector (peak RSS, first token)",
    )
    p.add_argument(
        "--auto",
        action="store_true",
        help="only auto mode against all-4x on a mixed 10-page document (tests/benchmarks/auto_bench.py)",
    )
    args = p.parse_args(argv)
    if args.auto:
        from tests.benchmarks import auto_bench

        forward = ["--size", args.size, "--device", args.device, "--tokens", str(args.tokens or 16)]
        for flag, value in (
            ("--threads", args.threads),
            ("--model-dir", args.model_dir),
            ("--json", args.json),
        ):
            if value:
                forward += [flag, str(value)]
        return auto_bench.main(forward)
    args.tokens = args.tokens or (64 if args.quick else 512)

    import llama_cpp

    if args.model_dir is None:
        from paperlens.dev.synth import cached_twin

        say(f"Building or reusing the {args.size} synthetic twin…")
        t0 = time.perf_counter()
        files = cached_twin(args.size)
        args.model_dir = files.text.parent
        say(f"  twin ready in {time.perf_counter() - t0:.0f}s: {args.model_dir}")
    work = OUT_DIR / "inputs"
    inputs = make_inputs(work, args.quick or args.low_memory)
    if args.low_memory:
        return low_memory(args, inputs)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    res: dict = {
        "machine": machine(),
        "llama_cpp_version": llama_cpp.__version__,
        "device": args.device,
        "size": args.size,
        "tokens": args.tokens,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "pages": [],
    }
    from paperlens.core.models import scan_model_dir

    scan_model_dir(args.model_dir).require("4x")  # derive the 4x projector before any timing
    for name, image in inputs.items():
        for mode in modes:
            say(f"{name}, {mode}: PaperLens…")
            pl = worker(args, "paperlens", mode, image)
            raw = None
            if not args.no_raw:
                say(f"{name}, {mode}: raw llama-cpp-python…")
                raw = worker(args, "raw", mode, image)
            pl_s = page_seconds(pl, args.tokens)
            raw_s = page_seconds(raw, args.tokens) if raw else float("nan")
            res["pages"].append(
                {
                    "input": name,
                    "mode": mode,
                    "paperlens": pl,
                    "raw": raw or {},
                    "paperlens_page_s": pl_s,
                    "raw_page_s": raw_s,
                    "ratio": pl_s / raw_s if raw else float("nan"),
                }
            )
            say(
                f"  {pl['image_tokens']} image tokens, ttft {pl['ttft_s']:.1f}s, {pl_s:.1f}s/page"
                + (f", raw {raw_s:.1f}s/page" if raw else "")
            )
    a4 = next(iter(inputs.values()))
    say("Follow-up question vs first question (4x)…")
    fu = worker(args, "paperlens", "4x", a4, "--followup")
    fu["speedup"] = fu["first_ttft_s"] / fu["followup_ttft_s"] if fu["followup_ttft_s"] else float("nan")
    res["followup"] = fu
    say("Boxes question after an answer (4x)…")
    from tests.benchmarks.boxes_bench import run_mode as boxes_run

    res["boxes"] = boxes_run(
        args.model_dir,
        a4,
        "4x",
        argparse.Namespace(device=args.device, threads=args.threads, answer_tokens=64, boxes_tokens=64),
    )
    say("GUI stall…")
    res["gui"] = gui_stall(args)
    res["gui_stall_ms"] = res["gui"]["worst_stall_ms"] if res["gui"] else None
    res["pdf_render_ms"] = pdf_render_ms(work / "a4.pdf")
    res["pagefind_fps"] = pagefind_fps()
    table = report(res, args.tokens)
    print(table)
    out = args.json or OUT_DIR / f"bench-{args.size}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    res["table"] = table
    out.write_text(json.dumps(res, indent=2))
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
