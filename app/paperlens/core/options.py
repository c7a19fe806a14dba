"""The one place that declares what a user can choose about the model: modes, devices and engine settings.

The CLI's flags, the window's settings dialog and its stored preferences, the model-folder scan and every engine take
their choices and defaults from here, so a new mode or a changed default is one edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum


class Mode(str, Enum):
    """How many image tokens a slice keeps. A `str` enum: `Mode.X4 == "4x"`, so stored settings and keys stay text.

    4x and 16x are image modes (a projector each; every result is stored under one). Auto is a choice per page: 4x
    for dense pages, 16x for sparse ones, by the measure in `paperlens.core.density` (docs/adr/0009-auto-mode.md).
    """

    X4 = "4x"  # dense OCR: the ViT merger skipped, 4 times more image tokens
    X16 = "16x"  # the official projector: faster, for sparse pages and photos
    AUTO = "auto"  # 4x or 16x per page, by how much small text the page holds (the default)

    def __str__(self) -> str:
        return self.value


class Device(str, Enum):
    AUTO = "auto"  # the GPU when this llama.cpp build can offload, else the CPU
    CPU = "cpu"
    GPU = "gpu"

    def __str__(self) -> str:
        return self.value


MODES: tuple[str, ...] = tuple(m.value for m in Mode)  # what a user may choose
IMAGE_MODES: tuple[str, ...] = (Mode.X4.value, Mode.X16.value)  # what a page is read in (a projector each)
DEVICES: tuple[str, ...] = tuple(d.value for d in Device)
# Auto: on the full-size twin a mixed 10-page document took 0.73 of all-4x, every dense page still read in 4x
# (tests/benchmarks/auto_bench.py, docs/adr/0009-auto-mode.md).
DEFAULT_MODE = Mode.AUTO.value
DEFAULT_DEVICE = Device.AUTO.value
# A 4x A4 page is ~2,300 image tokens; 8192 leaves room for a long Markdown page.
DEFAULT_N_CTX = 8192
DEFAULT_MAX_TOKENS = 4096
LOCAL = "local"  # the engine kind that runs llama.cpp in this process
REMOTE = "remote"  # the engine kind that asks OpenAI-compatible servers (core/engine/remote.py)
SERVER_KINDS: tuple[str, ...] = ("auto", "llama", "vllm", "sglang", "ollama")
DEFAULT_PAGE_TIMEOUT_S = 600.0
DEFAULT_MAX_SLICES = (
    9  # llama.cpp's hard-coded cap; vLLM takes more (the official advice for dense images is 36)
)


@dataclass(frozen=True)
class EngineOptions:
    """Everything needed to build an engine: what the user chose (flags, settings), nothing machine-tuned.

    Compared by value: the window reloads the engine only when the options change. `engine` names a registered
    engine kind (see `paperlens.core.engine.registry`); "local" is llama.cpp in this process.
    """

    model_dir: str = ""  # "" means the default folder (or $PAPERLENS_MODEL_DIR)
    mode: str = DEFAULT_MODE
    device: str = DEFAULT_DEVICE
    gpu_layers: int = -1  # text layers to offload on a GPU (-1 = all)
    threads: int = 0  # 0: all physical cores
    n_ctx: int = DEFAULT_N_CTX
    max_tokens: int = DEFAULT_MAX_TOKENS
    engine: str = LOCAL
    # remote engines only (engine="remote")
    server_urls: tuple[str, ...] = ()
    server_kind: str = "auto"
    server_model: str = ""  # "" = the server's MiniCPM model, else its first
    api_key: str = field(
        default="", repr=False
    )  # "" = $PAPERLENS_API_KEY; never in a repr, so never in a log
    jobs: int = 0  # pages in flight at once (0 = one per server)
    page_timeout_s: float = DEFAULT_PAGE_TIMEOUT_S
    retries: int = 4  # on 429/503 and dropped connections, with exponential backoff
    max_slices: int = DEFAULT_MAX_SLICES  # vLLM's max_slice_nums
    low_memory: bool = False  # a Q8_0 projector copy (made once): ~270 MB less RAM, ~7 % slower encode

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.server_kind not in SERVER_KINDS:
            raise ValueError(
                f"server_kind must be one of {', '.join(SERVER_KINDS)}, not {self.server_kind!r}"
            )

    def with_mode(self, mode: str) -> EngineOptions:
        return replace(self, mode=mode)
