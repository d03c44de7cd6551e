"""A rack of emulated instances end to end: `pytest --hil-rack` over two QEMU
instances with xdist and a results store, then `hil results regressions`; a
board reached over RFC 2217; a held instance."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from hil.rack.lock import InstanceLock
from hil.results.store import ResultStore
from tests.e2e.helpers import REPO, processes_tagged, pytest_args, run_child
from tests.rfc2217_server import Rfc2217Server

TWO_QEMU = """
name = "tests-rack"

[[instance]]
name = "a300"
board = "corstone300"
tags = ["m55"]

[[instance]]
name = "a386"
board = "mps2-an386"
tags = ["m4", "meter"]
"""


def hil_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_child([sys.executable, "-m", "hil.cli", *args], cwd=REPO, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_rack_with_xdist_writes_the_store_and_regressions_are_found(
    tmp_path: Path, process_tag: str
) -> None:
    rack = tmp_path / "tests-rack.toml"
    rack.write_text(TWO_QEMU)
    db = tmp_path / "results.db"
    args = pytest_args(
        "examples", f"--hil-rack={rack}", "-n", "2", f"--hil-store={db}",
        f"--hil-lock-dir={tmp_path / 'locks'}", "-v",
    )  # fmt: skip
    for _ in range(2):  # two nightly runs
        proc = run_child(args, cwd=REPO, HIL_PROCESS_TAG=process_tag)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
    assert f"hil rack: {rack} (2 instances selected)" in out
    assert "hil: a300 [corstone300] -> qemu mps3-an547 (no FVP on PATH)" in out
    assert "hil: a386 [mps2-an386] -> qemu mps2-an386 (first choice)" in out
    assert "scheduling tests via InstanceScheduling" in out
    workers = dict(
        (m[2], m[1]) for m in re.finditer(r"\[(gw\d)\] .*PASSED .*\[(a300|a386)-hello_world", out)
    )
    assert set(workers) == {"a300", "a386"} and workers["a300"] != workers["a386"]
    with ResultStore(db) as store:
        runs = store.runs()
        rows = store.rows()
    assert [r["cases"] for r in runs] == [2, 2]
    assert {(r["run_id"], r["instance"]) for r in rows} == {
        (run["run_id"], inst) for run in runs for inst in ("a300", "a386")
    }
    for row in rows:
        assert row["status"] == "pass" and row["counter_kind"] == "instructions"
        assert row["agreement"]["tflm"] == {**row["agreement"]["tflm"], "matched": 100}
        assert row["model_name"] == "hello_world_int8" and row["vector_count"] == 100
        assert row["flash_bytes"] > 0 and row["arena_bytes"] > 0 and row["energy_uj"] > 0
        assert row["engine"] == "hil" and row["record"]["instance"] == row["instance"]

    same = hil_cli("results", "regressions", str(db))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "0 regressions" in same.stdout

    slower = dict(next(r for r in rows if r["instance"] == "a386"))
    slower.pop("id")
    slower.update(run_id="synthetic-slower", time="2999-01-01T00:00:00+0000")
    slower["counter_median"] = slower["counter_median"] * 1.05
    with ResultStore(db) as store:
        store.add(slower, {"started": slower["time"]})
    worse = hil_cli("results", "regressions", str(db), "--json", str(tmp_path / "reg.json"))
    assert worse.returncode == 1, worse.stdout + worse.stderr
    found = json.loads((tmp_path / "reg.json").read_text())
    assert found["run"] == "synthetic-slower" and found["regressions"] == 1
    (finding,) = found["findings"]
    assert finding["instance"] == "a386" and finding["regressed"]
    then, now = finding["baseline_counter_median"], finding["counter_median"]
    assert finding["regressions"] == [
        f"instructions median {then:,.0f} -> {now:,.0f} (+5.00%, threshold 2%)"
    ]
    report = hil_cli("results", "report", str(db), "--html", str(tmp_path / "nightly.html"))
    assert (
        report.returncode == 0 and 'class="regression"' in (tmp_path / "nightly.html").read_text()
    )
    assert processes_tagged(process_tag) == []


def test_example_suite_through_an_rfc2217_server(tmp_path: Path, process_tag: str) -> None:
    """pyserial's RFC 2217 server logic in front of QEMU's socket UART; the rack
    instance names rfc2217://127.0.0.1:PORT, and hil routes its link there."""
    uart = free_port()
    with Rfc2217Server(f"socket://127.0.0.1:{uart}") as server:
        rack = tmp_path / "rack.toml"
        rack.write_text(
            f'[[instance]]\nname = "far-a300"\nboard = "corstone300"\n'
            f'uart_port = {uart}\nserial = "{server.url}"\n'
        )
        report = tmp_path / "report.json"
        proc = run_child(
            pytest_args(
                "examples",
                f"--hil-rack={rack}",
                f"--hil-report={report}",
                f"--hil-lock-dir={tmp_path / 'locks'}",
                "--hil-transport=serial",  # the bytes this test counts go over the UART
                "-v",
            ),
            cwd=REPO,
            HIL_PROCESS_TAG=process_tag,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"; serial {server.url}" in proc.stdout
        assert "test_device_matches_host[far-a300-hello_world_int8] PASSED" in proc.stdout
        (case,) = json.loads(report.read_text())["cases"]
        assert case["instance"] == "far-a300" and case["status"] == "pass"
        assert case["transport_used"] == "serial"
        tflm = case["aggregate"]["agreement"]["tflm"]
        assert (tflm["matched"], tflm["total"], tflm["max_abs_diff"]) == (100, 100, 0.0)
        # Every byte went through the server: the model one way, 100 results back.
        assert server.clients >= 1
        assert server.to_device > case["model"]["bytes"] + 100
        assert server.to_host > 100 * 4
    assert processes_tagged(process_tag) == []


def test_a_held_instance_fails_naming_its_holder_until_the_holder_dies(
    tmp_path: Path, process_tag: str
) -> None:
    rack = tmp_path / "rack.toml"
    rack.write_text(TWO_QEMU)
    locks = tmp_path / "locks"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from hil.rack.lock import InstanceLock; "
         "InstanceLock(Path(sys.argv[1]), 'a386').acquire(5); print('held', flush=True); "
         "time.sleep(120)", str(locks)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        args = pytest_args(
            "examples", f"--hil-rack={rack}", "--board=a386", f"--hil-lock-dir={locks}",
            "--hil-lock-timeout=1",
        )  # fmt: skip
        busy = run_child(args, cwd=REPO, HIL_PROCESS_TAG=process_tag)
        assert busy.returncode == 1
        assert f"rack instance a386 is in use by pid {holder.pid} on " in busy.stdout
        assert "waited 1 s (--hil-lock-timeout" in busy.stdout
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        free = run_child(args, cwd=REPO, HIL_PROCESS_TAG=process_tag)
        assert free.returncode == 0, free.stdout + free.stderr
        assert InstanceLock(locks, "a386").holder() is None
    finally:
        holder.kill()
        holder.wait()
    assert processes_tagged(process_tag) == []
