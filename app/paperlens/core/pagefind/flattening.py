"""Flattening: the page inside an outline seen straight on, at its true aspect ratio."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from paperlens.core.pagefind.geometry import Quad
from paperlens.core.pagefind.images import as_bgr

PAPER_RATIOS = {  # height / width of sheets people photograph; an estimate this close is snapped to it
    "A series (A4, A5)": math.sqrt(2),
    "US Letter": 11 / 8.5,
    "US Legal": 14 / 8.5,
    "ID card": 85.6 / 53.98,
}
SNAP_TOLERANCE = 0.03
# Focal length of a typical phone main camera or webcam (about 26 mm equivalent), in multiples of the picture's long
# side: used only when the photo itself cannot tell (see page_aspect_ratio).
DEFAULT_FOCAL = 0.8


def page_aspect_ratio(quad: Quad, image_size: tuple[int, int], *, focal: float | None = None) -> float:
    """The page's true height/width ratio, undoing perspective (as in Zhang and He, "Whiteboard scanning", 2007).

    A tilted camera makes the near side of the page look longer, so side lengths in the photo lie. The homography
    from a unit square to the four corners, seen through a camera whose centre is the picture's centre, gives the
    page's two edge directions in 3-D; they must be at right angles, which fixes the focal length, and their lengths
    give the ratio. When that cannot fix the focal length (one pair of sides parallel in the picture, or a nearly
    frontal shot) a typical phone or webcam lens is assumed (`focal`, in multiples of the picture's long side).
    """
    w_img, h_img = image_size
    u0, v0 = w_img / 2.0, h_img / 2.0
    longest = float(max(w_img, h_img))
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    hom = cv2.getPerspectiveTransform(square, quad.as_array()).astype(np.float64)
    # Columns of K^-1 H, with the focal length f still unknown: x and y parts scale with 1/f.
    ax, ay, az = hom[0, 0] - u0 * hom[2, 0], hom[1, 0] - v0 * hom[2, 0], hom[2, 0]
    bx, by, bz = hom[0, 1] - u0 * hom[2, 1], hom[1, 1] - v0 * hom[2, 1], hom[2, 1]
    f = None
    if focal is None and abs(az * bz) > 1e-12:
        f2 = -(ax * bx + ay * by) / (az * bz)  # the page's edges are at right angles
        if f2 > 0 and 0.3 * longest < math.sqrt(f2) < 6.0 * longest:
            f = math.sqrt(f2)
    if f is None:
        f = (focal or DEFAULT_FOCAL) * longest
    width = math.sqrt((ax / f) ** 2 + (ay / f) ** 2 + az**2)
    height = math.sqrt((bx / f) ** 2 + (by / f) ** 2 + bz**2)
    return height / width if width > 0 else 1.0


def _snap_ratio(ratio: float) -> float:
    for known in PAPER_RATIOS.values():
        for candidate in (known, 1.0 / known):
            if abs(ratio / candidate - 1.0) < SNAP_TOLERANCE:
                return candidate
    return ratio


def flatten(
    image: Image.Image | np.ndarray,
    quad: Quad,
    *,
    max_side: int = 3508,
    snap: bool = True,
) -> Image.Image:
    """The page inside `quad`, seen straight on, at its true aspect ratio (snapped to A4/Letter/... when close).

    The output keeps about the detail the photo has along the page's longer side (never more than `max_side`
    pixels, A4 at 300 dpi), because upscaling adds nothing and the model slices the page itself.
    """
    bgr = as_bgr(image)
    h_img, w_img = bgr.shape[:2]
    ratio = page_aspect_ratio(quad, (w_img, h_img))
    if snap:
        ratio = _snap_ratio(ratio)
    tl, tr, br, bl = (np.array(c) for c in quad.corners)
    width_px = max(float(np.linalg.norm(tr - tl)), float(np.linalg.norm(br - bl)))
    height_px = max(float(np.linalg.norm(bl - tl)), float(np.linalg.norm(br - tr)))
    long_side = min(float(max_side), max(width_px, height_px))
    if ratio >= 1:
        out_h, out_w = long_side, long_side / ratio
    else:
        out_w, out_h = long_side, long_side * ratio
    out_w, out_h = max(8, round(out_w)), max(8, round(out_h))
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.as_array(), dst)
    warped = cv2.warpPerspective(
        bgr, matrix, (out_w, out_h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    return Image.fromarray(cv2.cvtColor(warped, cv2.COLOR_BGR2RGB))
