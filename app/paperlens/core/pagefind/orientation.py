"""Turning a page upright: quarter turns, and measuring and undoing a flatbed scan's small tilt (deskew)."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from paperlens.core.pagefind.images import as_bgr


def rotate(image: Image.Image, quarter_turns: int) -> Image.Image:
    """Rotate by 90-degree steps, clockwise for positive numbers (a "rotate right" button adds one)."""
    turns = quarter_turns % 4
    if turns == 0:
        return image
    op = {1: Image.Transpose.ROTATE_270, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_90}[turns]
    return image.transpose(op)


def estimate_skew(image: Image.Image | np.ndarray, *, max_angle: float = 10.0) -> float:
    """The angle in degrees by which text lines on a scanned page are tilted, counter-clockwise positive (the sense
    of PIL's `Image.rotate`, so `image.rotate(-angle)` levels them).

    Uses the projection profile: rotated back by the right angle, the rows of a text page alternate between ink and
    blank, so the row sums vary the most. Coarse search in 0.5 degree steps, then 0.05 degree steps around the best.
    """
    gray = cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    factor = min(1.0, 1000.0 / max(h, w))
    if factor < 1:
        gray = cv2.resize(gray, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return 0.0
    if len(xs) > 60000:
        pick = np.random.default_rng(0).choice(len(xs), 60000, replace=False)
        xs, ys = xs[pick], ys[pick]
    cx, cy = gray.shape[1] / 2, gray.shape[0] / 2
    xs = xs.astype(np.float64) - cx
    ys = ys.astype(np.float64) - cy
    n_rows = gray.shape[0] * 2

    def spread(angle: float) -> float:
        a = math.radians(angle)
        # Row of each ink pixel after rotating the page by `angle` (counter-clockwise in image terms).
        rows = (ys * math.cos(a) + xs * math.sin(a) + n_rows / 2).astype(np.int64)
        rows = np.clip(rows, 0, n_rows - 1)
        profile = np.bincount(rows, minlength=n_rows).astype(np.float64)
        return float(np.sum(profile * profile))

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    best = max(coarse, key=spread)
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    best = max(fine, key=spread)
    return float(round(best, 2))


def deskew(
    image: Image.Image, *, angle: float | None = None, max_angle: float = 10.0, min_angle: float = 0.1
) -> Image.Image:
    """A flatbed scan turned so its text lines run level; white fills the corners the turn uncovers.

    `angle` is `estimate_skew`'s answer when the caller has it already.
    """
    if angle is None:
        angle = estimate_skew(image, max_angle=max_angle)
    if abs(angle) < min_angle:
        return image
    # estimate_skew measures in PIL's sense (counter-clockwise positive): turning back by -angle levels the lines.
    return image.convert("RGB").rotate(-angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
