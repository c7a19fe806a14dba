#!/usr/bin/env bash
# Wrap the PyInstaller folder into a Debian package: the app under /opt/paperlens, /usr/bin/paperlens, the desktop
# entry (its MimeType line is the file associations), icons, AppStream metainfo.
#   packaging/linux/make_deb.sh BUNDLE_DIR VERSION ARCH [VARIANT]
set -euo pipefail
bundle=$1 version=$2 arch=$3 variant=${4:-}
cd "$(dirname "$0")/../.."
pkg=paperlens$variant
root=build/deb/$pkg
rm -rf build/deb && mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
  "$root/usr/share/metainfo" "$root/usr/share/icons" "$root/usr/share/doc/$pkg"
cp -a "$bundle" "$root/opt/paperlens"
cat > "$root/usr/bin/paperlens" <<'SH'
#!/bin/sh
# PaperLens lives in /opt/paperlens (one folder: its own Python, Qt and llama.cpp).
exec /opt/paperlens/paperlens "$@"
SH
chmod 755 "$root/usr/bin/paperlens"
cp resources/linux/app.paperlens.PaperLens.desktop "$root/usr/share/applications/"
cp resources/linux/app.paperlens.PaperLens.metainfo.xml "$root/usr/share/metainfo/"
cp -a resources/icons/hicolor "$root/usr/share/icons/"
cat > "$root/usr/share/doc/$pkg/copyright" <<'TXT'
PaperLens: MIT license. The bundle in /opt/paperlens also holds Python (PSF), Qt for Python (LGPLv3), PyMuPDF and
MuPDF (AGPLv3), OpenCV (Apache-2.0), llama.cpp (MIT) and their dependencies, under their own licenses.
TXT
# Qt's xcb platform plugin comes with its libraries inside the bundle; these are what it still takes from the system.
cat > "$root/DEBIAN/control" <<TXT
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: PaperLens developers <hello@paperlens.app>
Installed-Size: $(du -sk --apparent-size "$root" | cut -f1)
Depends: libc6 (>= 2.31), libgl1, libegl1, libfontconfig1, libfreetype6, libdbus-1-3, libxkbcommon0, libglib2.0-0
Recommends: xdg-utils
Section: graphics
Priority: optional
Homepage: https://paperlens.app/
Description: offline document scanner: pages to Markdown, tables and answers
 PaperLens reads PDFs, images and camera captures with a local vision-language
 model (MiniCPM-V 4.6, run by llama.cpp) and gives Markdown, tables (XLSX, CSV,
 DOCX, JSON) and answers to questions. Nothing leaves the computer. The model
 files are downloaded separately (see paperlens models).
TXT
for script in postinst postrm; do
  cat > "$root/DEBIAN/$script" <<'SH'
#!/bin/sh
set -e
# Refresh the menu, the file associations and the icon cache where the tools are installed.
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q /usr/share/applications || true; fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true; fi
SH
  chmod 755 "$root/DEBIAN/$script"
done
out="dist/${pkg}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$root" "$out" >&2
echo "$out" >&2
