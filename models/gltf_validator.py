"""Khronos glTF-Validator for the animation-export tests: `npm ci` of the pinned npm package
`gltf-validator` (models/gltf_validator/package-lock.json, integrity-checked by npm) into the
project-local `.deps/gltf-validator/`. Idempotent: nothing happens when the installed copy
matches the lock file.

    .venv/bin/python models/gltf_validator.py            # install (or check) the validator
    .venv/bin/python models/gltf_validator.py FILE.glb   # validate a file, print the summary

The launch tests find it at `.deps/gltf-validator/node_modules/gltf-validator` and run
`models/gltf_validator/validate.js` under node; they skip with a message when it is absent.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "models" / "gltf_validator"
INSTALL_DIR = ROOT / ".deps" / "gltf-validator"
STAMP = INSTALL_DIR / ".package-lock.sha256"


def log(message: str) -> None:
    print(f"gltf_validator: {message}", file=sys.stderr)


def _lock_sha256() -> str:
    return hashlib.sha256((SPEC / "package-lock.json").read_bytes()).hexdigest()


def ready() -> bool:
    return (INSTALL_DIR / "node_modules" / "gltf-validator").is_dir() and STAMP.is_file() \
        and STAMP.read_text().strip() == _lock_sha256()


def setup() -> Path:
    if ready():
        log(f"glTF-Validator in {INSTALL_DIR} is up to date")
        return INSTALL_DIR
    if shutil.which("npm") is None:
        raise SystemExit("gltf_validator: npm is missing (apt-get install -y npm)")
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(SPEC / name, INSTALL_DIR / name)
    cmd = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--silent"]
    done = subprocess.run(cmd, cwd=INSTALL_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gltf_validator: {' '.join(cmd)} in {INSTALL_DIR} failed: {done.stderr.strip()}")
    STAMP.write_text(_lock_sha256() + "\n")
    log(f"installed glTF-Validator into {INSTALL_DIR}")
    return INSTALL_DIR


def validate(path: Path) -> dict:
    env = dict(os.environ, NODE_PATH=str(INSTALL_DIR / "node_modules"))
    done = subprocess.run(["node", str(SPEC / "validate.js"), str(path)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gltf_validator: validation of {path} failed to run: {done.stderr.strip()}")
    return json.loads(done.stdout)


def main(argv: list[str]) -> int:
    setup()
    status = 0
    for name in argv:
        issues = validate(Path(name))["issues"]
        print(f"{name}: {issues['numErrors']} errors, {issues['numWarnings']} warnings, "
              f"{issues['numInfos']} infos, {issues['numHints']} hints")
        for message in issues["messages"]:
            print(f"  {message.get('code')} {message.get('pointer', '')}: {message.get('message')}")
        status |= int(issues["numErrors"] > 0 or issues["numWarnings"] > 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
