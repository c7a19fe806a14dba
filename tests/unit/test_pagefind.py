"""Finding and flattening a page: measured on synthetic photos with exact corners (built here, no files needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from paperlens.core.pagefind import (
    Quad,
    SteadyTracker,
    deskew,
    enhance,
    estimate_skew,
    find_page,
    flatten,
    is_blank,
    page_aspect_ratio,
    quad_iou,
    rotate,
)
from paperlens.core.pagefind.detect import WORK_SIZE
from tests.unit.scenes import background, page_image, photo

SCENES = [
    pytest.param(dict(bg="dark"), id="dark-desk"),
    pytest.param(dict(bg="wood", tilt_x=22, tilt_y=-15, roll=8), id="wood-steep"),
    pytest.param(dict(bg="light", tilt_x=10, roll=-6), id="pale-table-low-contrast"),
    pytest.param(dict(bg="wood", page=page_image(kind="table")), id="page-with-a-table"),
    pytest.param(dict(bg="dark", page=page_image(kind="band"), tilt_x=18), id="page-with-colour-band"),
    pytest.param(dict(bg="wood", fill=0.4, shift=(0.2, 0.1)), id="small-and-off-centre"),
    pytest.param(dict(bg="dark", roll=35, fill=0.55), id="turned-35-degrees"),
    pytest.param(dict(bg="dark", frame_wh=(720, 1280), fill=0.7), id="portrait-frame"),
]


@pytest.mark.parametrize("scene", SCENES)
def test_page_is_found_in_synthetic_photos(scene):
    # GIVEN a page photographed through a pinhole camera (corners known exactly)
    frame, truth = photo(**scene)
    # WHEN the camera view looks for it (fast) and when a photo is opened (thorough)
    for thorough in (False, True):
        quad = find_page(frame, thorough=thorough)
        # THEN the outline overlaps the truth almost entirely, and says it is sure
        assert quad is not None
        assert quad_iou(quad, truth) > 0.93, (thorough, quad)
        assert quad.confidence > 0.6


def test_a_corner_under_a_thumb_is_put_back():
    frame, truth = photo(bg="wood", occlude_corner=3, tilt_x=12)
    quad = find_page(frame, thorough=True)
    assert quad is not None and quad_iou(quad, truth) > 0.9
    # the hidden corner is where the two edges meet, not where the thumb starts
    assert np.hypot(*(np.array(quad.corners[3]) - truth[3])) < 25


def test_pil_and_bgr_inputs_agree_and_coordinates_are_source_pixels():
    frame, truth = photo(frame_wh=(1920, 1080), bg="dark")
    pil = Image.fromarray(frame[:, :, ::-1].copy())
    a, b = find_page(frame), find_page(pil)
    assert a is not None and b is not None
    assert np.abs(a.as_array() - b.as_array()).max() < 1.0
    assert np.abs(a.as_array() - truth).max() < 12  # full-size pixels, although detection ran at ~480 px


@pytest.mark.parametrize("kind", ["dark", "wood", "light"])
def test_no_page_in_an_empty_scene(kind):
    quad = find_page(background(1280, 720, kind, seed=5))
    assert quad is None or quad.confidence < 0.5


def test_tiny_or_odd_inputs():
    assert find_page(np.zeros((8, 8, 3), np.uint8)) is None
    gray = np.full((300, 400), 40, np.uint8)
    gray[50:250, 100:300] = 240
    quad = find_page(gray)  # a 2-D array is grey
    assert quad is not None and quad_iou(quad, np.array([[100, 50], [300, 50], [300, 250], [100, 250]])) > 0.9


def test_quad_orders_corners_clockwise_from_top_left():
    q = Quad.from_points([[300, 250], [100, 50], [100, 250], [300, 50]], 0.8)
    assert q.corners == ((100, 50), (300, 50), (300, 250), (100, 250))
    assert q.area == 200 * 200
    assert q.scaled(0.5).corners[2] == (150, 125)
    assert q.to_json() == {"corners": [[100, 50], [300, 50], [300, 250], [100, 250]], "confidence": 0.8}


# -- flattening -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("page_wh", "camera"),
    [
        ((850, 1202), dict(tilt_x=25, tilt_y=10, roll=5)),  # A4 proportions, strong perspective
        ((850, 1100), dict(tilt_x=-20, tilt_y=-18, roll=-3)),  # US Letter
        ((1000, 700), dict(tilt_x=15, tilt_y=20, roll=0, fill=0.5)),  # landscape, not a paper size
        ((600, 900), dict(tilt_x=30, tilt_y=8, roll=0)),  # 1:1.5, no snapping
    ],
)
def test_flatten_recovers_the_true_aspect_ratio(page_wh, camera):
    w, h = page_wh
    frame, truth = photo(page=page_image(w, h), bg="dark", **camera)
    quad = Quad.from_points(truth)
    naive = (np.linalg.norm(truth[3] - truth[0]) + np.linalg.norm(truth[2] - truth[1])) / (
        np.linalg.norm(truth[1] - truth[0]) + np.linalg.norm(truth[2] - truth[3])
    )
    estimated = page_aspect_ratio(quad, (frame.shape[1], frame.shape[0]))
    assert abs(estimated / (h / w) - 1) < 0.02
    flat = flatten(frame, quad, snap=False)
    assert abs(flat.height / flat.width / (h / w) - 1) < 0.025
    if abs(naive / (h / w) - 1) > 0.05:  # where perspective lies about the shape, we do better than the photo
        assert abs(estimated / (h / w) - 1) < abs(naive / (h / w) - 1)


def test_aspect_when_the_photo_cannot_tell_the_focal_length():
    # Tilted about one axis only, top and bottom stay parallel in the picture: the lens must be assumed.
    frame, truth = photo(
        page=page_image(600, 900), bg="dark", tilt_x=30, tilt_y=0, roll=0, focal=0.8 * 1280 / 1280
    )
    estimated = page_aspect_ratio(Quad.from_points(truth), (frame.shape[1], frame.shape[0]))
    assert abs(estimated / 1.5 - 1) < 0.02  # a typical lens (0.8 x the long side), as assumed
    frame, truth = photo(page=page_image(600, 900), bg="dark", tilt_x=30, tilt_y=0, roll=0, focal=1.2)
    estimated = page_aspect_ratio(Quad.from_points(truth), (frame.shape[1], frame.shape[0]))
    naive = np.linalg.norm(truth[3] - truth[0]) / np.linalg.norm(truth[1] - truth[0])
    assert abs(estimated / 1.5 - 1) < 0.08 and abs(estimated / 1.5 - 1) < abs(naive / 1.5 - 1)


def test_flatten_snaps_to_a4_and_straightens_the_text():
    frame, truth = photo(page=page_image(850, 1200), bg="wood", tilt_x=20, roll=10)
    flat = flatten(frame, find_page(frame, thorough=True))
    assert flat.height / flat.width == pytest.approx(math.sqrt(2), abs=0.002)
    assert abs(estimate_skew(flat)) < 0.6  # text lines run level again


def test_flatten_keeps_detail_but_caps_size():
    frame, truth = photo(frame_wh=(1920, 1080), bg="dark", fill=0.9, tilt_x=0, tilt_y=0, roll=0)
    flat = flatten(frame, Quad.from_points(truth))
    assert 900 < flat.height < 1000  # about what the photo had along the page
    small = flatten(frame, Quad.from_points(truth), max_side=400)
    assert max(small.size) == 400


# -- enhancement, rotation, deskew, blank -------------------------------------------------------------------------------
def _shadowed_page() -> Image.Image:
    page = page_image(600, 800).astype(np.float32)
    ramp = np.linspace(0.45, 1.0, page.shape[1])[None, :, None]  # a shadow across the page
    return Image.fromarray(np.clip(page * ramp, 0, 255).astype(np.uint8)[:, :, ::-1].copy())


def test_enhance_removes_shadows_and_keeps_the_ink():
    shadowed = _shadowed_page()
    gray = np.asarray(shadowed.convert("L")).astype(float)
    paper_before = gray[gray > np.percentile(gray, 60)]
    for mode in ("color", "gray"):
        out = np.asarray(enhance(shadowed, mode).convert("L")).astype(float)
        left, right = out[:, :100], out[:, -100:]
        # paper is as white in the shadow as in the light, and far more even than before
        assert abs(np.percentile(left, 80) - np.percentile(right, 80)) < 12
        assert np.percentile(out, 80) > 235 and np.std(out[out > 200]) < np.std(paper_before)
        assert (out < 100).mean() > 0.01  # the text is still there
    scan = np.asarray(enhance(shadowed, "scan").convert("L"))
    assert set(np.unique(scan)) <= {0, 255} and 0.01 < (scan == 0).mean() < 0.3
    assert enhance(shadowed, "none").size == shadowed.size
    with pytest.raises(ValueError):
        enhance(shadowed, "sepia")


def test_rotate_by_quarter_turns_clockwise():
    img = Image.new("RGB", (40, 20), "white")
    img.putpixel((0, 0), (255, 0, 0))  # top-left
    once = rotate(img, 1)
    assert once.size == (20, 40) and once.getpixel((19, 0)) == (255, 0, 0)  # now top-right
    assert rotate(img, -1).getpixel((0, 39)) == (255, 0, 0)  # counter-clockwise: bottom-left
    assert rotate(img, 2).getpixel((39, 19)) == (255, 0, 0)
    assert rotate(img, 4) is img


@pytest.mark.parametrize("angle", [-4.0, -1.2, 2.5, 7.0])
def test_deskew_levels_a_tilted_scan(angle):
    scan = Image.fromarray(page_image(850, 1100)[:, :, ::-1].copy())
    tilted = scan.rotate(angle, fillcolor=(245, 245, 245), resample=Image.Resampling.BICUBIC)
    assert estimate_skew(tilted) == pytest.approx(angle, abs=0.25)  # counter-clockwise positive, as PIL
    assert abs(estimate_skew(deskew(tilted))) < 0.25
    assert deskew(scan) is scan  # level already: untouched


def test_blank_pages():
    assert is_blank(Image.new("RGB", (800, 1000), (250, 250, 250)))
    # uneven light and paper texture are not ink
    shade = np.linspace(170, 250, 1000)[:, None, None] + np.random.default_rng(1).normal(0, 3, (1000, 800, 1))
    assert is_blank(np.clip(np.repeat(shade, 3, axis=2), 0, 255).astype(np.uint8))
    # a single short line of text is something
    one_line = np.full((1000, 800, 3), 250, np.uint8)
    import cv2

    cv2.putText(one_line, "Page 7", (350, 950), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    assert not is_blank(one_line)
    assert not is_blank(page_image())


# -- the steady signal for auto-capture --------------------------------------------------------------------------------
def _quad(dx: float = 0.0, conf: float = 0.9) -> Quad:
    return Quad.from_points([[100 + dx, 100], [500 + dx, 110], [490 + dx, 650], [95 + dx, 640]], conf)


def test_steady_after_holding_still_for_a_second():
    tracker = SteadyTracker(hold_s=1.0)
    rng = np.random.default_rng(0)
    states = [tracker.update(_quad(dx=rng.normal(0, 1.5)), t=i / 15) for i in range(20)]  # jitter of a hand
    assert not any(states[:15]) and all(states[15:])
    assert tracker.progress == 1.0 and tracker.smoothed is not None


def test_moving_or_losing_the_page_starts_the_wait_again():
    tracker = SteadyTracker(hold_s=1.0)
    for i in range(10):
        tracker.update(_quad(), t=i * 0.1)
    assert 0.8 < tracker.progress < 1.0
    assert not tracker.update(_quad(dx=60), t=1.0)  # moved: wait again
    assert tracker.progress == 0.0
    assert not tracker.update(_quad(dx=60), t=1.9)
    assert tracker.update(_quad(dx=60), t=2.05)
    assert not tracker.update(None, t=2.1)  # page gone
    assert not tracker.update(_quad(conf=0.2), t=2.2)  # too unsure to count
    assert tracker.progress == 0.0


def test_work_size_bounds_detection_cost():
    # A 12-megapixel photo is searched at about WORK_SIZE pixels: a whole factor down, never below it by much.
    factor = math.ceil(4624 / WORK_SIZE)
    assert 4624 // factor <= WORK_SIZE and 4624 // factor > WORK_SIZE * 0.8


def test_sparse_thin_text_is_not_blank():
    # 1-px strokes of a small font on a big page: one line is a page with content, never skipped as blank
    from PIL import ImageDraw, ImageFont

    page = Image.new("RGB", (1240, 1754), "white")
    ImageDraw.Draw(page).text((120, 150), "Total 42.00", fill="black", font=ImageFont.load_default())
    assert not is_blank(page)
    # dust: a few isolated dark pixels is still a blank sheet
    dusty = np.full((1754, 1240, 3), 250, np.uint8)
    for y, x in [(100, 100), (900, 640), (1500, 1000), (1200, 300), (40, 1200)]:
        dusty[y, x] = 30
    assert is_blank(dusty)


def test_two_small_letters_are_not_blank():
    # GIVEN an A4 page at 150 dpi with only "OK" in 11 pt (two marks, a few hundred pixels of ink)
    from PIL import ImageDraw, ImageFont

    page = Image.new("RGB", (1240, 1754), "white")
    ImageDraw.Draw(page).text((600, 800), "OK", fill="black", font=ImageFont.load_default(size=23))
    # THEN it is a page with something to read, never skipped
    assert not is_blank(page)
    # AND so is a page whose only mark is a signature line, or a page number in a corner
    line = np.full((1754, 1240, 3), 250, np.uint8)
    line[1500:1502, 700:1000] = 20
    assert not is_blank(line)
    number = Image.new("RGB", (1240, 1754), "white")
    ImageDraw.Draw(number).text((1100, 1650), "7", fill="black", font=ImageFont.load_default(size=20))
    assert not is_blank(number)
    # AND a few specks of dust of two or three pixels are still no mark
    dusty = np.full((1754, 1240, 3), 250, np.uint8)
    for y, x in [(300, 200), (800, 900), (1400, 500)]:
        dusty[y : y + 2, x : x + 2] = 40
    assert is_blank(dusty)


def test_page_finding_runs_on_two_threads_at_once():
    # The window renders a page and its thumbnail on two pool threads at once; one shared OpenCV line detector used
    # unguarded crashed the process (a segfault seen under load). It is used under a lock; results agree.
    import threading

    from paperlens.core.pagefind import detect

    img = photo(bg="dark", seed=3)[0]
    results = []

    def run() -> None:
        for _ in range(3):
            results.append(find_page(img))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 6 and isinstance(detect._LSD_LOCK, type(threading.Lock()))
    corners = [
        None if q is None else np.round(np.asarray(q.corners, dtype=float), 1).tolist() for q in results
    ]
    assert all(c == corners[0] for c in corners)
