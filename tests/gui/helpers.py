"""Small helpers shared by the GUI tests: page images and real files for the window to open."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw


def page_image(label: str = "Page", size=(620, 877)) -> Image.Image:
    """A small white page with a line of text (a stand-in for a rendered PDF page)."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.text((40, 40), label, fill="black")
    draw.rectangle((40, 100, size[0] - 40, 300), outline="black")
    return img


def wait_idle(qtbot, window, timeout: int = 10_000) -> None:
    """Until the model thread has no job running or queued."""
    qtbot.waitUntil(lambda: not window.host.busy, timeout=timeout)


def write_png(path: Path, label: str = "Scan") -> Path:
    page_image(label).save(path)
    return path


def write_pdf(path: Path, pages: int = 2, *, password: str | None = None) -> Path:
    """A small real PDF with a text layer on every page (pymupdf writes it)."""
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=420, height=595)  # A5 in points: renders small and fast
        page.insert_text((50, 72), f"Report page {i + 1}", fontsize=18)
        page.insert_text((50, 110), f"Total for page {i + 1}: {100 * (i + 1)} EUR", fontsize=11)
    kwargs = {}
    if password:
        kwargs = dict(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "-owner")
    doc.save(str(path), **kwargs)
    doc.close()
    return path


def write_page_video(
    path: Path, *, frames: int = 40, fps: int = 12, size=(640, 480), still_from: int = 6
) -> Path:
    """A short video of a white page with text lines on a dark desk: it slides in, then holds still.

    What a phone camera pointed at a page gives, made with OpenCV so tests and screenshots need no camera.
    """
    import cv2
    import numpy as np

    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MJPG video here")
    base = np.array([[190, 60], [450, 75], [470, 430], [170, 415]], dtype=np.float32)
    page_w, page_h = 420, 594
    page = np.full((page_h, page_w, 3), 245, np.uint8)
    cv2.putText(page, "INVOICE 2026-11", (30, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (20, 20, 20), 3)
    for i in range(14):
        y = 110 + 32 * i
        cv2.line(page, (30, y), (30 + (300 if i % 3 else 360), y), (60, 60, 60), 4)
    cv2.rectangle(page, (30, 500), (390, 560), (40, 40, 40), 2)
    src = np.array([[0, 0], [page_w, 0], [page_w, page_h], [0, page_h]], dtype=np.float32)
    for i in range(frames):
        shift = max(0, still_from - i) * 12.0
        quad = base + np.array([shift, shift * 0.4], dtype=np.float32)
        frame = np.full((h, w, 3), (48, 42, 38), np.uint8)
        cv2.rectangle(frame, (0, h - 60), (w, h), (70, 60, 50), -1)  # a bit of desk texture
        matrix = cv2.getPerspectiveTransform(src, quad)
        warped = cv2.warpPerspective(page, matrix, (w, h))
        mask = cv2.warpPerspective(np.full((page_h, page_w), 255, np.uint8), matrix, (w, h))
        frame[mask > 0] = warped[mask > 0]
        writer.write(frame)
    writer.release()
    return path
