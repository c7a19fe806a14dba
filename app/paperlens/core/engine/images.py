"""A page image on its way into llama.cpp: RGB, scaled to what the slicer can use, off the A4 slice-grid tie.

Also the machine facts an engine needs about itself (physical cores, peak memory), which have no better home.
"""

from __future__ import annotations

import os
import sys

from PIL import Image

from paperlens.core.errors import ImageDecodeError


def as_rgb(image: Image.Image) -> Image.Image:
    try:
        image.load()
        rgb = image if image.mode == "RGB" else image.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ImageDecodeError(f"The page image cannot be decoded ({exc}).") from exc
    if rgb.width < 1 or rgb.height < 1:
        raise ImageDecodeError("The page image is empty.")
    return steady_slice_grid(fit_slicer(rgb))


ISO_RATIO = 2**0.5  # A4, A5, A3...: long side / short side
# llama.cpp cuts an image into at most 9 slices of 448x448 (plus an overview) and scales everything else away. An
# image with 25 % more pixels than that already gets the full 9-slice grid, so more pixels only cost memory and time.
SLICER_PIXELS = int(9 * 448 * 448 * 1.25)


def fit_slicer(rgb: Image.Image) -> Image.Image:
    """Scale a large image (a 12 MP phone photo, a 3136 px scan) down to what llama.cpp's slicer can use.

    Same shape, so the same slice grid and the same image tokens; a 12 MP photo then takes 7 MB instead of 36 MB per
    copy on its way into llama.cpp, and a high-quality filter here replaces llama.cpp's cheaper one for the big step.
    """
    w, h = rgb.size
    if w * h <= SLICER_PIXELS:
        return rgb
    scale = (SLICER_PIXELS / (w * h)) ** 0.5
    return rgb.resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS, reducing_gap=3.0
    )


def steady_slice_grid(rgb: Image.Image) -> Image.Image:
    """Keep ISO-shaped pages (A4 and its kin, ratio √2) off llama.cpp's tie between two slice grids.

    llama.cpp's slicer (llava-uhd) picks the grid whose shape is closest to the image's on a log scale, and √2 is
    exactly halfway between a square grid (3x3) and a 1:2 grid (2x4). An A4 page therefore gets 8 or 9 slices (2,223 or
    2,470 image tokens in 4x mode) depending on one pixel of rounding. Cropping at most a few pixels off the short side
    (a page margin) puts every such page on the 1:2 grid: predictable cost, and the cheaper of the two.
    """
    w, h = rgb.size
    short, long_ = min(w, h), max(w, h)
    ratio = long_ / short
    if not ISO_RATIO - 0.004 < ratio <= ISO_RATIO + 0.0005:
        return rgb
    new_short = int(long_ / (ISO_RATIO + 0.001))
    if new_short >= short or short - new_short > max(4, short // 100):
        return rgb
    cut = short - new_short
    left, top = (cut // 2, 0) if w < h else (0, cut // 2)
    return rgb.crop((left, top, left + (new_short if w < h else w), top + (h if w < h else new_short)))


def pixels_key(rgb: Image.Image) -> str:
    import hashlib

    h = hashlib.sha1(f"{rgb.width}x{rgb.height}".encode())
    h.update(rgb.tobytes())
    return h.hexdigest()


def physical_cores() -> int:
    """PaperLens' default thread count: llama.cpp gains nothing from hyper-threads."""
    import psutil

    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)


def peak_rss_mb() -> float:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)
    except ImportError:  # Windows
        import psutil

        return getattr(psutil.Process().memory_info(), "peak_wset", 0) / (1024 * 1024)
