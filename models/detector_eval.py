"""Runs a person detector ONNX (the element's YOLOv8 layout) on real footage the way
`hmr2pose` does, draws the boxes into PNGs and prints counts and timings.

    .venv/bin/python models/detector_eval.py                       # default model and footage
    .venv/bin/python models/detector_eval.py --out /tmp/eval --bench 20

The letterbox replicates the element's (gst-plugin-hmr2/src/detector.rs and resample.rs):
scale to fit keeping the aspect, centred with the same rounding, area averaging when
shrinking by more than 1.1 (bilinear otherwise), pixel centres as there, and the border
value mixed in by each input pixel's part outside the frame. The decode keeps a candidate
when person is its best class and its score reaches the threshold, clips it to the frame
and runs the same greedy NMS. `--border` chooses the grey level of the border (the element
uses 114).
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import footage  # noqa: E402
import open_detector  # noqa: E402

ANTI_ALIAS_ABOVE = 1.1
ELEMENT_GREY = 114.0
VTEST_FRAMES = (0, 100, 200, 300, 400, 500, 600, 700)
PHOTOS = ("basketball1.png", "basketball2.png", "messi5.jpg")


# ---------------------------------------------------------------------------------------
# Letterbox and decode as the element does them
# ---------------------------------------------------------------------------------------


def _axis_weights(origin: float, step: float, out_len: int, src_len: int) -> np.ndarray:
    w = np.zeros((out_len, src_len), np.float32)
    for o in range(out_len):
        x = np.float32(origin) + np.float32(o) * np.float32(step)
        if step <= ANTI_ALIAS_ABOVE:
            i0 = int(np.floor(x))
            f = float(x - i0)
            for i, v in ((i0, 1.0 - f), (i0 + 1, f)):
                if 0 <= i < src_len and v > 0:
                    w[o, i] = v
        else:
            lo, hi = x - step / 2.0, x + step / 2.0
            for i in range(max(int(np.floor(lo + 0.5)), 0), min(int(np.floor(hi + 0.5)), src_len - 1) + 1):
                overlap = min(hi, i + 0.5) - max(lo, i - 0.5)
                if overlap > 0:
                    w[o, i] = overlap / step
    return w


def letterbox(rgb: np.ndarray, side: int = 416, border: float = ELEMENT_GREY):
    """The detector input [1, 3, side, side] (RGB in [0, 1]) and (gain, pad_x, pad_y)."""
    h, w = rgb.shape[:2]
    gain = min(side / w, side / h)
    pad = [max(round((side - round(n * gain)) / 2.0 - 0.1), 0.0) for n in (w, h)]
    wx = _axis_weights((0.5 - pad[0]) / gain - 0.5, 1.0 / gain, side, w)
    wy = _axis_weights((0.5 - pad[1]) / gain - 0.5, 1.0 / gain, side, h)
    planes = np.stack([wy @ rgb[:, :, c].astype(np.float32) @ wx.T for c in range(3)])
    coverage = wy.sum(1)[:, None] * wx.sum(1)[None, :]
    x = (planes + (1.0 - coverage)[None] * border) / 255.0
    return x[None].astype(np.float32), (gain, pad[0], pad[1])


def decode(output: np.ndarray, threshold: float, person_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes (x0, y0, x1, y1, input pixels) and scores of a [1, 4 + C, N] output."""
    rows = output[0]
    score = rows[4]
    keep = score >= threshold
    if not person_only:
        keep &= (rows[4:] <= score).all(axis=0)
    cx, cy, w, h = rows[:4, keep]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1), score[keep]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = w * h
    area = lambda r: max(r[2] - r[0], 0.0) * max(r[3] - r[1], 0.0)  # noqa: E731
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    kept: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        if all(iou(boxes[k], boxes[i]) <= iou_threshold for k in kept):
            kept.append(int(i))
    return kept


def detect(session, rgb: np.ndarray, threshold: float = 0.5, iou_threshold: float = 0.7,
           border: float = ELEMENT_GREY, person_only: bool = False):
    """Persons in the frame as the element finds them: boxes [K, 4] in frame pixels, scores."""
    x, (gain, px, py) = letterbox(rgb, border=border)
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    boxes, scores = decode(out, threshold, person_only)
    h, w = rgb.shape[:2]
    boxes = (boxes - [px, py, px, py]) / gain
    boxes = np.clip(boxes, 0, [w, h, w, h])
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    boxes, scores = boxes[area > 0], scores[area > 0]
    kept = nms(boxes, scores, iou_threshold)
    return boxes[kept], scores[kept]


# ---------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------

_DIGITS = {  # 3x5 bitmaps
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010",
}


def draw_text(img: np.ndarray, x: int, y: int, text: str, colour, scale: int = 2) -> None:
    for k, ch in enumerate(text):
        bits = np.array([int(c) for c in _DIGITS[ch]], bool).reshape(5, 3)
        glyph = np.kron(bits, np.ones((scale, scale), bool))
        y0, x0 = y, x + k * 4 * scale
        sub = img[y0:y0 + glyph.shape[0], x0:x0 + glyph.shape[1]]
        sub[glyph[: sub.shape[0], : sub.shape[1]]] = colour


def draw_box(img: np.ndarray, box, colour, thickness: int = 2, label: str | None = None) -> None:
    h, w = img.shape[:2]
    x0, y0, x1, y1 = [int(round(v)) for v in box]
    x0, x1 = np.clip([x0, x1 - 1], 0, w - 1)
    y0, y1 = np.clip([y0, y1 - 1], 0, h - 1)
    t = thickness
    img[y0:y0 + t, x0:x1 + 1] = colour
    img[max(y1 - t + 1, 0):y1 + 1, x0:x1 + 1] = colour
    img[y0:y1 + 1, x0:x0 + t] = colour
    img[y0:y1 + 1, max(x1 - t + 1, 0):x1 + 1] = colour
    if label:
        draw_text(img, x0 + t + 1, y0 + t + 1, label, colour)


def write_png(path: Path, rgb: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    path.write_bytes(png)


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------


def session(model: Path, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])


def images(extra: list[Path] = ()) -> list[tuple[str, np.ndarray]]:
    data = footage.fetch()
    clip = footage.frames(data / "vtest.avi", set(VTEST_FRAMES))
    out = [(f"vtest{i:03d}", clip[i]) for i in VTEST_FRAMES]
    out += [(Path(p).stem, footage.image(data / p)) for p in PHOTOS]
    out += [(Path(p).stem, footage.image(p)) for p in extra]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=open_detector.OUTPUT)
    ap.add_argument("--out", type=Path, default=Path("/tmp/detector-eval"))
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--iou", type=float, nargs="+", default=[0.6, 0.7])
    ap.add_argument("--low", type=float, default=0.3, help="also list persons scoring from this up to the threshold")
    ap.add_argument("--extra", type=Path, nargs="*", default=[], help="more images or clips (first frame)")
    ap.add_argument("--bench", type=int, default=0, help="time this many runs per thread count (1 and 2)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sess = session(args.model, 1)
    for name, rgb in images(args.extra):
        line = [name]
        canvas = rgb.copy()
        for border, colour, thick in ((ELEMENT_GREY, (0, 255, 0), 3), (0.0, (255, 0, 255), 1)):
            for iou_t in args.iou:
                boxes, scores = detect(sess, rgb, args.threshold, iou_t, border)
                alone, s_alone = detect(sess, rgb, args.threshold, iou_t, border, person_only=True)
                line.append(f"border {border:.0f} iou {iou_t}: {len(boxes)} (person-only {len(alone)})")
            low, s_low = detect(sess, rgb, args.low, args.iou[0], border)
            line.append("scores " + " ".join(f"{s:.2f}" for s in s_low))
            for box, s in zip(low, s_low):
                c = colour if s >= args.threshold else (255, 160, 0)
                draw_box(canvas, box, c, thick if s >= args.threshold else 1,
                         f"{s:.2f}" if border == ELEMENT_GREY else None)
        write_png(args.out / f"{name}.png", canvas)
        print("; ".join(line))
    if args.bench:
        rgb = images()[0][1]
        x, _ = letterbox(rgb)
        for threads in (1, 2):
            s = session(args.model, threads)
            name = s.get_inputs()[0].name
            for _ in range(3):
                s.run(None, {name: x})
            t = time.perf_counter()
            for _ in range(args.bench):
                s.run(None, {name: x})
            print(f"ONNX Runtime, {threads} thread(s): {(time.perf_counter() - t) / args.bench * 1e3:.1f} ms per frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
