#!/usr/bin/env python3
"""Benchmark of `hmr2-launch serve`: the service's overhead against `hmr2-launch file` on
the same clip, and jobs per hour with 1, 2 and 4 concurrent pipelines.

    .venv/bin/python launch/bench/service.py [--bin target/release/hmr2-launch] [--clip models/sample/sample.mp4] [--jobs 4] [--rounds 5]

The overhead is measured one job at a time, a plain `file` run and a service job in turn
(so that a change in the machine's load hits both alike): a job's time runs from the start
of its upload to the client seeing it succeeded (polled every 20 ms), with the same
outputs as the `file` run (video and poses). Where that time goes is printed too: the
upload and its check (until the 202), the wait for a worker, the pipeline process, and
the client's polling. Medians over the rounds.

Prints figures; asserts nothing about time (the machine's load decides those). Standard
library only: the upload is a hand-made multipart body, the polling plain HTTP GETs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
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


class Server:
    """A `hmr2-launch serve` on a free loopback port, for a `with` block."""

    def __init__(self, binary: Path, workers: int, max_queue: int, env: dict):
        self.data = tempfile.TemporaryDirectory()
        port = free_port()
        self.process = subprocess.Popen([str(binary), "serve", "--bind", f"127.0.0.1:{port}", "--data-dir",
                                         self.data.name, "--workers", str(workers), "--max-queue", str(max_queue)],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(400):
            try:
                get_json(f"{self.base}/healthz")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *_) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.data.cleanup()


def one_job(base: str, clip: Path) -> dict:
    """One job from upload to success, with where its time went (seconds)."""
    start = time.monotonic()
    job_id = submit(base, clip)
    accepted = time.monotonic()
    while True:
        job = get_json(f"{base}/v1/jobs/{job_id}")
        if job["state"] == "succeeded":
            break
        if job["state"] in ("failed", "cancelled"):
            raise RuntimeError(f"job {job_id} {job['state']}: {job['error']}")
        time.sleep(0.02)
    seen, seen_epoch = time.monotonic(), time.time()
    return {
        "total": seen - start,
        "upload and check": accepted - start,
        "wait for a worker": (job["started_ms"] - job["created_ms"]) / 1000,
        "pipeline process": (job["finished_ms"] - job["started_ms"]) / 1000,
        "until the client sees it": seen_epoch - job["finished_ms"] / 1000,
    }


def overhead(binary: Path, clip: Path, rounds: int, env: dict) -> None:
    """A `file` run and a service job in turn, `rounds` times; prints the medians."""
    plain, jobs = [], []
    with Server(binary, 1, 2, env) as server:
        one_job(server.base, clip)  # warm-up: the server's first upload check
        for _ in range(rounds):
            plain.append(run_file(binary, clip, 1, env))
            jobs.append(one_job(server.base, clip))
    file_s = statistics.median(plain)
    serve_s = statistics.median(j["total"] for j in jobs)
    # Each job against the file run just before it: the load changes less within a round.
    paired = statistics.median((j["total"] - p) / p for j, p in zip(jobs, plain))
    print(f"one job at a time, {rounds} rounds, medians: file {file_s:.3f} s, serve {serve_s:.3f} s; "
          f"overhead against file: {100 * (serve_s - file_s) / file_s:+.1f}% "
          f"(median of the rounds' own: {100 * paired:+.1f}%; file runs {min(plain):.3f}-{max(plain):.3f} s, "
          f"jobs {min(j['total'] for j in jobs):.3f}-{max(j['total'] for j in jobs):.3f} s)", flush=True)
    for phase in [k for k in jobs[0] if k != "total"]:
        print(f"  {phase}: {statistics.median(j[phase] for j in jobs):.3f} s", flush=True)
    service_own = statistics.median(j["total"] - j["pipeline process"] for j in jobs)
    print(f"  the service's own part (all but the pipeline process): {service_own:.3f} s, "
          f"{100 * service_own / file_s:.1f}% of a file run", flush=True)


def run_service(binary: Path, clip: Path, workers: int, jobs: int, env: dict) -> float:
    """Seconds from the first upload to the last job's success."""
    with Server(binary, workers, jobs + 1, env) as server:
        start = time.monotonic()
        pending = {submit(server.base, clip) for _ in range(jobs)}
        while pending:
            for job in list(pending):
                state = get_json(f"{server.base}/v1/jobs/{job}")["state"]
                if state == "succeeded":
                    pending.discard(job)
                elif state in ("failed", "cancelled"):
                    raise RuntimeError(f"job {job} {state}")
            time.sleep(0.05)
        return time.monotonic() - start


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
    parser.add_argument("--jobs", type=int, default=4, help="jobs per row of the jobs-per-hour figures")
    parser.add_argument("--rounds", type=int, default=5, help="file runs and service jobs of the overhead figure")
    args = parser.parse_args()
    env = dict(os.environ)
    print(f"clip {args.clip.name}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
    run_file(args.bin, args.clip, 1, env)  # warm-up: disk cache, Mesa's shader cache
    overhead(args.bin, args.clip, args.rounds, env)
    plain = run_file(args.bin, args.clip, args.jobs, env)
    print(f"hmr2-launch file, {args.jobs} one after the other: {plain / args.jobs:.2f} s per job "
          f"({3600 * args.jobs / plain:.0f} jobs/hour)", flush=True)
    for workers in (1, 2, 4):
        took = run_service(args.bin, args.clip, workers, args.jobs, env)
        print(f"serve --workers {workers}, {args.jobs} jobs queued at once: {took / args.jobs:.2f} s per job "
              f"({3600 * args.jobs / took:.0f} jobs/hour; {100 * (took - plain) / plain:+.1f}% against file)",
              flush=True)
    print(f"load at the end {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
