"""Finding a page in a photo or camera frame, and turning it into a flat, clean page image.

Everything here works on one image at a time and keeps no state except `SteadyTracker`, so the camera reader, the
CLI and the window's thread pool can all call it. The package's modules, one job each:

- `geometry`: the page outline (`Quad`), its corner order, overlap (`quad_iou`) and lines through points;
- `images`: PIL <-> OpenCV layouts and the paper's own brightness under the print;
- `detect`: finding the outline (`find_page`);
- `surround`: what lies around an outline, which tells a photographed page from a box on a flat scan;
- `flattening`: the page seen straight on at its true aspect ratio (`flatten`, `page_aspect_ratio`);
- `enhancement`: lighting and contrast clean-up (`enhance`);
- `orientation`: quarter turns and deskew;
- `blank`: the blank-page check (`is_blank`);
- `steady`: live capture's "has the page held still" (`SteadyTracker`).
"""

from paperlens.core.pagefind.blank import is_blank
from paperlens.core.pagefind.detect import find_page
from paperlens.core.pagefind.enhancement import ENHANCE_MODES, enhance
from paperlens.core.pagefind.flattening import flatten, page_aspect_ratio
from paperlens.core.pagefind.geometry import Quad, quad_iou
from paperlens.core.pagefind.images import as_bgr
from paperlens.core.pagefind.orientation import deskew, estimate_skew, rotate
from paperlens.core.pagefind.steady import SteadyTracker
from paperlens.core.pagefind.surround import outside_marks, outside_noise, surround_contrast

__all__ = [
    "Quad",
    "SteadyTracker",
    "ENHANCE_MODES",
    "as_bgr",
    "deskew",
    "enhance",
    "estimate_skew",
    "find_page",
    "flatten",
    "is_blank",
    "outside_marks",
    "outside_noise",
    "page_aspect_ratio",
    "quad_iou",
    "rotate",
    "surround_contrast",
]
