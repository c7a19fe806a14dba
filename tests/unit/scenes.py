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
