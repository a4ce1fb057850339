#!/usr/bin/env bash
# Runs notebooks in real Jupyter with the .NET (C#) kernel, the way a reader would, and fails if any cell fails.
#
#   .ci/jupyter.sh                         # notebooks/00_*.ipynb and notebooks/01_rubric_trees.ipynb (those that exist)
#   .ci/jupyter.sh notebooks/03_x.ipynb    # the given notebooks
#   .ci/jupyter.sh --all                   # every notebooks/*.ipynb
#
# Idempotent. Steps: Debian packages (jupyter-nbconvert, python3-nbclient, jupyter-client; apt-get update only if
# they are not found), `dotnet tool restore` (Microsoft.dotnet-interactive, pinned in .config/dotnet-tools.json),
# the .NET kernel specs into data/artifacts/jupyter/kernels (JUPYTER_PATH points there; nothing global is touched),
# the library into artifacts/lib (what notebooks reference as ../artifacts/lib/Quest.*.dll), then
# `jupyter nbconvert --to notebook --execute` per notebook into data/artifacts/jupyter/out (never over the sources).
# Environment: QUEST_JUPYTER_TIMEOUT_S (per cell, default 900), QUEST_SKIP_BUILD=1 (reuse artifacts/lib).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

say() { printf '[jupyter.sh] %s\n' "$*" >&2; }

# --- which notebooks ---------------------------------------------------------------------------------------------
notebooks=()
if [[ $# -eq 0 ]]; then
  for f in notebooks/00_*.ipynb notebooks/01_rubric_trees.ipynb; do [[ -f "$f" ]] && notebooks+=("$f"); done
elif [[ "$1" == "--all" ]]; then
  for f in notebooks/*.ipynb; do [[ -f "$f" ]] && notebooks+=("$f"); done
else
  for f in "$@"; do
    [[ -f "$f" ]] || { say "no such notebook: $f"; exit 2; }
    notebooks+=("$f")
  done
fi
if [[ ${#notebooks[@]} -eq 0 ]]; then say "no notebooks to run"; exit 2; fi

# --- Debian packages -----------------------------------------------------------------------------------------------
# Debian's python (not a pyenv/venv python3 that may come first on PATH) is the one these packages serve.
PY=/usr/bin/python3; [[ -x "$PY" ]] || PY=python3
pkgs=(jupyter-nbconvert python3-nbclient jupyter-client)
if [[ ! -x /usr/bin/jupyter-nbconvert ]] || ! "$PY" -c 'import nbclient, jupyter_client' >/dev/null 2>&1; then
  SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  say "installing ${pkgs[*]}"
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"; then
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"
  fi
fi

# --- the .NET kernel -----------------------------------------------------------------------------------------------
dotnet tool restore >/dev/null
JDIR="$ROOT/data/artifacts/jupyter"
mkdir -p "$JDIR/kernels"
if [[ ! -f "$JDIR/kernels/.net-csharp/kernel.json" ]]; then
  say "installing the .NET kernel specs into $JDIR/kernels"
  dotnet interactive jupyter install --path "$JDIR/kernels" >/dev/null
fi
export JUPYTER_PATH="$JDIR${JUPYTER_PATH:+:$JUPYTER_PATH}"
# The kernel spec starts `dotnet interactive` (the repository's local tool), so the kernel must start inside the
# repository: nbconvert starts it in the notebook's folder, which also makes ../artifacts/lib resolve.

# --- the library ---------------------------------------------------------------------------------------------------
if [[ "${QUEST_SKIP_BUILD:-0}" != "1" ]]; then
  say "publishing src/Quest.Interactive into artifacts/lib"
  dotnet publish src/Quest.Interactive -c Release -o artifacts/lib -nologo -v quiet
  if grep -l 'artifacts/lib/Quest.Models.dll' "${notebooks[@]}" >/dev/null 2>&1; then
    say "publishing src/Quest.Models into artifacts/lib (a notebook references it)"
    dotnet publish src/Quest.Models -c Release -o artifacts/lib -nologo -v quiet
  fi
  if grep -l 'artifacts/lib/Quest.Analysis.dll' "${notebooks[@]}" >/dev/null 2>&1; then
    say "publishing src/Quest.Analysis into artifacts/lib (a notebook references it)"
    dotnet publish src/Quest.Analysis -c Release -o artifacts/lib -nologo -v quiet
  fi
fi

# --- run -----------------------------------------------------------------------------------------------------------
OUT="$JDIR/out"
mkdir -p "$OUT"
failed=()
run_nb() {
  "$PY" -m nbconvert --to notebook --execute "$1" --output-dir "$OUT" \
       --ExecutePreprocessor.kernel_name=.net-csharp \
       --ExecutePreprocessor.timeout="${QUEST_JUPYTER_TIMEOUT_S:-900}" \
       --ExecutePreprocessor.startup_timeout=180 >"$OUT/$(basename "$1" .ipynb).log" 2>&1
}
for nb in "${notebooks[@]}"; do
  say "executing $nb"
  start=$(date +%s)
  if run_nb "$nb"; then
    say "ok   $nb ($(( $(date +%s) - start )) s) -> $OUT/$(basename "$nb")"
  else
    say "FAIL $nb ($(( $(date +%s) - start )) s); the error:"
    log="$OUT/$(basename "$nb" .ipynb).log"
    if grep -q 'CellExecutionError' "$log"; then
      sed -n '/^nbclient.exceptions.CellExecutionError/,$p' "$log" | head -30 >&2
      # The .NET kernel sends compiler diagnostics as a stream output, not in the error itself ("Error: compilation
      # error"): run once more keeping errors, and print the first failing cell's outputs.
      name="$(basename "$nb" .ipynb).errors"
      "$PY" -m nbconvert --to notebook --execute "$nb" --allow-errors --output-dir "$OUT" --output "$name" \
        --ExecutePreprocessor.kernel_name=.net-csharp --ExecutePreprocessor.timeout="${QUEST_JUPYTER_TIMEOUT_S:-900}" \
        --ExecutePreprocessor.startup_timeout=180 >/dev/null 2>&1 || true
      "$PY" - "$OUT/$name.ipynb" >&2 <<'PYEOF' || true
import json, sys
nb = json.load(open(sys.argv[1]))
code = [c for c in nb["cells"] if c["cell_type"] == "code"]
for i, c in enumerate(code, 1):
    if any(o["output_type"] == "error" for o in c["outputs"]):
        print(f"first failing code cell: {i}")
        for o in c["outputs"]:
            if o["output_type"] == "stream":
                print("".join(o["text"]).strip())
            elif o["output_type"] == "error":
                print(o["ename"] + ": " + o["evalue"][:2000])
        break
PYEOF
    else grep -v -E '^(info|warn): |^      ' "$log" | tail -40 >&2; fi
    failed+=("$nb")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then say "failed: ${failed[*]}"; exit 1; fi
say "all ${#notebooks[@]} notebook(s) ran in Jupyter"
