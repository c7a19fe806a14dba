"""Pages drawn for the density measure's tests and the auto-mode benchmark: A4 at 150 dpi, deterministic.

Dense: a text page at 10-11 pt, a table page. Sparse: a title page, a short letter, a photo-like picture, a blank page.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

A4 = (1240, 1754)  # 150 dpi
PT = 150 / 72  # pixels per point at 150 dpi
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "at",
    "this",
    "from",
    "or",
    "an",
    "which",
    "are",
    "have",
    "not",
    "had",
    "but",
    "all",
    "invoice",
    "payment",
    "report",
    "quarter",
    "revenue",
    "account",
    "balance",
    "contract",
    "delivery",
    "customer",
    "amount",
    "total",
    "period",
    "section",
    "paragraph",
    "agreement",
    "schedule",
    "project",
    "council",
    "budget",
    "figure",
    "table",
    "reference",
    "number",
    "general",
]


def font(points: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, round(points * PT)))


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def dense_text_page(seed: int = 0, points: float = 10.5) -> Image.Image:
    """A page of running text: margins of 2.5 cm, lines of 10-11 pt at 1.2 line spacing, paragraphs."""
    rng = random.Random(seed)
    img = Image.new("RGB", A4, "white")
    d = ImageDraw.Draw(img)
    f = font(points)
    x0, x1, y = 150, A4[0] - 150, 150
    d.text((x0, y), words(rng, 5).title(), fill="black", font=font(16))
    y += round(28 * PT)
    while y < A4[1] - 170:
        line = ""
        while True:
            nxt = (line + " " + rng.choice(WORDS)).strip()
            if d.textlength(nxt, font=f) > x1 - x0:
                break
            line = nxt
        d.text((x0, y), line, fill="black", font=f)
        y += round(points * 1.25 * PT)
        if rng.random() < 0.08:
            y += round(points * PT)  # a paragraph break
    return img


def table_page(seed: int = 0, rows: int = 30, cols: int = 6) -> Image.Image:
    """A ruled table of figures at 9 pt with a header row and a caption."""
    rng = random.Random(seed)
    img = Image.new("RGB", A4, "white")
    d = ImageDraw.Draw(img)
    f = font(9)
    d.text((120, 120), "Table 3. " + words(rng, 6), fill="black", font=font(12))
    x0, x1, y0 = 120, A4[0] - 120, 200
    row_h = round(9 * 2.0 * PT)
    col_w = (x1 - x0) // cols
    for r in range(rows + 2):
        y = y0 + r * row_h
        d.line((x0, y, x0 + col_w * cols, y), fill="black", width=2 if r in (0, 1) else 1)
    for c in range(cols + 1):
        d.line((x0 + c * col_w, y0, x0 + c * col_w, y0 + (rows + 1) * row_h), fill="black", width=1)
    for c in range(cols):
        d.text((x0 + c * col_w + 8, y0 + 8), rng.choice(WORDS).title(), fill="black", font=f)
    for r in range(rows):
        for c in range(cols):
            cell = rng.choice(WORDS) if c == 0 else f"{rng.uniform(0, 99999):,.2f}"
            d.text((x0 + c * col_w + 8, y0 + (r + 1) * row_h + 8), cell, fill="black", font=f)
    return img


def title_page(seed: int = 0) -> Image.Image:
    """A big title, a subtitle, an author and a date: mostly white."""
    rng = random.Random(seed)
    img = Image.new("RGB", A4, "white")
    d = ImageDraw.Draw(img)
    d.text((150, 600), words(rng, 3).title(), fill="black", font=font(36))
    d.text((150, 720), words(rng, 6).capitalize(), fill=(60, 60, 60), font=font(18))
    d.text((150, 1300), "Prepared by " + words(rng, 2).title(), fill="black", font=font(12))
    d.text((150, 1340), "November 2026", fill="black", font=font(12))
    return img


def letter_page(seed: int = 0, body_lines: int = 6) -> Image.Image:
    """A short letter: sender, address, date, a salutation, a few lines of body, a closing, at 11 pt."""
    rng = random.Random(seed)
    img = Image.new("RGB", A4, "white")
    d = ImageDraw.Draw(img)
    f = font(11)
    step = round(11 * 1.3 * PT)
    y = 150
    for line in ("A. Sender", "12 High Street", "Springfield 4021"):
        d.text((800, y), line, fill="black", font=f)
        y += step
    y += step
    for line in ("Ms B. Receiver", "7 Low Road", "Shelbyville 1120"):
        d.text((150, y), line, fill="black", font=f)
        y += step
    y += step
    d.text((800, y), "3 November 2026", fill="black", font=f)
    y += 2 * step
    d.text((150, y), "Dear Ms Receiver,", fill="black", font=f)
    y += 2 * step
    for _ in range(body_lines):
        d.text((150, y), words(rng, 11).capitalize(), fill="black", font=f)
        y += step
    y += step
    for line in ("Yours sincerely,", "", "", "A. Sender"):
        d.text((150, y), line, fill="black", font=f)
        y += step
    return img


def photo_page(seed: int = 0, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A photo-like picture: a sky gradient, hills, a sun, soft shapes, sensor noise; no text."""
    import numpy as np

    rng = random.Random(seed)
    w, h = size
    yy = np.linspace(0.0, 1.0, h)[:, None]
    sky = np.stack([90 + 120 * yy, 140 + 90 * yy, 220 + 20 * yy], axis=-1) * np.ones((1, w, 1))
    img = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((w * 0.7, h * 0.1, w * 0.8, h * 0.1 + w * 0.1), fill=(250, 230, 120))
    for i in range(4):
        base = h * (0.55 + 0.1 * i)
        pts = [
            (x, base - 80 * abs(np.sin(x / (150 + 40 * i) + rng.random() * 6))) for x in range(0, w + 40, 40)
        ]
        d.polygon([(0, h), *pts, (w, h)], fill=(40 + 25 * i, 110 - 15 * i, 50 + 10 * i))
    for _ in range(12):  # trees, bushes
        x, y, r = rng.uniform(0, w), rng.uniform(h * 0.55, h), rng.uniform(20, 70)
        d.ellipse((x - r, y - r, x + r, y + r), fill=(20, rng.randint(60, 100), 30))
    img = img.filter(ImageFilter.GaussianBlur(2))
    noise = np.random.default_rng(seed).normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(img, dtype=np.float64) + noise, 0, 255).astype(np.uint8), "RGB")


def blank_page() -> Image.Image:
    """An empty page with a faint margin line, as a scanner gives one."""
    img = Image.new("RGB", A4, (250, 250, 248))
    ImageDraw.Draw(img).line((60, 0, 60, A4[1]), fill=(230, 230, 230), width=2)
    return img


SPARSE = {
    "title page": title_page,
    "short letter": letter_page,
    "photo": photo_page,
    "blank page": blank_page,
}
DENSE = {"dense text page": dense_text_page, "table page": table_page}
