#!/usr/bin/env bash
# Runs every test of the project: sets everything up, checks the house style (rustfmt,
# clippy with warnings as errors), builds the workspace (the Python tests load the plugin
# libraries it builds), then the Rust and the Python tests.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
source "$here/env.sh"
cd "$root"
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo build --locked --workspace --all-targets
cargo test --locked --workspace --no-fail-fast
.venv/bin/python -m unittest discover -s models/tests -v
echo "all tests passed"
