#!/usr/bin/env bash
# The packaging check (on demand and in the slow CI job, never in the default test run): build the bundle and the
# .deb, install the .deb with dpkg, then, from a clean environment (no venv, no source tree, an empty HOME), run the
# installed paperlens: --version, doctor (the tiny twin through the bundled llama.cpp), dev synth + parse, and the
# window under Xvfb with a file, screenshot included. Prints sizes and the window's start-up time.
#   packaging/check.sh                    build with .venv's Python (PYTHON=... for another), then check
#   SKIP_BUILD=1 packaging/check.sh       check the .deb already in dist/
#   KEEP_INSTALLED=1 packaging/check.sh   leave PaperLens installed afterwards
# Needs root (dpkg -i) and: apt install xvfb openbox xdotool imagemagick desktop-file-utils appstream
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
out=${CHECK_OUT:-$src/dist/check}
rm -rf "$out" && mkdir -p "$out"
step() { printf '\n== %s\n' "$*"; }
fail() { echo "PACKAGING CHECK FAILED: $*" >&2; exit 1; }

if [ -z "${SKIP_BUILD:-}" ]; then
  step "build (packaging/build.sh)"
  t0=$(date +%s)
  packaging/build.sh
  echo "built in $(( $(date +%s) - t0 )) s"
fi
deb=$(ls -t dist/paperlens*_*.deb | head -1)
[ -f "$deb" ] || fail "no .deb in dist/"

step "validate the desktop entry and the AppStream metainfo"
desktop-file-validate resources/linux/app.paperlens.PaperLens.desktop
appstreamcli validate --no-net resources/linux/app.paperlens.PaperLens.metainfo.xml

step "install $deb with dpkg -i"
dpkg -i "$deb"
[ -x /usr/bin/paperlens ] || fail "/usr/bin/paperlens is missing"
desktop-file-validate /usr/share/applications/app.paperlens.PaperLens.desktop
grep -q "application/pdf=.*app.paperlens.PaperLens.desktop" /usr/share/applications/mimeinfo.cache 2>/dev/null \
  && echo "file associations registered (mimeinfo.cache)" || echo "note: update-desktop-database is not installed"

# A clean user: nothing from this shell, no venv, not in the source tree, an empty home.
home=$(mktemp -d)
clean() { (cd "$home" && env -i PATH=/usr/bin:/bin HOME="$home" "$@"); }

step "paperlens --version"
clean paperlens --version
step "paperlens doctor (the tiny twin through the bundled llama.cpp)"
clean paperlens doctor | tee "$out/doctor.txt" || true
grep -q "yes: encoded a test image" "$out/doctor.txt" || fail "doctor could not run the projector"
step "paperlens dev synth --size tiny + paperlens parse of the sample PDF"
clean paperlens dev synth --size tiny "$home/twin"
sample=$(find /opt/paperlens -name sample.pdf | head -1)
[ -n "$sample" ] || fail "the sample document is not in the bundle"
clean paperlens parse "$sample" --model-dir "$home/twin" --mode 16x --max-tokens 24 -o "$home/sample.md"
[ -s "$home/sample.md" ] || fail "parse wrote nothing"
head -c 300 "$home/sample.md"; echo

step "the window, with a file, under Xvfb"
display=:$(( 90 + RANDOM % 9 ))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
for _ in $(seq 100); do DISPLAY=$display xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done
DISPLAY=$display openbox >/dev/null 2>&1 &
wm=$!
trap 'kill $wm $xvfb 2>/dev/null || true' EXIT
sleep 0.5  # openbox takes the screen
start=$(date +%s.%N)
(cd "$home" && exec env -i PATH=/usr/bin:/bin HOME="$home" DISPLAY="$display" paperlens "$sample" >"$out/window.log" 2>&1) &
app=$!
win=""
for _ in $(seq 300); do
  win=$(DISPLAY=$display xdotool search --onlyvisible --name PaperLens 2>/dev/null | head -1 || true)
  [ -n "$win" ] && break
  kill -0 $app 2>/dev/null || break
  sleep 0.02
done
shown=$(date +%s.%N)
[ -n "$win" ] || { cat "$out/window.log"; fail "no PaperLens window appeared"; }
startup=$(echo "$shown - $start" | bc)
sleep 3  # the sample renders; what the screenshot should show
DISPLAY=$display import -window root "$out/window.png"
echo "screenshot: $out/window.png"
# a second launch hands its file to this window and exits 0 (single instance)
(cd "$home" && env -i PATH=/usr/bin:/bin HOME="$home" DISPLAY="$display" timeout 30 paperlens "$sample") \
  && echo "second launch handed its file over and exited 0" || fail "second launch failed"
kill -INT $app  # the app closes its window the normal way on Ctrl-C (cancel, wait for the model thread)
for _ in $(seq 300); do kill -0 $app 2>/dev/null || break; sleep 0.1; done
kill -0 $app 2>/dev/null && { kill -KILL $app; fail "the window did not close on SIGINT"; }
wait $app || true

step "sizes"
bundle_mb=$(du -sm /opt/paperlens | cut -f1)
deb_mb=$(( $(stat -c %s "$deb") / 1048576 ))
tar=$(ls -t dist/paperlens*-linux-*.tar.gz 2>/dev/null | head -1 || true)
echo ".deb file:              ${deb_mb} MB ($deb)"
[ -n "$tar" ] && echo "portable .tar.gz:       $(( $(stat -c %s "$tar") / 1048576 )) MB ($tar)"
echo "installed (/opt/paperlens): ${bundle_mb} MB"
echo "what takes the space (MB):"
du -sm /opt/paperlens/_internal/* | sort -rn | head -12 | sed 's#/opt/paperlens/_internal/#  #'
echo
echo "window start-up (launch to visible window): ${startup} s"
printf '%s\n' "deb_mb=$deb_mb" "installed_mb=$bundle_mb" "startup_s=$startup" > "$out/figures.txt"
[ "$deb_mb" -lt 250 ] && echo "goal .deb < 250 MB: met" || echo "goal .deb < 250 MB: NOT met"
[ "$(echo "$startup < 2" | bc)" = 1 ] && echo "goal window < 2 s: met" || echo "goal window < 2 s: NOT met"

if [ -z "${KEEP_INSTALLED:-}" ]; then
  step "remove the package"
  dpkg -r paperlens >/dev/null && echo "removed"
fi
echo
echo "PACKAGING CHECK PASSED"
