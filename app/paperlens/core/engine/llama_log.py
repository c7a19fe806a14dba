"""llama.cpp's log, routed into Python logging, with the recent lines kept to explain a failed load."""

from __future__ import annotations

import ctypes
import logging
from collections import deque

log = logging.getLogger(__name__)
llama_log = logging.getLogger("paperlens.llama")


class _LlamaLog:
    """Routes llama.cpp's and the projector's log lines into Python logging, and remembers recent errors.

    Without this, `verbose=False` still lets the projector print slicing and timing lines to stderr, and a failed
    load gives us only "failed to load model" with the real reason lost on stderr.
    """

    def __init__(self) -> None:
        self.recent: deque[str] = deque(maxlen=40)
        self._line = ""
        self._level = logging.DEBUG
        self._callback = None

    def install(self, llama_cpp, mtmd_cpp) -> None:
        """Points llama.cpp's and the projector's log at us; called again whenever llama.cpp may have taken it back.

        The ctypes callback is made once and kept for the life of the process: C holds only its address, so a
        callback freed (or replaced) while C still points at it would make the next log line call freed memory.
        """
        callback = self._callback
        if callback is None:
            callback = self._callback = self._make_callback(llama_cpp)
        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        for name in ("mtmd_log_set", "mtmd_helper_log_set"):
            fn = getattr(mtmd_cpp, name, None)
            if fn is not None:
                try:
                    fn(callback, ctypes.c_void_p(0))
                except Exception as exc:  # a binding mismatch must not stop the engine
                    log.debug("cannot route %s: %s", name, exc)

    def _make_callback(self, llama_cpp):
        # ggml.h: NONE=0, DEBUG=1, INFO=2, WARN=3, ERROR=4, CONT=5 (continues the previous line)
        levels = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}

        @llama_cpp.llama_log_callback
        def callback(level, text, _user):
            try:
                msg = text.decode("utf-8", "replace") if text else ""
            except Exception:  # never let an exception cross into C
                return
            self._line += msg
            if not self._line.endswith("\n"):
                return
            line, self._line = self._line.rstrip("\n"), ""
            if level != 5:
                self._level = levels.get(level, logging.DEBUG)
            self.recent.append(line)
            # llama.cpp's INFO lines (slicing, timings) are chatter for us: keep them at DEBUG.
            lvl = self._level if self._level >= logging.WARNING else logging.DEBUG
            llama_log.log(lvl, "%s", line.strip())

        return callback

    def mentions(self, *words: str) -> bool:
        text = "\n".join(self.recent).lower()
        return any(w in text for w in words)

    def clear(self) -> None:
        self.recent.clear()


LLAMA_LOG = _LlamaLog()


def route_llama_logs() -> None:
    """Send llama.cpp's log (loading, quantizing, the projector's slicing) to Python logging instead of stderr."""
    import llama_cpp
    import llama_cpp.mtmd_cpp as mtmd_cpp

    LLAMA_LOG.install(llama_cpp, mtmd_cpp)
