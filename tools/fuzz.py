#!/usr/bin/env python3
"""Build and run hil's libFuzzer harnesses (ASan + UBSan) on the host.

    python tools/fuzz.py run model --seconds 600     # fuzz the model reader
    python tools/fuzz.py run agent --seconds 600     # fuzz the protocol agent
    python tools/fuzz.py replay                      # run every kept crash input once

Crashing inputs are copied to tests/fuzz/regressions/<harness>/, which the
test suite replays. docs/fuzzing.md records the runs."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FW = REPO / "firmware"
CACHE = Path(os.environ.get("HIL_CACHE", REPO / ".hil-cache")) / "fuzz"
REGRESSIONS = REPO / "tests" / "fuzz" / "regressions"
MODELS = Path(os.environ.get("HIL_MODELS", REPO.parent / "shared" / "models"))
CLANG = "clang"
FLAGS = [
    "-std=c11",
    "-O1",
    "-g",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fsanitize=fuzzer,address,undefined",
    "-fno-sanitize-recover=all",
    f"-I{FW / 'include'}",
    f"-I{FW}",
]


def sources(harness: str) -> list[Path]:
    engine = sorted([*(FW / "engine").glob("*.c"), *(FW / "kernels").glob("*.c")])
    common = [FW / "common" / "status.c"]
    if harness == "model":
        return [*common, *engine, FW / "host" / "fuzz_model.c"]
    if harness == "agent":
        agent = sorted((FW / "agent").glob("*.c"))
        return [*common, *agent, *engine, FW / "host" / "host_port.c", FW / "host" / "fuzz_agent.c"]
    raise SystemExit(f"unknown harness {harness!r} (known: model, agent)")


def build(harness: str) -> Path:
    if shutil.which(CLANG) is None:
        raise SystemExit("clang not found: apt-get install clang libclang-rt-14-dev")
    out = CACHE / harness / f"fuzz_{harness}"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [CLANG, *FLAGS, *map(str, sources(harness)), "-o", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"fuzz harness {harness} failed to build:\n{result.stderr}")
    return out


def agent_session_seed(model: bytes) -> bytes:
    """A valid session in the agent harness's script format: greet, upload a
    model, set its input, invoke, read the output."""

    def request(type_: int, payload: bytes) -> bytes:
        assert len(payload) <= 255
        return bytes([type_, len(payload)]) + payload

    script = request(0x01, struct.pack("<I", 0x1234))
    script += request(0x02, struct.pack("<II", len(model), zlib.crc32(model)))
    for offset in range(0, len(model), 240):
        script += request(0x03, struct.pack("<I", offset) + model[offset : offset + 240])
    script += request(0x04, b"") + request(0x05, b"\x00\x00")
    script += request(0x06, struct.pack("<BBHI", 0, 0, 0, 0) + b"\x10")
    script += request(0x07, b"") + request(0x08, struct.pack("<BBHI", 0, 0, 16, 0))
    return script


def seeds(harness: str) -> Path:
    """A seed corpus: the shared models, or a recorded valid agent session."""
    seed_dir = CACHE / harness / "seeds"
    seed_dir.mkdir(parents=True, exist_ok=True)
    models = sorted(MODELS.glob("*.tflite"))
    if harness == "model":
        for m in models:
            if m.stat().st_size <= 1024 * 1024:
                shutil.copy(m, seed_dir / m.name)
    else:
        hello = MODELS / "hello_world_int8.tflite"
        if hello.is_file():
            (seed_dir / "hello_world_session").write_bytes(agent_session_seed(hello.read_bytes()))
    return seed_dir


def run(harness: str, seconds: int) -> dict[str, int]:
    binary = build(harness)
    corpus = CACHE / harness / "corpus"
    artifacts = CACHE / harness / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(binary),
        f"-max_total_time={seconds}",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
        "-max_len=1048576" if harness == "model" else "-max_len=16384",
        "-timeout=20",
        "-rss_limit_mb=4096",
        str(corpus),
        str(seeds(harness)),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    log = result.stderr
    (CACHE / harness / "last_run.log").write_text(log)
    stats = {m[1]: int(m[2]) for m in re.finditer(r"stat::(\w+):\s+(\d+)", log)}
    crashes = (
        sorted(artifacts.glob("crash-*"))
        + sorted(artifacts.glob("timeout-*"))
        + sorted(artifacts.glob("leak-*"))
    )
    keep = REGRESSIONS / harness
    for crash in crashes:
        shutil.copy(crash, keep / crash.name)
    stats["crashes"] = len(crashes)
    stats["exit_code"] = result.returncode
    return stats


def replay(harness: str) -> int:
    inputs = sorted(p for p in (REGRESSIONS / harness).iterdir() if p.name != ".keep")
    if not inputs:
        return 0
    binary = build(harness)
    result = subprocess.run([str(binary), *map(str, inputs)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
    return result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("harness", choices=("model", "agent"))
    r.add_argument("--seconds", type=int, default=60)
    sub.add_parser("replay")
    args = parser.parse_args()
    if args.command == "replay":
        return max(replay(h) for h in ("model", "agent"))
    stats = run(args.harness, args.seconds)
    print(" ".join(f"{k}={v}" for k, v in sorted(stats.items())))
    return 1 if stats["crashes"] or stats["exit_code"] else 0


if __name__ == "__main__":
    sys.exit(main())
