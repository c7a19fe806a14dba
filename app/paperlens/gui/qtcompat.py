"""Work-arounds for bugs of the Qt binding, each probed at import and applied only where it is present.

PySide6 6.12.0 (the abi3 wheel) returns `None` from void methods and `True` from `SignalInstance.emit()` without
taking a reference, as if every interpreter were Python 3.12+, where those objects are immortal. On Python 3.10 and
3.11 each such call lowers the object's reference count by one, and after a few hundred calls the interpreter aborts
with "none_dealloc: deallocating None" or "bool_dealloc: deallocating True or False". PySide6 6.11.3 does not do this.

The cure does what Python 3.12 does: it gives None, True and False a reference count so large that no run can
exhaust it. It is probed first, so it does nothing on a binding or an interpreter without the bug. The clean fix is
the dependency pin (`pyside6<6.12` on Python < 3.12); this keeps the window alive where that pin is not in force.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

_HEADROOM = 1 << 40
_applied: list[str] = []


class _Probe(QObject):
    ping = Signal()


def leaked_singletons() -> list[object]:
    """The singletons whose reference count a few plain binding calls lower (none on a sound binding)."""
    probe = _Probe()
    before = {id(o): sys.getrefcount(o) for o in (None, True, False)}
    for _ in range(4):
        probe.ping.emit()  # returns True
        probe.setObjectName("probe")  # returns None
        probe.blockSignals(False)  # returns False
    return [o for o in (None, True, False) if sys.getrefcount(o) < before[id(o)]]


def make_singletons_immortal() -> list[str]:
    """Apply the cure if this interpreter and binding need it; returns the names of the objects it was applied to."""
    if _applied or sys.version_info >= (3, 12) or not hasattr(sys, "getrefcount"):
        return _applied
    for obj in leaked_singletons():
        ctypes.c_ssize_t.from_address(id(obj)).value += _HEADROOM
        _applied.append(repr(obj))
    if _applied:
        log.info(
            "this PySide6 build drops references to %s; applied a work-around (install pyside6<6.12 to avoid it)",
            ", ".join(_applied),
        )
    return _applied


make_singletons_immortal()
