"""Engine kinds by name, and the one function that builds an engine from the user's options.

The CLI (`--engine`) and the window's model thread both call `build_engine(options)`; neither knows which classes
exist. A new engine is one module that subclasses `VisionEngine` plus one line:

    from paperlens.core.engine.registry import register

    register("echo", lambda options: EchoEngine(options))

after which `build_engine(EngineOptions(engine="echo"))` builds it (tests/contract shows exactly this).
"""

from __future__ import annotations

from collections.abc import Callable

from paperlens.core.engine.contract import VisionEngine
from paperlens.core.errors import PaperLensError
from paperlens.core.options import EngineOptions

EngineFactory = Callable[[EngineOptions], VisionEngine]

_FACTORIES: dict[str, EngineFactory] = {}


def register(kind: str, factory: EngineFactory) -> None:
    """Make `kind` buildable. Registering a kind again replaces it (tests swap in their own engines)."""
    _FACTORIES[kind] = factory


def unregister(kind: str) -> None:
    _FACTORIES.pop(kind, None)


def kinds() -> tuple[str, ...]:
    return tuple(_FACTORIES)


def build_engine(options: EngineOptions) -> VisionEngine:
    """Build (not load) the engine the options ask for. Cheap: nothing is read or connected until `load()`."""
    try:
        factory = _FACTORIES[options.engine]
    except KeyError:
        raise PaperLensError(
            f"Unknown engine {options.engine!r}; known: {', '.join(sorted(_FACTORIES))}."
        ) from None
    return factory(options)
