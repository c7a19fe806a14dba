"""The window's settings: a typed face over QSettings with every key and default declared in one place.

Why a wrapper: QSettings hands back strings (or whatever the backend stored) and silently invents defaults at each call
site. Declaring each setting once, with its type and default, keeps the dialog, the worker and the tests in agreement
(normcap's habit), and lets tests point the whole window at a throw-away INI file.
"""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from paperlens.core.options import (
    DEFAULT_DEVICE,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODE,
    DEFAULT_N_CTX,
    DEVICES,
    LOCAL,
    MODES,
    REMOTE,
    EngineOptions,
)

T = TypeVar("T")

RECENT_LIMIT = 10


class _Setting(Generic[T]):
    """A descriptor: reads convert to the default's type and fall back to the default on junk."""

    def __init__(self, key: str, default: T, choices: tuple[T, ...] | None = None) -> None:
        self.key = key
        self.default = default
        self.choices = choices

    def __get__(self, obj: Settings | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        raw = obj.qsettings.value(self.key, None)
        if raw is None:
            return self.default
        try:
            value = self._convert(raw)
        except (TypeError, ValueError):
            return self.default
        if self.choices is not None and value not in self.choices:
            return self.default
        return value

    def __set__(self, obj: Settings, value: T) -> None:
        if isinstance(self.default, list):
            obj.qsettings.setValue(self.key, json.dumps(list(value)))
        else:
            obj.qsettings.setValue(self.key, value)

    def _convert(self, raw: Any) -> Any:
        default = self.default
        if isinstance(default, bool):  # INI files give "true"/"false" back as strings
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, str):
            return str(raw)
        if isinstance(default, list):
            value = json.loads(raw) if isinstance(raw, str) else list(raw)
            if not isinstance(value, list):
                raise ValueError("not a list")
            return [str(v) for v in value]
        if isinstance(default, QByteArray):
            return raw if isinstance(raw, QByteArray) else QByteArray(raw)
        return raw


class Settings:
    """Persistent preferences. Pass a QSettings to use another store (tests use an INI file in a temp folder)."""

    model_dir = _Setting("model/dir", "")
    mode = _Setting("model/mode", DEFAULT_MODE, MODES)
    device = _Setting("model/device", DEFAULT_DEVICE, DEVICES)
    gpu_layers = _Setting("model/gpu_layers", -1)
    threads = _Setting("model/threads", 0)
    low_memory = _Setting("model/low_memory", False)
    run_on = _Setting("model/run_on", LOCAL, (LOCAL, REMOTE))  # this computer, or a server (server_url)
    server_url = _Setting(
        "model/server_url", ""
    )  # an OpenAI-compatible server; API key from $PAPERLENS_API_KEY
    hub_endpoint = _Setting("model/hub_endpoint", "")  # a mirror for downloads; "" = $HF_ENDPOINT or the hub
    dpi = _Setting("documents/dpi", 0)  # 0: let the core pick the DPI that fits the model's slices
    recent_files = _Setting("documents/recent", [])
    join_tables = _Setting("results/join_tables", True)  # tables across pages as one (Tables tab and exports)
    geometry = _Setting("window/geometry", QByteArray())
    window_state = _Setting("window/state", QByteArray())
    splitter = _Setting("window/splitter", QByteArray())
    left_splitter = _Setting("window/left_splitter", QByteArray())
    auto_capture = _Setting("camera/auto_capture", True)
    # "Show where answers come from": "auto" asks for the boxes with the local model (a restored page state makes it
    # cheap) and not with a server (a whole second request); "on" / "off" are the user's own choice
    show_sources = _Setting("ask/show_sources", "auto", ("auto", "on", "off"))
    enhance = _Setting("camera/enhance", True)

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qsettings = qsettings if qsettings is not None else QSettings()

    def engine_options(
        self, *, n_ctx: int = DEFAULT_N_CTX, max_tokens: int = DEFAULT_MAX_TOKENS
    ) -> EngineOptions:
        return EngineOptions(
            model_dir=self.model_dir,
            mode=self.mode,
            device=self.device,
            gpu_layers=self.gpu_layers,
            threads=self.threads,
            n_ctx=n_ctx,
            max_tokens=max_tokens,
            low_memory=self.low_memory,
            **self._server(),
        )

    def _server(self) -> dict[str, Any]:
        """The remote engine's options when the window runs the model on a server, else nothing."""
        url = self.server_url.strip()
        if self.run_on != REMOTE or not url:
            return {}
        return {"engine": REMOTE, "server_urls": (url,)}

    @property
    def uses_server(self) -> bool:
        return self.run_on == REMOTE and bool(self.server_url.strip())

    @property
    def shows_sources(self) -> bool:
        """Whether a page answer is followed by the question of where on the page it came from."""
        choice = self.show_sources
        return choice == "on" or (choice == "auto" and not self.uses_server)

    def add_recent(self, path: str) -> list[str]:
        """Put `path` first in the recent list (no duplicates, at most RECENT_LIMIT) and return the new list."""
        items = [p for p in self.recent_files if p != path]
        items.insert(0, path)
        self.recent_files = items[:RECENT_LIMIT]
        return self.recent_files

    def remove_recent(self, path: str) -> None:
        self.recent_files = [p for p in self.recent_files if p != path]

    def sync(self) -> None:
        self.qsettings.sync()
