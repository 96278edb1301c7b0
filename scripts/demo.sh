#!/usr/bin/env bash
# The main job on the embedded defaults: sets everything up, builds the launch tool,
# and runs hmr2pose ! meshoverlay over the bundled sample clip into an MP4.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
source "$here/env.sh"
cd "$root"
cargo build --release --locked -p hmr2-launch
mkdir -p out
# The sample's own person boxes stand in for a detector (see models/README.md).
target/release/hmr2-launch file models/sample/sample.mp4 --boxes models/sample/sample_boxes.jsonl \
  -o out/sample-mesh.mp4 --poses out/sample-poses.jsonl "$@"
