"""The core stays Qt-free so the CLI, tests and scripts use it headless (napari enforces the same with a contract)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "app" / "paperlens" / "core"
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qtpy")


def test_no_core_module_imports_qt():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in QT]
    assert not offenders


def test_importing_the_core_and_cli_loads_no_qt():
    code = (
        "import sys, importlib, pkgutil, paperlens.core as c, paperlens.cli\n"
        "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('paperlens.core.' + m.name)\n"
        f"print(sorted(k for k in sys.modules if k.split('.')[0] in {QT!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
