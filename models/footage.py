"""Real footage with people for the detector tests and the demo: the sample data of Debian's
`opencv-doc` package (OpenCV's `samples/data`), fetched once and unpacked into
`.deps/footage/opencv-doc/`.

    .venv/bin/python models/footage.py        # idempotent; well under a second when done

The .deb is pinned (version and sha256) and cached in `.deps/downloads/`; `apt-get download`
fetches it (no installation, no root needed; the apt lists must know the version, so run
`apt-get update` first on a fresh machine). Only `usr/share/doc/opencv-doc/examples/data/`
and the package's `copyright` are unpacked. Licence: OpenCV's samples are under
Apache-2.0 AND BSD-3-Clause (the `Files: *` stanza of the package's copyright file).

Useful files with people: `vtest.avi` (768x576, 10 fps, 795 frames of pedestrians seen from
above, MPEG-4 part 2 "DIV3"), `basketball1.png` / `basketball2.png` (640x480, grey),
`messi5.jpg` (548x342). `frames()` decodes any of them to RGB with GStreamer.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pinned_fetch as pf  # noqa: E402

OPENCV_DOC_VERSION = "4.6.0+dfsg-12"
OPENCV_DOC = pf.Pinned(f"opencv-doc_{OPENCV_DOC_VERSION}_all.deb", 95_715_012,
                       "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a")
PREFIX = "./usr/share/doc/opencv-doc/"
DATA_PREFIX = PREFIX + "examples/data/"
FOOTAGE = pf.DEPS / "footage" / "opencv-doc"
DATA = FOOTAGE / "data"
STAMP = FOOTAGE / ".unpacked-from"


def log(msg: str) -> None:
    print(f"[footage] {msg}", file=sys.stderr)


def ready() -> bool:
    return STAMP.is_file() and STAMP.read_text().strip() == OPENCV_DOC.sha256


def fetch() -> Path:
    """The folder of OpenCV's sample data (`DATA`); fetched and unpacked when missing."""
    if ready():
        return DATA
    deb = pf.cached(OPENCV_DOC, pf.apt_download("opencv-doc", OPENCV_DOC_VERSION), log=log)
    FOOTAGE.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    count = 0
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            if member.isfile() and member.name.startswith(DATA_PREFIX):
                dest = DATA / member.name[len(DATA_PREFIX):]
            elif member.isfile() and member.name == PREFIX + "copyright":
                dest = FOOTAGE / "copyright"
            else:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(tar.extractfile(member).read())
            count += 1
    if proc.wait() != 0:
        raise pf.FetchError(f"dpkg-deb --fsys-tarfile {deb} failed")
    if not (DATA / "vtest.avi").is_file():
        raise pf.FetchError(f"{deb} has no {DATA_PREFIX}vtest.avi")
    STAMP.write_text(OPENCV_DOC.sha256 + "\n")
    log(f"unpacked {count} files into {FOOTAGE}")
    return DATA


def _gst():
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    return Gst


def frames(path: Path, wanted: set[int] | None = None) -> dict[int, np.ndarray]:
    """Decodes a clip or a still image (anything `decodebin` reads) to RGB frames
    ([H, W, 3] uint8) with GStreamer; `wanted` selects frame indices (all when None)."""
    Gst = _gst()
    pipe = Gst.parse_launch(
        f'filesrc location="{path}" ! decodebin ! videoconvert ! video/x-raw,format=RGB '
        "! appsink name=sink sync=false")
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    out: dict[int, np.ndarray] = {}
    index = 0
    last = max(wanted) if wanted else None
    while last is None or index <= last:
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        if sample is None:
            break
        if wanted is None or index in wanted:
            s = sample.get_caps().get_structure(0)
            w, h = s.get_value("width"), s.get_value("height")
            buf = sample.get_buffer()
            ok, info = buf.map(Gst.MapFlags.READ)
            if not ok:
                raise RuntimeError(f"{path}: cannot map frame {index}")
            stride = len(info.data) // h
            out[index] = np.frombuffer(info.data, np.uint8).reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()
            buf.unmap(info)
        index += 1
    err = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    if err is not None:
        raise RuntimeError(f"{path}: {err.parse_error()}")
    if wanted and not wanted <= out.keys():
        raise RuntimeError(f"{path}: frames {sorted(wanted - out.keys())} not found")
    return out


def image(path: Path) -> np.ndarray:
    return frames(path, {0})[0]


def main() -> int:
    try:
        print(fetch())
    except (pf.ChecksumError, pf.FetchError) as e:
        log(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
