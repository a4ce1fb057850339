#!/usr/bin/env bash
# Checks that the charts of executed notebooks really draw, offline, in a browser.
#
#   .ci/charts.sh                      # every executed notebook in data/artifacts/jupyter/out (from .ci/jupyter.sh)
#   .ci/charts.sh OUT/05_x.ipynb …     # the given executed notebooks
#   .ci/charts.sh RUN/report.html       # an HTML page written by `quest report` or notebooks/scripts/analyze_run.cs
#
# Each notebook is exported to HTML (jupyter nbconvert), loaded in headless Chromium (Debian's
# chromium-headless-shell) with no network (unshare -n, so a CDN cannot make it pass), and its DOM dumped. A chart
# is Plotly.NET's <div id="GUID"><!-- Plotly chart will be drawn inside this DIV -->; it drew when plotly.js filled it
# (a "main-svg" element inside). Fails
# when any chart did not draw, naming the notebook and the count. HTML pages and DOM dumps stay in
# data/artifacts/jupyter/html for a look.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[charts.sh] %s\n' "$*" >&2; }

PY=/usr/bin/python3; [[ -x "$PY" ]] || PY=python3
if ! command -v chromium-headless-shell >/dev/null 2>&1; then
  SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  say "installing chromium-headless-shell"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null \
    || { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null; }
fi
# No network for the browser: a new network namespace when we may make one (root, or unprivileged user namespaces).
NONET=()
if unshare -n true 2>/dev/null; then NONET=(unshare -n); elif unshare -rn true 2>/dev/null; then NONET=(unshare -rn); else
  say "warning: cannot drop the network (unshare -n failed); the check still counts only charts whose plotly.js was inlined"
fi

OUT="$ROOT/data/artifacts/jupyter/out"
HTML="$ROOT/data/artifacts/jupyter/html"
mkdir -p "$HTML"
notebooks=()
if [[ $# -gt 0 ]]; then notebooks=("$@"); else
  for f in "$OUT"/*.ipynb; do [[ -f "$f" && "$f" != *.errors.ipynb ]] && notebooks+=("$f"); done
fi
[[ ${#notebooks[@]} -gt 0 ]] || { say "no executed notebooks in $OUT (run .ci/jupyter.sh first)"; exit 2; }

failed=()
total_expected=0; total_drawn=0
for nb in "${notebooks[@]}"; do
  if [[ "$nb" == *.html ]]; then
    name="$(basename "$nb" .html)"; page="$(cd "$(dirname "$nb")" && pwd)/$(basename "$nb")"
  else
    name="$(basename "$nb" .ipynb)"
    "$PY" -m nbconvert --to html "$nb" --output-dir "$HTML" --output "$name" >/dev/null 2>&1
    page="$HTML/$name.html"
  fi
  "${NONET[@]}" chromium-headless-shell --headless --no-sandbox --disable-gpu --virtual-time-budget=20000 \
      --dump-dom "file://$page" > "$HTML/$name.dom.html" 2>/dev/null || true
  read -r expected drawn < <("$PY" - "$HTML/$name.dom.html" "$page" <<'PYEOF'
import re, sys
dom = open(sys.argv[1], encoding="utf-8", errors="replace").read()
page = open(sys.argv[2], encoding="utf-8", errors="replace").read()
# A chart is Plotly.NET's <div id="GUID"><!-- Plotly chart will be drawn inside this DIV --></div>; plotly.js fills
# that div (classes and a "main-svg" element) when it draws.
ids = re.findall(r'<div id="([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"><!-- Plotly chart will be drawn', page)
drawn = 0
for i in ids:
    at = dom.find('<div id="' + i + '"')
    if at >= 0 and "main-svg" in dom[at:at + 200000]: drawn += 1
print(len(ids), drawn)
PYEOF
)
  total_expected=$((total_expected + expected)); total_drawn=$((total_drawn + drawn))
  if [[ "$drawn" -lt "$expected" ]]; then
    say "FAIL $name: $drawn of $expected charts drew (page: $page)"
    failed+=("$name")
  else
    say "ok   $name: $drawn of $expected charts drew"
  fi
done
say "$total_drawn of $total_expected charts drew offline in ${#notebooks[@]} notebook(s)"
if [[ ${#failed[@]} -gt 0 ]]; then say "failed: ${failed[*]}"; exit 1; fi
