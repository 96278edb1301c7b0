#!/usr/bin/env python3
"""Generate every default asset in models/, in dependency order.

1. gen_mannequin.py    -> models/mannequin.safetensors
2. gen_test_network.py -> models/hmr2-test.onnx   (frames the mannequin; reads step 1's file)
3. gen_sample_clip.py  -> models/sample/sample.mp4 and models/sample/sample_poses.json

All outputs are deterministic: running this twice gives byte-identical files.
Usage: ``.venv/bin/python models/generate_all.py``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_mannequin  # noqa: E402
import gen_sample_clip  # noqa: E402
import gen_test_network  # noqa: E402


def main() -> int:
    t0 = time.monotonic()
    steps = [
        (gen_mannequin, HERE / "mannequin.safetensors"),
        (gen_test_network, HERE / "hmr2-test.onnx"),
        (gen_sample_clip, HERE / "sample" / "sample.mp4"),
    ]
    for module, out in steps:
        t = time.monotonic()
        rc = module.main(["--out", str(out)])
        if rc:
            return rc
        print(f"[generate_all] {module.__name__} done in {time.monotonic() - t:.1f} s", flush=True)
    print(f"[generate_all] all assets generated in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
