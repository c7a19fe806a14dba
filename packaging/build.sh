#!/usr/bin/env bash
# Build PaperLens for Linux: the PyInstaller folder, a portable .tar.gz and a Debian package, all under dist/.
#   packaging/build.sh                 (what `./run package` runs, with .venv's Python)
#   PYTHON=/path/to/python packaging/build.sh
#   CMAKE_ARGS=-DGGML_CUDA=on packaging/build.sh    the CUDA variant (see packaging/README.md)
# Needs: the Python environment PaperLens runs in, plus pyinstaller (`pip install -e .[package]`), and dpkg-deb.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${PYTHON:-$root/.venv/bin/python}
version=$("$py" -c 'import sys; sys.path.insert(0, "app"); import paperlens; print(paperlens.__version__)')
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
variant=""
if [[ "${CMAKE_ARGS:-}" == *GGML_CUDA=on* || "${CMAKE_ARGS:-}" == *GGML_CUDA=ON* ]]; then
  # The CUDA variant: llama-cpp-python compiled against CUDA in the build environment (minutes; needs nvcc), then
  # the same recipe. Its libggml-cuda.so is collected with the other llama.cpp libraries.
  variant="-cuda"
  if ! ls "$("$py" -c 'import llama_cpp, os; print(os.path.dirname(llama_cpp.__file__))')"/lib/libggml-cuda.so* >/dev/null 2>&1; then
    echo "Compiling llama-cpp-python with CMAKE_ARGS=$CMAKE_ARGS (minutes)…" >&2
    llama=$("$py" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')
    CMAKE_ARGS="$CMAKE_ARGS" "$py" -m pip install --force-reinstall --no-deps --no-binary llama-cpp-python \
      --no-cache-dir "llama-cpp-python==$llama" >&2
  fi
fi
"$py" -c 'import PyInstaller' 2>/dev/null || { echo "pyinstaller is missing: pip install -e '.[package]'" >&2; exit 1; }

echo "Building the PaperLens $version$variant bundle with PyInstaller (a minute or two)…" >&2
rm -rf dist/pyinstaller
"$py" -m PyInstaller --noconfirm --log-level WARN --distpath dist/pyinstaller --workpath build/pyinstaller \
  packaging/paperlens.spec >&2
bundle=dist/pyinstaller/paperlens

# The portable archive: the bundle plus the desktop files, runnable from wherever it is unpacked.
name="paperlens$variant-$version-linux-$(uname -m)"
stage=build/portable/$name
rm -rf build/portable && mkdir -p "$stage"
cp -a "$bundle"/. "$stage"/
mkdir -p "$stage/share/applications" "$stage/share/metainfo" "$stage/share/icons"
cp -a resources/icons/hicolor "$stage/share/icons/"
cp resources/linux/app.paperlens.PaperLens.desktop "$stage/share/applications/"
cp resources/linux/app.paperlens.PaperLens.metainfo.xml "$stage/share/metainfo/"
cp packaging/linux/install-portable.sh "$stage/install-menu-entry.sh"
tar -C build/portable -czf "dist/$name.tar.gz" "$name"
echo "dist/$name.tar.gz" >&2

packaging/linux/make_deb.sh "$bundle" "$version" "$arch" "$variant"
