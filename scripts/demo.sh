#!/usr/bin/env bash
# The main job on the default models: sets everything up, builds the launch tool, and runs
# hmr2pose ! meshoverlay over real footage (pedestrians in Debian opencv-doc's vtest.avi)
# into an MP4 with the poses beside it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
source "$here/env.sh"
cd "$root"
cargo build --release --locked -p hmr2-launch
mkdir -p out
# The first 100 frames (10 s of the 80 s clip; drop --max-frames for all of it).
target/release/hmr2-launch file .deps/footage/opencv-doc/data/vtest.avi --max-frames 100 \
  -o out/vtest-mesh.mp4 --poses out/vtest-poses.jsonl "$@"
