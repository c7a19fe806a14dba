"""What lies around an outline: tells a photographed page (on a desk, in a hand) from a box on a flat scan."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from paperlens.core.pagefind.detect import WORK_SIZE
from paperlens.core.pagefind.geometry import Quad
from paperlens.core.pagefind.images import as_bgr


def surround_contrast(image: Image.Image | np.ndarray, quad: Quad) -> float:
    """How different the picture just outside the outline is from just inside it (Lab units, the typical side).

    A photographed page lies on something else (a desk, a table, a hand): tens of units. An outline found inside a
    scan (a table or a picture printed on the page) has the same paper on both sides: a few units. Bands a little
    away from the outline are compared by their median colour, so print near the edge does not count.
    """
    bgr = as_bgr(image)
    h, w = bgr.shape[:2]
    factor = max(1, math.ceil(max(h, w) / WORK_SIZE))
    small = cv2.resize(bgr, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).astype(np.float32)
    sh, sw = lab.shape[:2]
    pts = quad.as_array().astype(np.float64) / factor
    centre = pts.mean(axis=0)
    diffs = []
    t = np.linspace(0.1, 0.9, 24)
    for i in range(4):
        p, q = pts[i], pts[(i + 1) % 4]
        d = q - p
        n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-6)
        if np.dot(centre - p, n) < 0:
            n = -n  # point inwards
        line = p[None, :] + t[:, None] * d[None, :]
        bands = []
        for sign in (1, -1):
            samples = []
            for depth in (0.02, 0.035, 0.05):
                xy = line + sign * depth * max(sh, sw) * n
                ok = (xy[:, 0] >= 0) & (xy[:, 0] < sw) & (xy[:, 1] >= 0) & (xy[:, 1] < sh)
                samples.append(lab[xy[ok, 1].astype(int), xy[ok, 0].astype(int)])
            bands.append(np.concatenate(samples))
        inside, outside = bands
        if len(outside) < 6 or len(inside) < 6:
            continue  # the side runs along the picture's border: nothing outside to compare
        diffs.append(float(np.abs(np.median(inside, axis=0) - np.median(outside, axis=0)).max()))
    return float(np.median(diffs)) if diffs else 0.0


def _outside(image: Image.Image | np.ndarray, quad: Quad) -> tuple[np.ndarray, np.ndarray, int]:
    """(grey copy of at most 1000 px, mask of what lies clearly outside the outline, the copy's long side)."""
    bgr = as_bgr(image)
    h, w = bgr.shape[:2]
    f = min(1.0, 1000.0 / max(h, w))
    small = cv2.resize(bgr, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    dim = max(gray.shape)
    inside = np.zeros_like(gray)
    cv2.fillPoly(inside, [np.round(quad.as_array() * f).astype(np.int32)], 255)
    # Leave out a band around the outline (the page's edge, its shadow) and the picture's own border.
    margin = max(3, round(0.02 * dim))
    grown = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1)))
    out = grown == 0
    b = max(2, round(0.01 * dim))
    out[:b, :] = out[-b:, :] = False
    out[:, :b] = out[:, -b:] = False
    return gray, out, dim


def outside_marks(image: Image.Image | np.ndarray, quad: Quad) -> int:
    """How many marks of print (dark, compact, glyph-sized) lie on paper outside the outline.

    Paper here is ground as light as the lightest paper in the picture (within 25 grey levels of its 95th
    percentile); a mark is at least 90 levels darker than the ground around it, glyph-sized and not a long streak.
    A flat scan whose "page" is really a panel, a box or a table on it has its title, text and footer outside: tens
    or hundreds of marks. A photographed page lies on a desk, a table or a hand, which is darker than the paper or
    carries no print: a handful at most (wood grain, a keyboard's edge).
    """
    gray, out, dim = _outside(image, quad)
    if not out.any():
        return 0
    k = max(5, round(0.025 * dim)) | 1
    ground = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    level = float(np.percentile(ground, 95))
    depth = ground.astype(np.int16) - gray.astype(np.int16)
    ink = (depth > 50) & (ground >= max(120.0, level - 25)) & out
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n <= 1:
        return 0
    deepest = np.zeros(n, np.int16)
    np.maximum.at(deepest, labels.ravel(), depth.ravel())
    stats, deepest = stats[1:], deepest[1:]
    long_side = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    short_side = np.maximum(np.minimum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]), 1)
    glyph = (stats[:, cv2.CC_STAT_AREA] >= 4) & (long_side >= 3) & (long_side <= 0.04 * dim)
    glyph &= (deepest >= 90) & (long_side <= 6 * short_side)
    return int(glyph.sum())


def outside_noise(image: Image.Image | np.ndarray, quad: Quad) -> float:
    """The share of neighbouring pixels outside the outline that differ at all: 0.5 to 0.95 in a camera picture
    (sensor noise, texture, light), near 0 in a rendered one (a screenshot, a page exported from a PDF), whose flat
    colours are exactly flat."""
    gray, out, _ = _outside(image, quad)
    both = out[:, 1:] & out[:, :-1]
    if not both.any():
        return 0.0
    return float((np.diff(gray.astype(np.int16), axis=1) != 0)[both].mean())
