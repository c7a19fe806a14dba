#!/usr/bin/env bash
# macOS: PaperLens.app and a .dmg. UNTESTED: written beside the Linux recipe, never run (no Mac here).
# The spec's BUNDLE step (packaging/paperlens.spec, sys.platform == "darwin") wraps the PyInstaller folder into
# dist/pyinstaller/PaperLens.app with the .icns icon and the document types Finder offers it for.
# Not done yet: Finder hands files to a running app as QFileOpenEvent, which the window does not handle yet (only
# argv and the single-instance socket); signing and notarisation (codesign, notarytool) are left to the release job.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
"$py" -m PyInstaller --noconfirm --distpath dist/pyinstaller --workpath build/pyinstaller packaging/paperlens.spec
hdiutil create -volname PaperLens -srcfolder dist/pyinstaller/PaperLens.app -ov -format UDZO dist/PaperLens-macos.dmg
echo dist/PaperLens-macos.dmg
