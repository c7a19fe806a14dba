"""Page finding, measured: overlap with hand-marked corners on real phone photos, and frames per second on one core.

    .venv/bin/python tests/benchmarks/pagefind_bench.py [--corpus ../shared/corpus/photos] [--frames 200] [--json OUT]
                                                        [--draw DIR]

Prints a table; never asserts. The photos are read from the shared corpus when it is there (the corners are in
tests/fixtures/corpus_photo_corners.json, marked by hand on zoomed crops). Speed is measured on 1280x720 frames made
from those photos when present, or from synthetic pages warped onto a textured background, with OpenCV limited to one
thread, as the camera view runs it beside everything else.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, numpy's helpers included
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "app"))

from paperlens.core.pagefind import Quad, find_page, flatten, quad_iou  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "corpus_photo_corners.json"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "photos"


def load_photo(path: Path) -> np.ndarray:
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def synthetic_frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """1280x720 frames of a text page under random perspective on a noisy, textured table."""
    rng = np.random.default_rng(seed)
    frames = []
    page = np.full((1100, 780, 3), 245, np.uint8)
    for y in range(80, 1020, 28):
        cv2.putText(
            page,
            "Lorem ipsum dolor sit amet, consectetur",
            (60, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8,
            (30, 30, 30),
            2,
        )
    for _ in range(n):
        table = rng.integers(60, 120, (720, 1280, 3), dtype=np.uint8)
        table = cv2.GaussianBlur(table, (0, 0), 3)
        cx, cy = 640 + rng.uniform(-80, 80), 360 + rng.uniform(-40, 40)
        hw, hh = rng.uniform(180, 240), rng.uniform(250, 320)
        dst = np.array(
            [[cx - hw, cy - hh], [cx + hw, cy - hh], [cx + hw, cy + hh], [cx - hw, cy + hh]], np.float32
        )
        dst += rng.uniform(-40, 40, dst.shape).astype(np.float32)
        src = np.array([[0, 0], [780, 0], [780, 1100], [0, 1100]], np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(page, m, (1280, 720))
        mask = cv2.warpPerspective(np.full(page.shape[:2], 255, np.uint8), m, (1280, 720))
        table[mask > 0] = warped[mask > 0]
        frames.append(table)
    return frames


def synthetic_overlap(n: int, seed: int = 0) -> dict:
    """IoU over random photographed pages (tests/unit/scenes.py): backgrounds, page kinds, tilts, a thumb on a corner
    in every fifth scene. A broader check than five photos, with exact corners."""
    sys.path.insert(0, str(ROOT))
    from tests.unit.scenes import page_image, photo

    rng = np.random.default_rng(seed)
    ious: dict[str, list[float]] = {"fast": [], "thorough": []}
    for i in range(n):
        scene = dict(
            bg=str(rng.choice(["dark", "wood", "light"])),
            page=page_image(kind=str(rng.choice(["text", "table", "band"])), seed=i),
            tilt_x=float(rng.uniform(-25, 25)),
            tilt_y=float(rng.uniform(-25, 25)),
            roll=float(rng.uniform(-20, 20)),
            fill=float(rng.uniform(0.45, 0.85)),
            shift=(float(rng.uniform(-0.08, 0.08)), float(rng.uniform(-0.08, 0.08))),
            seed=i,
            occlude_corner=int(rng.integers(0, 4)) if i % 5 == 4 else None,
        )
        frame, truth = photo(**scene)
        for key, thorough in (("fast", False), ("thorough", True)):
            quad = find_page(frame, thorough=thorough)
            ious[key].append(quad_iou(quad, truth) if quad else 0.0)
    out = {}
    print(
        f"\nSynthetic scenes: {n} random pages on dark, wood and pale tables (a thumb over a corner in every fifth)"
    )
    for key, values in ious.items():
        v = np.array(values)
        out[key] = {
            "mean": round(float(v.mean()), 4),
            "min": round(float(v.min()), 4),
            "at_least_0.9": float((v >= 0.9).mean()),
        }
        print(
            f"  {key:9} mean IoU {v.mean():.3f}, lowest {v.min():.3f}, {(v >= 0.9).mean():.0%} at 0.9 or better"
        )
    return out


def _time(frames: list[np.ndarray], n: int, thorough: bool) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, frames with a page found) for n searches."""
    for f in frames[:2]:
        find_page(f, thorough=thorough)  # warm-up
    found = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(n):
        quad: Quad | None = find_page(frames[i % len(frames)], thorough=thorough)
        found += quad is not None
    return time.perf_counter() - wall0, time.process_time() - cpu0, found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--frames", type=int, default=200, help="frames to time (default 200)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument(
        "--draw", type=Path, help="write each photo with found (green) and true (red) outlines here"
    )
    ap.add_argument(
        "--synthetic", type=int, default=0, help="also score N random synthetic scenes (e.g. 100)"
    )
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    report: dict = {
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "machine": platform.machine(),
    }

    fixture = json.loads(FIXTURE.read_text())
    photos: dict[str, np.ndarray] = {}
    if args.corpus.is_dir():
        rows = []
        print(f"Page finding on {args.corpus} (thorough search, as for a photo or the final capture)")
        print(f"{'photo':28} {'IoU':>6} {'confidence':>10} {'fast IoU':>9} {'ms':>7}  flattened")
        for name, truth in fixture["photos"].items():
            path = args.corpus / name
            if not path.exists():
                print(f"{name:28} missing")
                continue
            bgr = load_photo(path)
            photos[name] = bgr
            truth_arr = np.array(truth, np.float32)
            t0 = time.perf_counter()
            quad = find_page(bgr, thorough=True)
            ms = (time.perf_counter() - t0) * 1000
            fast = find_page(bgr)
            iou = quad_iou(quad, truth_arr) if quad else 0.0
            fast_iou = quad_iou(fast, truth_arr) if fast else 0.0
            conf = quad.confidence if quad else 0.0
            size = ""
            if quad:
                flat = flatten(bgr, quad)
                size = f"{flat.width}x{flat.height}"
            print(f"{name:28} {iou:6.3f} {conf:10.2f} {fast_iou:9.3f} {ms:7.0f}  {size}")
            rows.append(
                {
                    "photo": name,
                    "iou": round(iou, 4),
                    "fast_iou": round(fast_iou, 4),
                    "confidence": round(conf, 3),
                }
            )
            if args.draw:
                args.draw.mkdir(parents=True, exist_ok=True)
                canvas = bgr.copy()
                cv2.polylines(canvas, [np.array(truth, np.int32)], True, (0, 0, 255), 12)
                if quad:
                    cv2.polylines(canvas, [quad.as_array().astype(np.int32)], True, (0, 255, 0), 8)
                small = cv2.resize(canvas, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
                cv2.imwrite(str(args.draw / name.replace(".jpg", ".png")), small)
        if rows:
            print(
                f"{'lowest':28} {min(r['iou'] for r in rows):6.3f} {'':10} {min(r['fast_iou'] for r in rows):9.3f}"
            )
            print(f"{'mean':28} {sum(r['iou'] for r in rows) / len(rows):6.3f}")
        report["photos"] = rows
    else:
        print(f"No corpus at {args.corpus}: overlap not measured.")

    if args.synthetic:
        report["synthetic"] = synthetic_overlap(args.synthetic)

    # Speed on 1280x720 frames, one OpenCV thread.
    if photos:
        frames = []
        for bgr in photos.values():
            # The phone photos are portrait; the camera view sees a 1280x720 landscape frame: fit them in it.
            h, w = bgr.shape[:2]
            s = 720 / h
            small = cv2.resize(bgr, (round(w * s), 720), interpolation=cv2.INTER_AREA)
            canvas = np.full((720, 1280, 3), 40, np.uint8)
            x0 = (1280 - small.shape[1]) // 2
            canvas[:, x0 : x0 + small.shape[1]] = small
            frames.append(canvas)
        kind = "corpus photos fitted into 1280x720"
    else:
        frames = synthetic_frames(8)
        kind = "synthetic pages on a textured table"
    print(f"\nSpeed on 1280x720 frames ({kind}), 1 OpenCV thread:")
    for label, thorough, n in (
        ("live (fast)", False, args.frames),
        ("thorough", True, max(10, args.frames // 10)),
    ):
        wall, cpu, found = _time(frames, n, thorough)
        print(
            f"  {label:12} {n / wall:6.1f} frames/s wall clock, {n / cpu:6.1f} frames/s of CPU time "
            f"({cpu / n * 1000:.1f} ms each), page found in {found}/{n}"
        )
        key = "fast" if not thorough else "thorough"
        report[f"{key}_fps_wall"] = round(n / wall, 1)
        report[f"{key}_fps_cpu"] = round(n / cpu, 1)
    report["speed_frames"] = kind
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
