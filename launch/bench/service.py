#!/usr/bin/env python3
"""Benchmark of `hmr2-launch serve`: jobs per hour on a clip with 1, 2 and 4 concurrent
pipelines, and the service's overhead against `hmr2-launch file` on the same clip.

    .venv/bin/python launch/bench/service.py [--bin target/release/hmr2-launch] [--clip models/sample/sample.mp4] [--jobs 4]

Prints figures; asserts nothing about time (the machine's load decides those). Standard
library only: the upload is a hand-made multipart body, the polling plain HTTP GETs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def submit(base: str, clip: Path) -> str:
    boundary = uuid.uuid4().hex
    body = b"".join([
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"outputs\"\r\n\r\nboth\r\n".encode(),
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{clip.name}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n".encode(),
        clip.read_bytes(),
        f"\r\n--{boundary}--\r\n".encode(),
    ])
    request = urllib.request.Request(f"{base}/v1/jobs", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as r:
        if r.status != 202:
            raise RuntimeError(f"upload answered {r.status}")
        return json.load(r)["id"]


def run_service(binary: Path, clip: Path, workers: int, jobs: int, env: dict) -> float:
    """Seconds from the first upload to the last job's success."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([str(binary), "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", data,
                                   "--workers", str(workers), "--max-queue", str(jobs + 1)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    get_json(f"{base}/healthz")
                    break
                except OSError:
                    time.sleep(0.05)
            start = time.monotonic()
            ids = [submit(base, clip) for _ in range(jobs)]
            pending = set(ids)
            while pending:
                for job in list(pending):
                    state = get_json(f"{base}/v1/jobs/{job}")["state"]
                    if state == "succeeded":
                        pending.discard(job)
                    elif state in ("failed", "cancelled"):
                        raise RuntimeError(f"job {job} {state}")
                time.sleep(0.05)
            return time.monotonic() - start
        finally:
            server.terminate()
            server.wait(timeout=30)


def run_file(binary: Path, clip: Path, jobs: int, env: dict) -> float:
    """Seconds for `jobs` plain runs one after the other, with the outputs a job writes."""
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        for i in range(jobs):
            subprocess.run([str(binary), "file", str(clip), "-o", f"{out}/v{i}.mp4", "--poses", f"{out}/p{i}.jsonl",
                            "-q"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", type=Path, default=ROOT / "target/release/hmr2-launch")
    parser.add_argument("--clip", type=Path, default=ROOT / "models/sample/sample.mp4")
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    env = dict(os.environ)
    print(f"clip {args.clip.name}, {args.jobs} jobs per row, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    run_file(args.bin, args.clip, 1, env)  # warm-up: disk cache, Mesa's shader cache
    plain = run_file(args.bin, args.clip, args.jobs, env)
    print(f"hmr2-launch file, one after the other: {plain / args.jobs:.2f} s per job "
          f"({3600 * args.jobs / plain:.0f} jobs/hour)", flush=True)
    for workers in (1, 2, 4):
        took = run_service(args.bin, args.clip, workers, args.jobs, env)
        line = f"serve --workers {workers}: {took / args.jobs:.2f} s per job ({3600 * args.jobs / took:.0f} jobs/hour)"
        if workers == 1:
            line += f"; overhead against file: {100 * (took - plain) / plain:+.1f}%"
        print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
