#!/usr/bin/env bash
# The one-command GPU check of issue #15 (tools/gpu_check.py says what it checks).
#
#   tools/gpu_check.sh prepare
#       Where a package registry and Debian's archive are reachable (a developer's machine).
#       Fills var/gpu-carry/ (git-ignored, ~15 MB) with what a bare GPU host may lack and
#       cannot fetch: the runner's Python wheels for Python 3.12 (GPU_CHECK_PY to change),
#       Debian's bubblewrap .deb and the libraries it links, and the capstone's dataset.
#   tools/gpu_check.sh [gpu_check.py options]
#       On the GPU host. Uses a Python that already has torch (the host's CUDA build: a
#       `pip install torch==X` from PyPI on Linux is the CUDA build, but a host without a
#       registry cannot fetch it), installs the runner's packages and bubblewrap from
#       var/gpu-carry/ when missing (else from the registry / apt-get when reachable), then runs
#       tools/gpu_check.py --unsafe: if bubblewrap cannot start there (user namespaces refused)
#       the check says so and goes on without the sandbox rather than reporting nothing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARRY=${GPU_CHECK_CARRY:-$ROOT/var/gpu-carry}
RUNNER_PKGS=(Django django-environ celery markdown-it-py mdit-py-plugins nh3 Pygments PyYAML)
IMPORTS="import django, environ, celery, markdown_it, mdit_py_plugins, nh3, pygments, yaml"
# bwrap and what it links that a minimal image may lack (libselinux1 needs libpcre2-8-0).
DEBS=(bubblewrap libcap2 libselinux1 libpcre2-8-0)

pins() {  # the versions CI tests, from requirements/base.txt
  local p
  for p in "${RUNNER_PKGS[@]}"; do grep -i "^$p==" "$ROOT/requirements/base.txt"; done
}

prepare() {
  local py=${GPU_CHECK_PY:-3.12} tag=${GPU_CHECK_PY:-3.12}
  tag=cp${tag//./}
  mkdir -p "$CARRY/wheels" "$CARRY/debs" "$CARRY/data"
  echo "wheels for CPython $py (the GPU image's Python) -> $CARRY/wheels"
  # shellcheck disable=SC2046
  python3 -m pip download -q --only-binary=:all: --python-version "$py" --implementation cp --abi "$tag" \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$CARRY/wheels" $(pins)
  echo "Debian packages ${DEBS[*]} -> $CARRY/debs"
  (cd "$CARRY/debs" && apt-get download "${DEBS[@]}" 2>/dev/null) || {
    apt-get update -qq >/dev/null 2>&1 || true
    (cd "$CARRY/debs" && apt-get download "${DEBS[@]}")
  }
  local d found=""
  for d in ${COURSE_ASSETS_DIR//:/ } "$ROOT/var/mirror" /work/shared/data; do
    if [ -f "$d/tinyshakespeare.txt" ]; then cp "$d/tinyshakespeare.txt" "$CARRY/data/"; found=$d; break; fi
  done
  [ -n "$found" ] && echo "dataset tinyshakespeare.txt from $found -> $CARRY/data" ||
    echo "no tinyshakespeare.txt in COURSE_ASSETS_DIR: the GPU host must download it (or the check says why not)" >&2
  du -sh "$CARRY"
}

pick_python() {  # the first Python whose torch sees CUDA, else the first with torch at all
  local c fallback=""
  for c in ${PYTHON:-} /opt/torch/.venv/bin/python3 python3 "$ROOT/.venv/bin/python"; do
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
      echo "$c"; return
    fi
    [ -z "$fallback" ] && "$c" -c "import torch" 2>/dev/null && fallback=$c
  done
  if [ -n "$fallback" ]; then echo "$fallback"; return; fi
  # No torch anywhere: a venv with the pinned torch (PyPI's Linux wheel is the CUDA build).
  local venv=$ROOT/var/gpu-check-venv torch_pin
  torch_pin=$(grep -i '^torch==' "$ROOT/requirements/base.txt")
  echo "no Python with torch here: installing $torch_pin into $venv (needs a package registry)" >&2
  python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q "$torch_pin" >&2 || {
    echo "could not install torch: this host needs a Python with torch (set PYTHON=...)" >&2; exit 2; }
  echo "$venv/bin/python"
}

ensure_runner_packages() {
  "$PY" -c "$IMPORTS" 2>/dev/null && return
  local site=$CARRY/site
  if compgen -G "$CARRY/wheels/*.whl" >/dev/null; then
    echo "installing the runner's packages from $CARRY/wheels into $site (no registry needed)"
    # shellcheck disable=SC2046
    "$PY" -m pip install -q --no-index --find-links "$CARRY/wheels" --target "$site" --upgrade $(pins) || {
      # No pip in that environment: a wheel is a zip laid out as site-packages, so unpack them.
      echo "pip failed: unpacking the wheels into $site instead"
      "$PY" -c 'import glob, sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[2]) for w in glob.glob(sys.argv[1] + "/*.whl")]' \
        "$CARRY/wheels" "$site"
    }
  else
    echo "installing the runner's packages from the package registry into $site"
    # shellcheck disable=SC2046
    "$PY" -m pip install -q --target "$site" --upgrade $(pins)
  fi
  export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
  "$PY" -c "$IMPORTS"
}

ensure_bwrap() {
  # The launcher runs bwrap with PATH=/usr/sbin:/usr/bin:/sbin:/bin, so it must be there.
  PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v bwrap >/dev/null 2>&1 && return
  local deb
  deb=$(compgen -G "$CARRY/debs/bubblewrap_*.deb" | head -1 || true)
  if [ -n "$deb" ] && [ "$(id -u)" = 0 ]; then
    local tmp lib d found
    tmp=$(mktemp -d)
    command -v dpkg >/dev/null 2>&1 || { echo "no dpkg here to unpack $deb: no sandbox" >&2; return; }
    dpkg -x "$deb" "$tmp"
    # Only the missing libraries are copied in, never the whole package over the system.
    for lib in $(ldd "$tmp/usr/bin/bwrap" | awk '/not found/ {print $1}'); do
      for d in "$CARRY"/debs/*.deb; do
        rm -rf "$tmp/x" && mkdir -p "$tmp/x" && dpkg -x "$d" "$tmp/x"
        found=$(find "$tmp/x" -name "$lib*" | head -1)
        if [ -n "$found" ]; then
          cp -a "$(dirname "$found")/$lib"* /usr/lib/x86_64-linux-gnu/ && ldconfig
          echo "  added $lib from $(basename "$d")"; break
        fi
      done
    done
    if install -m 0755 "$tmp/usr/bin/bwrap" /usr/bin/bwrap; then
      echo "installed Debian's bubblewrap from $(basename "$deb") (this host had none): $(bwrap --version)"
    else
      echo "could not install bwrap into /usr/bin: the sandbox check will fail" >&2
    fi
    rm -rf "$tmp"
  elif [ "$(id -u)" = 0 ]; then
    "$ROOT/tools/system_packages.sh"
  else
    echo "no bubblewrap here and no carried .deb (tools/gpu_check.sh prepare): the sandbox check will fail" >&2
  fi
}

if [ "${1:-}" = prepare ]; then
  prepare
  exit 0
fi
PY=$(pick_python)
echo "python: $PY ($("$PY" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__)'))"
ensure_runner_packages
ensure_bwrap
for tool in setpriv unshare; do
  command -v "$tool" >/dev/null 2>&1 || echo "note: $tool is missing (util-linux): a root worker needs it" >&2
done
if [ -d "$CARRY/data" ] && [ -z "${COURSE_ASSETS_DIR:-}" ]; then
  export COURSE_ASSETS_DIR=$CARRY/data
fi
cd "$ROOT"
exec "$PY" tools/gpu_check.py --unsafe "$@"
