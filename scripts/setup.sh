#!/usr/bin/env bash
# Create .venv and install the project. `--test` also installs the test tools and
# Debian's chromium for the browser test. Re-running is quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extras=""
debs=()
# nynorsk questions are translated to bokmål by apertium (the assistant runs without it, less well)
[ -f /usr/share/apertium/apertium-nno-nob/nno-nob.automorf.bin ] || debs+=(apertium-nno-nob)
# English questions' words are looked up in FreeDict's English-Norwegian dictionary (also optional)
[ -f /usr/share/dictd/freedict-eng-nor.index ] || debs+=(dict-freedict-eng-nor)
if [ "${1:-}" = "--test" ]; then
  extras="[test,bench,fit]"
  command -v chromium >/dev/null 2>&1 || debs+=(chromium fonts-dejavu-core)  # for the browser test
fi
if [ ${#debs[@]} -gt 0 ]; then
  echo "installing Debian packages: ${debs[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1 && { [ -z "$SUDO" ] || command -v sudo >/dev/null 2>&1; }; then
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${debs[@]}" >/dev/null \
      || echo "warning: could not install ${debs[*]}; the assistant runs without them" >&2
  else
    echo "warning: cannot install ${debs[*]} (no apt-get or sudo); the assistant runs without them" >&2
  fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)${extras//[^a-z]/}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # the CPU build of torch first: a bare torch requirement could pull a multi-GB CUDA build
  .venv/bin/python -m pip install -q torch==2.13.0
  .venv/bin/python -m pip install -q -e ".${extras}"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# the package's bytecode, as pip writes it for a non-editable install: with PYTHONDONTWRITEBYTECODE
# set (as on these machines) every start would otherwise compile ~40 modules (~0.13 s of a cold ask)
.venv/bin/python -m compileall -q assistant app.py >/dev/null || true
echo "ready: .venv" >&2
