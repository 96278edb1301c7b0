"""Pinned downloads from package registries, cached once in `.deps/downloads/`.

Each download is made with the registry's own client (`npm pack`, `apt-get download`) into a
temporary folder beside the cache, checked against its pinned size and sha256, and only then
moved to its final name: a file under its final name is always a complete, checked download.
A cached file is used as it is when its size and sha256 match; one that does not match is
deleted and fetched again, and a fresh download that does not match is an error.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPS = ROOT / ".deps"
DOWNLOADS = DEPS / "downloads"
MODELS = DEPS / "models"


class ChecksumError(RuntimeError):
    """A file does not have its pinned size or sha256."""


class FetchError(RuntimeError):
    """The registry client failed or did not produce the expected file."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Pinned:
    """A file known by its size and sha256."""

    filename: str
    size: int
    sha256: str

    def matches(self, path: Path) -> bool:
        return path.is_file() and path.stat().st_size == self.size and sha256_file(path) == self.sha256

    def check(self, path: Path) -> Path:
        if not path.is_file():
            raise ChecksumError(f"{path} is missing")
        size = path.stat().st_size
        digest = sha256_file(path)
        if size != self.size or digest != self.sha256:
            raise ChecksumError(
                f"{path}: {size} bytes, sha256 {digest}; pinned {self.size} bytes, sha256 {self.sha256}")
        return path


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise FetchError(f"{cmd[0]} not found: {e}") from e
    if done.returncode != 0:
        raise FetchError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def cached(pinned: Pinned, fetch_into, downloads: Path = DOWNLOADS, log=print) -> Path:
    """The pinned file in `downloads`, fetched with `fetch_into(folder)` (which must leave
    `pinned.filename` in that folder) unless a matching copy is already there."""
    final = downloads / pinned.filename
    if final.exists():
        if pinned.matches(final):
            return final
        log(f"{final}: does not match its pinned sha256; fetching it again")
        final.unlink()
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=downloads) as tmp:
        tmp = Path(tmp)
        log(f"fetching {pinned.filename} ({pinned.size / 1e6:.1f} MB)")
        fetch_into(tmp)
        got = tmp / pinned.filename
        if not got.is_file():
            raise FetchError(f"the download left {sorted(p.name for p in tmp.iterdir())}, not {pinned.filename}")
        pinned.check(got)
        got.replace(final)
    return final


def npm_pack(spec: str):
    """A `fetch_into` that runs `npm pack SPEC` (the registry tarball, no install)."""
    return lambda folder: _run(["npm", "pack", spec, "--pack-destination", str(folder), "--silent"], folder)


def apt_download(package: str, version: str):
    """A `fetch_into` that runs `apt-get download PACKAGE=VERSION` (the .deb, no install)."""
    return lambda folder: _run(["apt-get", "download", "-q", f"{package}={version}"], folder)
