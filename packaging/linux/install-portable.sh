#!/bin/sh
# Add this unpacked PaperLens to your menu and file associations (for you only; nothing outside your home changes).
# Run it again after moving the folder. Remove with: rm ~/.local/share/applications/app.paperlens.PaperLens.desktop
set -e
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons" "$data/metainfo"
cp -r "$here/share/icons/hicolor" "$data/icons/"
sed "s#^Exec=paperlens#Exec=\"$here/paperlens\"#; s#^TryExec=paperlens#TryExec=$here/paperlens#" \
  "$here/share/applications/app.paperlens.PaperLens.desktop" > "$data/applications/app.paperlens.PaperLens.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
echo "PaperLens is in your menu; it opens PDFs and images from your file manager."
