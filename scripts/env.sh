# Sourced by the project's scripts: the environment the tools and tests run in.
# shellcheck shell=bash
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
# wgpu's Vulkan loader warns when this is unset on a headless machine.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# Keep the per-user GStreamer registry away from stale plugin builds of other checkouts.
export GST_REGISTRY="${GST_REGISTRY:-$root/target/gst-registry-$(uname -m).bin}"
