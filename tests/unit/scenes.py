"""Test fixtures built by the tests themselves: PDFs, image files, photographed pages with exact corners, videos.

A "photo" here is a synthetic page (text, a table, a colour band) projected by a pinhole camera (principal point at
the picture's centre, as in a phone) onto a background, so its corners and its true aspect ratio are known exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pymupdf
from PIL import Image


# -- PDFs -------------------------------------------------------------------------------------------------------------
def make_pdf(
    path: Path,
    pages: list[str],
    *,
    size: tuple[float, float] = (595.0, 842.0),  # A4 in points
    rotations: dict[int, int] | None = None,
    blank: set[int] | None = None,
    table_on: set[int] | None = None,
    image_only: set[int] | None = None,
    labels: list[dict] | None = None,
    owner_pw: str | None = None,
    user_pw: str | None = None,
) -> Path:
    """A PDF with one text page per entry of `pages` (text drawn as real text, so it has a text layer)."""
    doc = pymupdf.open()
    for i, text in enumerate(pages):
        page = doc.new_page(width=size[0], height=size[1])
        if blank and i in blank:
            continue
        if image_only and i in image_only:
            # A scan: the text only as pixels, no text layer.
            img = Image.new("RGB", (600, 800), "white")
            arr = np.array(img)
            cv2.putText(arr, text[:30], (40, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 3)
            buf = Image.fromarray(arr)
            pix_path = path.with_suffix(f".scan{i}.png")
            buf.save(pix_path)
            page.insert_image(page.rect, filename=str(pix_path))
            continue
        page.insert_text((72, 100), text, fontsize=20)
        page.insert_text((72, 140), "A second line of ordinary body text.", fontsize=12)
        if table_on and i in table_on:
            y0 = 200
            for r in range(5):
                page.draw_line((72, y0 + r * 30), (500, y0 + r * 30))
                for c, word in enumerate(("Item", "Qty", "Price")):
                    if r < 4:
                        page.insert_text((80 + c * 140, y0 + r * 30 + 20), f"{word} {r}", fontsize=11)
            for c in range(4):
                page.draw_line((72 + c * 142.7, y0), (72 + c * 142.7, y0 + 120))
        if rotations and i in rotations:
            page.set_rotation(rotations[i])
    if labels:
        doc.set_page_labels(labels)
    kwargs = {}
    if owner_pw or user_pw:
        kwargs = {
            "encryption": pymupdf.PDF_ENCRYPT_AES_256,
            "owner_pw": owner_pw or user_pw,
            "user_pw": user_pw or "",
            "permissions": int(pymupdf.PDF_PERM_PRINT | pymupdf.PDF_PERM_COPY),
        }
    doc.save(str(path), **kwargs)
    doc.close()
    return path


# -- pages and photos -------------------------------------------------------------------------------------------------
def page_image(width: int = 850, height: int = 1100, *, kind: str = "text", seed: int = 0) -> np.ndarray:
    """A page as a BGR array: off-white paper, lines of text; "table" adds a ruled table, "band" a red title band."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 245, np.uint8)
    img[:] = [int(v) for v in rng.integers(232, 252, 3)]
    if kind == "band":
        cv2.rectangle(img, (0, 0), (width, height // 12), (40, 40, 200), -1)
    if kind == "table":
        top = height // 4
        for r in range(9):
            cv2.line(img, (60, top + r * 50), (width - 60, top + r * 50), (30, 30, 30), 2)
        for c in range(5):
            x = 60 + c * (width - 120) // 4
            cv2.line(img, (x, top), (x, top + 8 * 50), (30, 30, 30), 2)
    y = 90
    while y < height - 60:
        if kind != "table" or not height // 4 - 40 < y < height // 4 + 420:
            cv2.putText(
                img, "The quick brown fox jumps over", (60, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (25, 25, 25), 2
            )
        y += 44
    return img


def background(width: int, height: int, kind: str = "dark", seed: int = 0) -> np.ndarray:
    """A table top: "dark" desk, "wood" grain, "light" (pale, low contrast with paper)."""
    rng = np.random.default_rng(seed)
    if kind == "dark":
        bg = np.full((height, width, 3), 45, np.uint8)
    elif kind == "wood":
        base = np.array([110, 140, 175], np.int16)
        stripes = (np.sin(np.arange(width)[None, :] * 0.15 + rng.normal(0, 1.5, (height, 1))) * 25).astype(
            np.int16
        )
        bg = np.clip(base[None, None, :] + stripes[..., None], 0, 255).astype(np.uint8)
    elif kind == "light":
        bg = np.full((height, width, 3), (180, 200, 208), np.uint8)  # beige, close to paper
    else:
        raise ValueError(kind)
    noise = rng.normal(0, 3, bg.shape)
    return np.clip(bg + noise, 0, 255).astype(np.uint8)


def camera_corners(
    page_wh: tuple[int, int],
    frame_wh: tuple[int, int],
    *,
    tilt_x: float = 15.0,
    tilt_y: float = -10.0,
    roll: float = 5.0,
    fill: float = 0.65,
    shift: tuple[float, float] = (0.0, 0.0),
    focal: float = 1.0,
) -> np.ndarray:
    """Where a pinhole camera (focal = `focal` x frame width, centred) sees the page's corners (tl, tr, br, bl)."""
    pw, ph = page_wh
    fw, fh = frame_wh
    f = focal * fw
    rx, ry, rz = (math.radians(a) for a in (tilt_x, tilt_y, roll))
    rot_x = np.array([[1, 0, 0], [0, math.cos(rx), -math.sin(rx)], [0, math.sin(rx), math.cos(rx)]])
    rot_y = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    rot_z = np.array([[math.cos(rz), -math.sin(rz), 0], [math.sin(rz), math.cos(rz), 0], [0, 0, 1]])
    rot = rot_z @ rot_y @ rot_x
    scale = fill * min(fw, fh) / ph
    distance = f / scale
    k = np.array([[f, 0, fw / 2], [0, f, fh / 2], [0, 0, 1]])
    t = np.array([shift[0] * fw / scale, shift[1] * fh / scale, distance])
    plane = np.array([[-pw / 2, -ph / 2, 0], [pw / 2, -ph / 2, 0], [pw / 2, ph / 2, 0], [-pw / 2, ph / 2, 0]])
    cam = (rot @ plane.T).T + t
    proj = (k @ cam.T).T
    return (proj[:, :2] / proj[:, 2:]).astype(np.float32)


def photo(
    *,
    frame_wh: tuple[int, int] = (1280, 720),
    page: np.ndarray | None = None,
    bg: str = "dark",
    seed: int = 0,
    occlude_corner: int | None = None,
    **camera,
) -> tuple[np.ndarray, np.ndarray]:
    """(BGR frame, true corners) of a page photographed on a table."""
    page = page_image(seed=seed) if page is None else page
    ph, pw = page.shape[:2]
    corners = camera_corners((pw, ph), frame_wh, **camera)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, corners)
    fw, fh = frame_wh
    frame = background(fw, fh, bg, seed)
    warped = cv2.warpPerspective(page, matrix, (fw, fh), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, (fw, fh))
    frame[mask > 127] = warped[mask > 127]
    if occlude_corner is not None:
        cx, cy = corners[occlude_corner]
        cv2.ellipse(
            frame, (int(cx), int(cy)), (fw // 30, fw // 14), 35, 0, 360, (125, 150, 205), -1
        )  # a thumb
    return frame, corners


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """An MJPG .avi (works in OpenCV's headless builds) of the given BGR frames."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for f in frames:
        writer.write(f)
    writer.release()
    return path


# -- flat scans: images that are the page already, edge to edge ----------------------------------------------------------
FLAT_SCAN_KINDS = (
    "text",
    "columns",
    "table",
    "colour",
    "grey",
    "boxed_table",
    "figure",
    "screenshot",
    "form",
)


def flat_scan(kind: str = "text", width: int = 1275, height: int = 1650, seed: int = 0) -> np.ndarray:
    """A page as a flatbed scanner or a screenshot gives it (BGR), its content reaching to all four margins.

    Each kind holds something the page finder could mistake for a page inside the picture: a block of text, two
    columns, a ruled table, a big boxed table or figure, a coloured panel, or (screenshot) a light document pane
    framed by a dark window with a menu bar and a side bar full of text.
    """
    rng = np.random.default_rng(seed)
    paper = (250, 250, 250) if kind != "grey" else (205, 205, 205)
    img = np.full((height, width, 3), paper, np.uint8)
    ink = (25, 25, 25)
    s = width / 1275

    def text(x0: int, x1: int, y0: int, y1: int, step: int = 34, scale: float = 0.75) -> None:
        words = ["invoice", "total", "amount", "the", "of", "page", "report", "2026", "EUR", "and", "item"]
        y = y0
        while y < y1:
            line, x = "", x0
            while True:
                word = str(rng.choice(words))
                (tw, _), _ = cv2.getTextSize(line + word + " ", cv2.FONT_HERSHEY_SIMPLEX, scale * s, 1)
                if x0 + tw > x1:
                    break
                line += word + " "
            cv2.putText(img, line, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale * s, ink, max(1, round(2 * s)))
            y += round(step * s)

    m = round(90 * s)  # margins of an ordinary page
    title_y = round(110 * s)
    cv2.putText(img, "Quarterly Report", (m, title_y), cv2.FONT_HERSHEY_SIMPLEX, 1.6 * s, ink, round(3 * s))
    footer = height - round(60 * s)
    cv2.putText(
        img, "Page 1 of 3", (width // 2 - round(70 * s), footer), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * s, ink, 2
    )
    top, bottom = round(180 * s), height - round(120 * s)
    if kind in ("text", "grey"):
        text(m, width - m, top, bottom)
    elif kind == "columns":
        mid = width // 2
        text(m, mid - round(25 * s), top, bottom)
        text(mid + round(25 * s), width - m, top, bottom)
    elif kind in ("table", "boxed_table", "form"):
        text(m, width - m, top, top + round(200 * s))
        t0, t1 = top + round(240 * s), bottom - (round(250 * s) if kind == "table" else round(120 * s))
        rows = 14
        cv2.rectangle(img, (m - 10, t0), (width - m + 10, t1), ink, 3 if kind == "boxed_table" else 2)
        for r in range(1, rows):
            y = t0 + r * (t1 - t0) // rows
            cv2.line(img, (m - 10, y), (width - m + 10, y), ink, 1)
            for c, x in enumerate(range(m, width - m - round(200 * s), round(280 * s))):
                cv2.putText(img, f"cell {r}.{c}", (x + 8, y - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, ink, 1)
        for x in range(m - 10, width - m, round(280 * s)):
            cv2.line(img, (x, t0), (x, t1), ink, 1)
        if kind == "table":
            text(m, width - m, t1 + round(50 * s), bottom)
    elif kind in ("colour", "figure"):
        text(m, width - m, top, top + round(220 * s))
        f0, f1 = top + round(260 * s), bottom - round(260 * s)
        if kind == "colour":
            cv2.rectangle(img, (m, f0), (width - m, f1), (200, 120, 40), -1)  # a blue panel with white text
            for y in range(f0 + round(60 * s), f1 - 20, round(50 * s)):
                cv2.putText(
                    img,
                    "Highlights of the year",
                    (m + 40, y),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    s,
                    (255, 255, 255),
                    2,
                )
        else:
            cv2.rectangle(img, (m, f0), (width - m, f1), ink, 2)  # a framed chart
            for k in range(8):
                x = m + 60 + k * (width - 2 * m - 120) // 8
                hbar = int(rng.integers(80, f1 - f0 - 80))
                cv2.rectangle(img, (x, f1 - 40 - hbar), (x + 50, f1 - 40), (60, 140, 220), -1)
        text(m, width - m, f1 + round(50 * s), bottom)
    elif kind == "screenshot":
        img[:] = (48, 44, 40)  # a dark window
        cv2.rectangle(img, (0, 0), (width, round(50 * s)), (70, 66, 62), -1)  # menu bar
        for x, word in zip(
            range(20, width, 130), ("File", "Edit", "View", "Insert", "Format", "Tools", "Help"), strict=False
        ):
            cv2.putText(img, word, (x, round(34 * s)), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * s, (230, 230, 230), 1)
        side = round(300 * s)
        for k, y in enumerate(range(round(100 * s), height - 40, round(40 * s))):
            cv2.putText(
                img, f"Document {k + 1}.pdf", (16, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, (220, 220, 220), 1
            )
        x0, y0, x1, y1 = side + 30, round(80 * s), width - 30, height - 30
        img[y0:y1, x0:x1] = (252, 252, 252)  # the document pane
        text(x0 + 40, x1 - 40, y0 + 60, y1 - 40, scale=0.6)
    else:
        raise ValueError(kind)
    return img
