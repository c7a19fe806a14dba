"""Finding the page's outline in a photo or camera frame (`find_page`).

Detection runs on a copy scaled down to about 512 pixels: a page edge is a long straight line, so it survives the
scaling, and a 1280x720 frame costs a few milliseconds on one core. The corners are then refined by fitting straight
lines to the edges, which also recovers corners that are rounded (ID cards) or covered by a finger.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image

from paperlens.core.pagefind.geometry import Quad, intersect, line_through, order_corners
from paperlens.core.pagefind.images import as_bgr

WORK_SIZE = 480  # at most this long side for the copy that detection runs on
MIN_AREA = 0.05  # a page smaller than this share of the picture is too far away to read
MIN_CONFIDENCE = 0.25  # below this, say "no page" rather than draw a wild outline


def find_page(
    image: Image.Image | np.ndarray, *, min_area: float = MIN_AREA, thorough: bool = False
) -> Quad | None:
    """The page's outline in `image` (PIL RGB or a cv2 BGR array), or None when nothing looks like a page.

    Candidates come from three cheap views of the picture: outlines of edges (in lightness and in colour, so white
    paper on a cream table still shows), bright regions, and long straight lines taken four at a time (which is what
    finds a card held in a hand, whose outline is broken by fingers and clutter). All are scored at once on how a
    page's outline looks (see `_View.evaluate`), bigger ones preferred, so the page wins over a picture printed on it.
    The winner's corners are refined on straight-line fits. Coordinates are in the pixels of `image`.

    `thorough` (for photos and the final capture, not for every camera frame) also slides each side of the winner
    outwards while the paper's edges carry on: a book page whose top is a coloured band, or a form whose first
    candidate stopped at a table rule, gets its real edge. It costs about five times a plain search.
    """
    bgr = as_bgr(image)
    h, w = bgr.shape[:2]
    if h < 16 or w < 16:
        return None
    # Shrink by a whole factor: OpenCV's area averaging is fastest then, and it is much of a 720p frame's cost.
    factor = max(1, math.ceil(max(h, w) / WORK_SIZE))
    if factor > 1:
        hc, wc = h // factor * factor, w // factor * factor
        small = cv2.resize(bgr[:hc, :wc], (wc // factor, hc // factor), interpolation=cv2.INTER_AREA)
    else:
        small = bgr
    view = _View(small)
    quads: list[np.ndarray] = []
    for quad in _candidates(view, min_area):
        if _plausible(quad, view.shape, min_area) and not any(np.abs(quad - s).max() < 2.5 for s in quads):
            quads.append(quad)
    if not quads:
        return None
    stack = np.array(quads)
    confidence, rank = view.evaluate(stack)
    k = int(np.argmax(rank))
    best, best_conf, best_rank = stack[k], float(confidence[k]), float(rank[k])
    if thorough:
        best, best_conf, best_rank = view.polish(best, best_conf, best_rank, min_area)
    refined = view.refine(best)
    if refined is not None and _plausible(refined, view.shape, min_area):
        conf, _ = view.evaluate(refined[None])
        if conf[0] >= best_conf - 0.03:
            best, best_conf = refined, max(float(conf[0]), best_conf)
    if best_conf < MIN_CONFIDENCE:
        return None
    return Quad.from_points(best * factor, confidence=min(1.0, best_conf))


class _View:
    """The scaled-down picture plus what detection needs from it: Lab channels and their gradients."""

    SAMPLES = 40  # points checked along each side
    RUNS = 8  # stretches of a side judged separately
    MAX_REACH = 9  # pixels either side of a side searched for its edge
    EDGE = 60.0  # coherent gradient (Sobel on Lab, colour stretched) that counts as a full edge

    def __init__(self, small_bgr: np.ndarray) -> None:
        self.shape = small_bgr.shape[:2]
        h, w = self.shape
        lab = cv2.GaussianBlur(cv2.cvtColor(small_bgr, cv2.COLOR_BGR2LAB), (5, 5), 0)
        # Colour differences are small numbers in Lab; stretch them so a bluish receipt on a beige table makes an
        # edge as strong as a grey step of the same visual size.
        stretched = lab.astype(np.int16)
        stretched[:, :, 1:] = 128 + 3 * (stretched[:, :, 1:] - 128)
        channels = np.clip(stretched, 0, 255).astype(np.uint8)
        self.light = np.ascontiguousarray(channels[:, :, 0])
        self.chroma = [np.ascontiguousarray(channels[:, :, 1]), np.ascontiguousarray(channels[:, :, 2])]
        gx = cv2.Sobel(channels, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(channels, cv2.CV_32F, 0, 1, ksize=3)
        self.grad = np.stack([gx, gy], axis=-1)  # h x w x channel x (d/dx, d/dy)
        self.values = channels.astype(np.float32)
        self.values[:, :, 1:] /= 3.0  # colour steps are compared in plain Lab units
        self.step = max(3, round(0.012 * max(h, w)))  # how far inside/outside a side colours are compared

    # -- scoring ------------------------------------------------------------------------------------------------------
    def _segments(
        self, p: np.ndarray, q: np.ndarray, samples: int = SAMPLES, n_runs: int = RUNS, border: float = 0.3
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Edge support 0..1 and colour step of straight segments p[k] -> q[k], plus the colours just to their right
        on screen (inside, for a clockwise outline) and a mask of the samples that fell in the picture."""
        h, w = self.shape
        d = q - p
        length = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)
        normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / length[:, None]
        t = (
            0.05 + 0.9 * (np.arange(samples) + 0.5) / samples
        )  # not the ends: corners are rounded, torn, covered
        pts = p[:, None, :] + t[None, :, None] * d[:, None, :]  # segments x samples x 2
        # Search a little off the straight line, more for long sides: a book page or a curled sheet bows.
        offsets = np.arange(-self.MAX_REACH, self.MAX_REACH + 1)
        reach = np.minimum(3 + (0.012 * length).astype(int), self.MAX_REACH)
        xs = np.clip(np.rint(pts[:, :, None, 0] + offsets * normal[:, None, None, 0]), 0, w - 1).astype(
            np.intp
        )
        ys = np.clip(np.rint(pts[:, :, None, 1] + offsets * normal[:, None, None, 1]), 0, h - 1).astype(
            np.intp
        )
        grad = self.grad[ys, xs]  # segments x samples x offsets x channels x 2
        across = grad[..., 0] * normal[:, None, None, None, 0] + grad[..., 1] * normal[:, None, None, None, 1]
        # Coherence: average the signed gradient over runs of samples before taking its size. A real edge has the
        # same polarity all along (paper lighter than the table on the same side), so it adds up; texture, print and
        # clutter point every which way and cancel. Each sample is capped first, so a strong edge under part of a run
        # (a side that overshoots a corner) counts for that part only. Runs, not whole sides, so a bowed edge or a
        # finger costs a part.
        n = len(p)
        across = np.clip(across, -self.EDGE, self.EDGE)
        runs = np.abs(across.reshape(n, n_runs, samples // n_runs, len(offsets), 3).mean(axis=2))
        runs = np.where(np.abs(offsets)[None, None, :, None] <= reach[:, None, None, None], runs, 0.0)
        coherent = runs.max(axis=(2, 3))  # segments x runs
        inside = (pts[..., 0] >= 2) & (pts[..., 0] <= w - 3) & (pts[..., 1] >= 2) & (pts[..., 1] <= h - 3)
        run_inside = inside.reshape(n, n_runs, -1).mean(axis=2) > 0.5
        # A run along the picture's border has no edge to see (the page runs off the picture): weak, not nothing.
        strength = np.sort(
            np.where(run_inside, np.minimum(1.0, coherent / (0.8 * self.EDGE)), border), axis=1
        )
        # The weakest run is forgiven: one stretch where a printed band meets the edge (the polarity flips there), a
        # rounded corner or a fingertip. Refinement puts the corners right afterwards.
        support = strength[:, 1:].mean(axis=1) if n_runs > 2 else strength.mean(axis=1)
        a = pts + self.step * normal[:, None, :]
        b = pts - self.step * normal[:, None, :]
        ok = inside & (a[..., 0] >= 0) & (a[..., 0] < w) & (a[..., 1] >= 0) & (a[..., 1] < h)
        ok &= (b[..., 0] >= 0) & (b[..., 0] < w) & (b[..., 1] >= 0) & (b[..., 1] < h)
        ya, xa = np.clip(a[..., 1], 0, h - 1).astype(np.intp), np.clip(a[..., 0], 0, w - 1).astype(np.intp)
        yb, xb = np.clip(b[..., 1], 0, h - 1).astype(np.intp), np.clip(b[..., 0], 0, w - 1).astype(np.intp)
        va, vb = self.values[ya, xa], self.values[yb, xb]
        diff = np.minimum(np.abs(va - vb).max(axis=2), 40.0)  # the colour step across, sample by sample
        step = np.where(ok, diff, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)
        return support, step, va, ok

    def evaluate(self, quads: np.ndarray, samples: int = SAMPLES) -> tuple[np.ndarray, np.ndarray]:
        """(confidence, rank) of each outline in `quads` (N x 4 x 2, clockwise from top-left), all at once.

        Confidence multiplies three things a page's outline has: edges along all four sides (the weakest sides weigh
        extra, so three good sides and an imaginary fourth do not pass), a colour step across them, and one colour
        just inside each of them (the paper's margin; an outline that wanders off the page into the clutter around it
        has a patchwork inside). Rank adds a preference for size, which is what picks the page over a
        framed picture or a table printed on it.
        """
        h, w = self.shape
        ends = np.roll(quads, -1, axis=1)
        support, step, inner, inner_ok = self._segments(quads.reshape(-1, 2), ends.reshape(-1, 2), samples)
        support, step = support.reshape(-1, 4), step.reshape(-1, 4)
        # Side by side, so a coloured title band along one edge is still "one colour" there.
        centre = np.median(inner, axis=1)  # sides x 3
        close = (np.abs(inner - centre[:, None, :]).max(axis=2) < 18.0) & inner_ok
        uniform = (close.sum(axis=1) / np.maximum(inner_ok.sum(axis=1), 1)).reshape(-1, 4)
        paper = uniform.mean(axis=1)
        self.last_support, self.last_step, self.last_paper = support, step, paper
        s = np.sort(support, axis=1)
        edge = 0.5 * s.mean(axis=1) + 0.3 * s[:, 1] + 0.2 * s[:, 0]
        contrast = 0.6 + 0.4 * np.minimum(1.0, step / 20.0).mean(axis=1)
        confidence = edge * contrast * (0.6 + 0.4 * paper)
        x, y = quads[..., 0], quads[..., 1]
        area = 0.5 * np.abs((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1)) / (h * w)
        return confidence, confidence**2 * np.sqrt(np.minimum(area, 1.0))

    def polish(
        self, quad: np.ndarray, confidence: float, rank: float, min_area: float
    ) -> tuple[np.ndarray, float, float]:
        """Slide (and then tilt) each side in turn to where the rank is highest; at most two rounds.

        A side moves by sliding its two corners along the neighbouring sides, so the outline stays on the same
        neighbours. Moving out is allowed only where those neighbours really continue (their new stretches run along
        an edge too): that is what carries a side found on a printed frame or a coloured title band out to the
        paper's real edge, without letting a card's outline grow into the keyboard behind it.
        """
        coarse = np.concatenate([[-0.04, -0.02], np.linspace(0.02, 0.4, 20)])
        tilts = np.array([-0.03, -0.015, 0.0, 0.015, 0.03])
        for _ in range(2):
            improved = False
            for i in range(4):
                variants, ok = self._moves(quad, i, coarse, coarse)
                _, rk = self.evaluate(variants, samples=24)
                rk = np.where(ok, rk, -1.0)
                centre = coarse[int(np.argmax(rk))]
                shifts = (centre + np.array([-0.01, 0.0, 0.01]))[:, None]
                sa, sb = (shifts + tilts).ravel(), (shifts - tilts).ravel()
                variants, ok = self._moves(quad, i, sa, sb)
                conf, rk = self.evaluate(variants)
                rk = np.where(ok, rk, -1.0)
                k = int(np.argmax(rk))
                # Growing must not cost much confidence: a bigger outline that fits the picture worse is clutter.
                if (
                    rk[k] > rank * 1.01
                    and conf[k] >= 0.95 * confidence
                    and _plausible(variants[k], self.shape, min_area)
                ):
                    quad, confidence, rank = variants[k], float(conf[k]), float(rk[k])
                    improved = True
            if not improved:
                break
        return quad, confidence, rank

    def _moves(
        self, quad: np.ndarray, i: int, sa: np.ndarray, sb: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Copies of `quad` with side i moved (its corners slid by sa, sb times the neighbouring sides), and whether
        each move is allowed: any stretch a move adds to a neighbouring side must itself lie on an edge."""
        ia, ib = i, (i + 1) % 4
        a, b = quad[ia], quad[ib]
        variants = np.repeat(quad[None], len(sa), axis=0)
        variants[:, ia] = a + sa[:, None] * (a - quad[(i - 1) % 4])
        variants[:, ib] = b + sb[:, None] * (b - quad[(i + 2) % 4])
        starts = np.concatenate([np.repeat(a[None], len(sa), 0), np.repeat(b[None], len(sb), 0)])
        ext, _, _, _ = self._segments(starts, np.concatenate([variants[:, ia], variants[:, ib]]), 10, 2, 0.0)
        grown = np.concatenate([sa, sb]) > 0.005
        fine = (~grown | (ext >= 0.6)).reshape(2, -1)
        return variants, fine[0] & fine[1]

    # -- refinement ---------------------------------------------------------------------------------------------------
    def refine(self, quad: np.ndarray) -> np.ndarray | None:
        """Fit a straight line to the strongest edge near each side and intersect neighbours: sub-pixel corners.

        This also puts a rounded corner (an ID card) or one under a finger where the two edges would meet.
        """
        h, w = self.shape
        reach = max(3, int(0.02 * max(h, w)))
        offsets = np.arange(-reach, reach + 1)
        t = np.linspace(0.12, 0.88, 40)
        lines = []
        for i in range(4):
            p, q = quad[i], quad[(i + 1) % 4]
            d = q - p
            length = float(np.hypot(*d))
            if length < 8:
                return None
            normal = np.array([-d[1], d[0]]) / length
            pts = p[None, :] + t[:, None] * d[None, :]
            xs = pts[:, None, 0] + offsets[None, :] * normal[0]
            ys = pts[:, None, 1] + offsets[None, :] * normal[1]
            xi = np.clip(np.rint(xs), 0, w - 1).astype(np.intp)
            yi = np.clip(np.rint(ys), 0, h - 1).astype(np.intp)
            g = self.grad[yi, xi]  # samples x offsets x channels x 2
            across = np.abs(g[..., 0] * normal[0] + g[..., 1] * normal[1]).max(axis=2)
            # Prefer the edge nearest the current side among strong ones: a printed frame just inside the paper's
            # edge is often as strong as the edge itself.
            weighted = across * (1.0 - 0.3 * np.abs(offsets)[None, :] / reach)
            rows = np.arange(len(t))
            k = np.argmax(weighted, axis=1)
            fx, fy = xs[rows, k], ys[rows, k]
            keep = (across[rows, k] > 0.5 * self.EDGE) & (fx > 1) & (fx < w - 2) & (fy > 1) & (fy < h - 2)
            if keep.sum() < 8:
                lines.append(line_through(p, q))
                continue
            found = np.stack([fx, fy], axis=1)[keep].astype(np.float32)
            vx, vy, x0, y0 = cv2.fitLine(found, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            lines.append(np.array([vy, -vx, vx * y0 - vy * x0], dtype=np.float64))  # a x + b y + c = 0
        corners = [intersect(lines[(i - 1) % 4], lines[i]) for i in range(4)]
        if any(c is None for c in corners):
            return None
        out = np.array(corners)
        if np.abs(out - quad).max() > 0.06 * max(h, w):
            return None
        return out


def _candidates(view: _View, min_area: float) -> Iterator[np.ndarray]:
    """Four-cornered outlines that might be the page: from edge outlines, bright regions and long lines."""
    h, w = view.shape
    min_px = min_area * h * w
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    maps: list[np.ndarray] = []  # Canny's edge maps: uint8, 0 or 255
    for channel in (view.light, *view.chroma):
        if channel is view.light:
            median = float(np.median(channel[::4, ::4]))
            lo, hi = max(8.0, 0.17 * median), max(20.0, 0.33 * median)
        else:
            lo, hi = 10.0, 30.0
        maps.append(cv2.Canny(channel, lo, hi, L2gradient=True))
    hulls: list[np.ndarray] = []
    # Each channel alone, and all together: a page's outline can be a lightness edge on three sides and a colour
    # edge on the fourth (a red title band against a grey jumper).
    for edges in (maps[0], maps[1], maps[2], maps[0] | maps[1] | maps[2]):
        contours, _ = cv2.findContours(cv2.dilate(edges, kernel), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        # Rank by the hull's area, not the outline's: a page edge with a gap (a torn corner, a faint side) is an
        # open curve with no area of its own, but its hull is the page.
        found = [cv2.convexHull(c) for c in contours if len(c) >= 8]
        found.sort(key=cv2.contourArea, reverse=True)
        hulls.extend(hull for hull in found[:8] if cv2.contourArea(hull) >= min_px)
    # Regions: paper is usually the brightest large thing in a photo of a page.
    _, bright = cv2.threshold(view.light, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:3]:
        if cv2.contourArea(c) >= min_px:
            hulls.append(cv2.convexHull(c))
    for hull in hulls:
        quad = _reduce_to_quad(hull)
        if quad is not None:
            yield quad
    yield from _line_quads(view, min_area)


# One line-segment detector, used under a lock: an OpenCV detector object is not safe to use from two threads at once,
# and the window renders a page and its thumbnail on two pool threads (unguarded, that crashed the process under load).
# (A detector per thread, kept in threading.local, crashed too: Qt's pool threads tear down their Python state.)
_LSD: cv2.LineSegmentDetector | None = None
_LSD_LOCK = threading.Lock()


def _line_quads(view: _View, min_area: float, per_family: int = 14, keep: int = 8) -> Iterator[np.ndarray]:
    """Outlines made of four long straight lines: two roughly horizontal, two roughly vertical.

    Line segments (LSD) are merged into lines; every pair of lines of one direction is combined with every pair of
    the other (a few thousand combinations, scored at once with numpy by how much of each side segments cover, so an
    imaginary side sinks the lot), and the best go on to the full score.
    """
    global _LSD
    h, w = view.shape
    dim = max(h, w)
    with _LSD_LOCK:
        if _LSD is None:
            _LSD = cv2.createLineSegmentDetector()
        found = _LSD.detect(view.light)[0]
    if found is None:
        return
    segs = found.reshape(-1, 4).astype(np.float64)
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    order = np.argsort(-lengths)
    segs, lengths = segs[order], lengths[order]
    long_enough = lengths >= 0.03 * dim
    segs, lengths = segs[long_enough][:150], lengths[long_enough][:150]
    lines: list[dict] = []
    cos_tol = math.cos(math.radians(4))
    for seg, length in zip(segs, lengths, strict=True):
        p0, p1 = seg[:2], seg[2:]
        direction = (p1 - p0) / length
        for line in lines:
            if abs(float(np.dot(direction, line["dir"]))) < cos_tol:
                continue
            n, c = line["n"], line["c"]
            if abs(float(np.dot(n, p0)) - c) < 2.5 and abs(float(np.dot(n, p1)) - c) < 2.5:
                line["segs"].append((p0, p1))
                line["support"] += length
                break
        else:
            n = np.array([-direction[1], direction[0]])
            lines.append(
                {"dir": direction, "n": n, "c": float(np.dot(n, p0)), "segs": [(p0, p1)], "support": length}
            )
    lines = [ln for ln in _merge_lines(lines, dim) if ln["support"] >= 0.08 * dim]
    horizontal = sorted(
        (ln for ln in lines if abs(ln["dir"][0]) >= abs(ln["dir"][1])), key=lambda ln: -ln["support"]
    )
    vertical = sorted(
        (ln for ln in lines if abs(ln["dir"][0]) < abs(ln["dir"][1])), key=lambda ln: -ln["support"]
    )
    horizontal, vertical = horizontal[:per_family], vertical[:per_family]
    nh, nv = len(horizontal), len(vertical)
    if nh < 2 or nv < 2:
        return
    hh = np.array([[ln["n"][0], ln["n"][1], -ln["c"]] for ln in horizontal])
    vv = np.array([[ln["n"][0], ln["n"][1], -ln["c"]] for ln in vertical])
    cross = np.cross(hh[:, None, :], vv[None, :, :])  # where each horizontal line meets each vertical one
    with np.errstate(divide="ignore", invalid="ignore"):
        meet = cross[..., :2] / cross[..., 2:3]
    meet = np.where(np.isfinite(meet), meet, 1e9)

    def coverage(family: list[dict], points: np.ndarray) -> np.ndarray:
        """cov[k, a, b]: the share of line k between its meeting points a and b that segments cover."""
        out = np.zeros((len(family), points.shape[1], points.shape[1]))
        for k, line in enumerate(family):
            d = line["dir"]
            spans = np.array([sorted((float(np.dot(d, a)), float(np.dot(d, b)))) for a, b in line["segs"]])
            t = points[k] @ d
            lo = np.minimum(t[:, None], t[None, :])[..., None]
            hi = np.maximum(t[:, None], t[None, :])[..., None]
            covered = np.clip(np.minimum(spans[:, 1], hi) - np.maximum(spans[:, 0], lo), 0, None).sum(axis=-1)
            span = hi[..., 0] - lo[..., 0]
            out[k] = np.where(span > 1, np.minimum(1.0, covered / np.maximum(span, 1e-9)), 0.0)
        return out

    cov_h = coverage(horizontal, meet)  # [i, j1, j2]
    cov_v = coverage(vertical, meet.transpose(1, 0, 2))  # [j, i1, i2]
    i1, i2 = np.triu_indices(nh, 1)
    j1, j2 = np.triu_indices(nv, 1)
    top, left = (a.ravel() for a in np.meshgrid(i1, j1, indexing="ij"))
    bottom, right = (a.ravel() for a in np.meshgrid(i2, j2, indexing="ij"))
    corners = np.stack([meet[top, left], meet[top, right], meet[bottom, right], meet[bottom, left]], axis=1)
    cov = np.stack(
        [
            cov_h[top, left, right],
            cov_v[right, top, bottom],
            cov_h[bottom, left, right],
            cov_v[left, top, bottom],
        ],
        axis=1,
    )
    x, y = corners[..., 0], corners[..., 1]
    area = 0.5 * np.abs((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1)) / (h * w)
    margin = 0.1 * dim
    inside = (x.min(axis=1) > -margin) & (y.min(axis=1) > -margin)
    inside &= (x.max(axis=1) < w + margin) & (y.max(axis=1) < h + margin)
    edges = np.roll(corners, -1, axis=1) - corners
    nxt = np.roll(edges, -1, axis=1)
    turn = edges[..., 0] * nxt[..., 1] - edges[..., 1] * nxt[..., 0]
    convex = (turn > 0).all(axis=1) | (turn < 0).all(axis=1)
    ok = inside & convex & (area >= min_area) & (area <= 1.2)
    # Every side must be covered: the geometric mean sinks when one side is imaginary. Size counts only a little
    # here; the full score decides between a page and things printed on it.
    score = np.prod(np.maximum(cov, 0.02), axis=1) ** 0.25 * np.minimum(area, 1.0) ** 0.25
    score = np.where(ok, score, -1.0)
    for k in np.argsort(-score)[:keep]:
        if score[k] <= 0:
            break
        yield order_corners(corners[k])


def _merge_lines(lines: list[dict], dim: int) -> list[dict]:
    """Join lines that are one edge found twice (LSD breaks an edge where the light or the print changes)."""
    merged: list[dict] = []
    cos_tol = math.cos(math.radians(6))
    tol = max(3.0, 0.008 * dim)
    for line in sorted(lines, key=lambda ln: -ln["support"]):
        for big in merged:
            if abs(float(np.dot(line["dir"], big["dir"]))) < cos_tol:
                continue
            if all(abs(float(np.dot(big["n"], p)) - big["c"]) < tol for seg in line["segs"] for p in seg):
                big["segs"].extend(line["segs"])
                big["support"] += line["support"]
                break
        else:
            merged.append(line)
    for line in merged:
        if len(line["segs"]) > 1:
            pts = np.array([p for seg in line["segs"] for p in seg], dtype=np.float32)
            vx, vy, x0, y0 = cv2.fitLine(pts, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
            direction = np.array([vx, vy], dtype=np.float64)
            line["dir"] = direction
            line["n"] = np.array([-direction[1], direction[0]])
            line["c"] = float(np.dot(line["n"], [x0, y0]))
    return merged


def _reduce_to_quad(hull: np.ndarray) -> np.ndarray | None:
    """Four corners from a convex outline: simplify it, then drop the shortest sides by extending their neighbours.

    Dropping a short side and meeting its neighbours where they cross is what puts back a corner that a finger, a
    rounded card corner or a torn edge has cut off.
    """
    perimeter = cv2.arcLength(hull, True)
    if perimeter <= 0:
        return None
    poly = cv2.approxPolyDP(hull, 0.015 * perimeter, True).reshape(-1, 2).astype(np.float64)
    if len(poly) < 4:
        return None
    while len(poly) > 4:
        n = len(poly)
        lengths = np.hypot(*(np.roll(poly, -1, axis=0) - poly).T)
        i = int(np.argmin(lengths))  # side poly[i] -> poly[i+1]
        a0, a1 = poly[(i - 1) % n], poly[i]
        b0, b1 = poly[(i + 1) % n], poly[(i + 2) % n]
        pt = intersect(line_through(a0, a1), line_through(b0, b1))
        if pt is None or not np.all(np.isfinite(pt)) or np.hypot(*(pt - a1)) > 0.5 * perimeter:
            pt = (a1 + b0) / 2  # the neighbours run apart: merge the short side into one point instead
        merged = list(poly)
        merged[i] = pt
        del merged[(i + 1) % n]
        poly = np.array(merged)
    return order_corners(poly)


def _plausible(quad: np.ndarray, shape: tuple[int, int], min_area: float) -> bool:
    """A page seen by a camera: convex, big enough, corners near the picture, no side folded down to nothing."""
    h, w = shape
    if not np.all(np.isfinite(quad)):
        return False
    margin = 0.1 * max(h, w)
    if quad[:, 0].min() < -margin or quad[:, 1].min() < -margin:
        return False
    if quad[:, 0].max() > w + margin or quad[:, 1].max() > h + margin:
        return False
    if not cv2.isContourConvex(np.round(quad).astype(np.int32).reshape(-1, 1, 2)):
        return False
    area = abs(cv2.contourArea(quad.astype(np.float32)))
    if area < min_area * h * w:
        return False
    sides = np.hypot(*(np.roll(quad, -1, axis=0) - quad).T)
    if sides.min() < 0.12 * sides.max():
        return False
    for i in range(4):
        a = quad[(i - 1) % 4] - quad[i]
        b = quad[(i + 1) % 4] - quad[i]
        cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
        if abs(cos) > 0.8:  # corner sharper than about 37 degrees or flatter than 143
            return False
    return True
