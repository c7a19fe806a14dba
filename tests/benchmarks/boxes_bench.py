"""What "where on the page did that come from" costs after an answer, on the synthetic twin. Prints; asserts nothing.

    PYTHONPATH=app python -m tests.benchmarks.boxes_bench                       # full-size twin, 4x (minutes)
    PYTHONPATH=app python -m tests.benchmarks.boxes_bench --size tiny --modes 16x   # the harness itself (seconds)
    PYTHONPATH=app python -m tests.benchmarks.boxes_bench --image PAGE.png --model-dir DIR --json-line

For each mode, in a process of its own: a question about an A4 page rendered at 150 dpi (the image encoded, then
`--answer-tokens` generated), then the boxes question after a plausible answer of about that length (`core.pipeline.locate_answer`: the kept page state
restored, the chat's text read, `--boxes-tokens` generated). End of text is suppressed, as in the other benchmarks,
so the twin's gibberish has a fixed length; the real model's boxes answer is usually shorter than the cap (about 30
tokens a box: digits are tokens one by one), so the figure is an upper bound for that many tokens.

Goal, shown beside the figure: the boxes question under 10 % of the first answer's time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOAL_RATIO = 0.10
QUESTION = "What is the total of the invoice?"
# The answer the boxes question follows: a plausible one, a little shorter than the first answer's 64 tokens. The twin's own answer is random tokens,
# which read back as text would come to several times as many tokens as the model generated, unlike a real answer.
ANSWER = (  # 54 tokens; the boxes question then reads 235 tokens of text after the page (full-size twin's tokenizer)
    "The total of the invoice is 2,443 EUR. It is the sum of the item lines of the table, printed on the last line "
    "of the page."
)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def a4_page(folder: Path) -> Path:
    """An A4 page at 150 dpi with 40 lines of figures, rendered the way PaperLens renders a user's PDF."""
    import pymupdf

    from paperlens.core.documents import open_document

    folder.mkdir(parents=True, exist_ok=True)
    pdf = pymupdf.open()
    page = pdf.new_page(width=595.28, height=841.89)
    page.insert_text((72, 72), "Invoice 2026-11", fontsize=20)
    for i in range(40):
        page.insert_text((72, 100 + 16 * i), f"Line {i + 1}: item {i}, {1000 + 37 * i:,} EUR", fontsize=10)
    path = folder / "boxes-a4.pdf"
    pdf.save(path)
    with open_document(path) as doc:
        image = doc.page(0).image
    out = folder / "boxes-a4.png"
    image.save(out)
    return out


def measure(args) -> dict:
    """One mode, in this process: the first answer, then the boxes question on the kept page."""
    from PIL import Image

    from paperlens.core.engine import LlamaEngine
    from paperlens.core.models import scan_model_dir
    from paperlens.core.page import Page
    from paperlens.core.pipeline import locate_answer
    from paperlens.core.prompts import ask_task, build_prompt, locate_task
    from tests.benchmarks.worker import fixed_length_config

    cfg = fixed_length_config(args.mode, args.device, args.threads)
    engine = LlamaEngine(scan_model_dir(args.model_dir), cfg)
    engine.load()
    page = Page(image=Image.open(args.image).convert("RGB"), number=1, label="Page 1", source=str(args.image))
    t0 = time.perf_counter()
    first = engine.run(
        ask_task(QUESTION), page.image, max_tokens=args.answer_tokens, page_key=page.image_hash
    )
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    located = locate_answer(engine, page, QUESTION, ANSWER, max_tokens=args.boxes_tokens)
    boxes_s = time.perf_counter() - t0
    read = engine.count_tokens(build_prompt(locate_task(QUESTION, ANSWER)).after)  # the text after the page
    engine.close()
    s1, s2 = first.stats, located.result.stats
    return {
        "mode": args.mode,
        "image_tokens": s1.image_tokens,
        "first_s": first_s,
        "first_encode_s": s1.encode_s,
        "first_ttft_s": s1.ttft_s,
        "first_tokens": s1.generated_tokens,
        "boxes_s": boxes_s,
        "boxes_ttft_s": s2.ttft_s,
        "boxes_prompt_tokens": read,
        "boxes_tokens": s2.generated_tokens,
        "boxes_image_reused": s2.image_reused,
        "decode_tokens_per_s": s2.decode_tokens_per_s,
        "ratio": boxes_s / first_s if first_s else float("nan"),
    }


def run_mode(model_dir: Path, image: Path, mode: str, args) -> dict:
    """`measure` in a process of its own (a fresh model, the same conditions as the other benchmarks)."""
    cmd = [
        sys.executable,
        "-m",
        "tests.benchmarks.boxes_bench",
        "--json-line",
        "--model-dir",
        str(model_dir),
        "--image",
        str(image),
        "--mode",
        mode,
        "--device",
        args.device,
        "--answer-tokens",
        str(args.answer_tokens),
        "--boxes-tokens",
        str(args.boxes_tokens),
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        say(proc.stderr[-2000:])
        raise SystemExit(f"boxes benchmark failed: {' '.join(cmd)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report_rows(rows: list[dict]) -> list[str]:
    lines = [
        "| mode | first answer (s): encode + tokens | boxes question (s): text read + tokens | boxes / first | goal |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['first_s']:.2f} ({r['first_encode_s']:.2f} encode, {r['first_tokens']} tokens) | "
            f"{r['boxes_s']:.2f} ({r['boxes_prompt_tokens']} read, {r['boxes_tokens']} tokens"
            f"{'' if r['boxes_image_reused'] else ', page ENCODED AGAIN'}) | {100 * r['ratio']:.1f} % | "
            f"< {100 * GOAL_RATIO:.0f} % |"
        )
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.boxes_bench", description=__doc__.split("\n")[0]
    )
    p.add_argument("--size", choices=("full", "tiny"), default="full")
    p.add_argument("--modes", default="4x", help="comma-separated (default 4x)")
    p.add_argument("--mode", default="4x", help=argparse.SUPPRESS)
    p.add_argument("--model-dir", type=Path, default=None, help="use these model files instead of the twin")
    p.add_argument("--image", type=Path, default=None, help="the page (default: a generated A4 page)")
    p.add_argument("--answer-tokens", type=int, default=64, help="tokens of the first answer (default 64)")
    p.add_argument("--boxes-tokens", type=int, default=64, help="tokens of the boxes answer (default 64)")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json-line", action="store_true", help="measure one mode here and print one JSON line")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    if args.json_line:
        print(json.dumps(measure(args)))
        return 0
    if args.model_dir is None:
        from paperlens.dev.synth import cached_twin

        say(f"Building or reusing the {args.size} synthetic twin…")
        args.model_dir = cached_twin(args.size).text.parent
    from paperlens.core.models import scan_model_dir

    scan_model_dir(args.model_dir).require("4x")  # derive the 4x projector before any timing
    image = args.image or a4_page(ROOT / "bench-results" / "inputs")
    rows = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        say(f"{mode}: first answer, then the boxes question…")
        rows.append(run_mode(args.model_dir, image, mode, args))
    table = "\n".join(report_rows(rows))
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"size": args.size, "rows": rows, "table": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
