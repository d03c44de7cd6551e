"""Fault acceptance for link recovery (issue 18): heavier noise than
test_link_faults.py, KWS-sized inputs, and recovery once the noise stops.
Every answer is compared with the same device's answer on a clean link, so a
wrong result accepted is counted, and must be zero. The heavier sweep is
benchmarks/faults.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hil.device.dut import Dut
from hil.errors import LinkError
from hil.link.session import Session
from hil.link.urls.faults import FaultRates
from hil.model.file import ModelFile
from tests.e2e.test_link_faults import faulty_board, faulty_link


def exchanges(session: Session, data: bytes, out_bytes: int) -> list:
    """One vector as its three requests; each is a callable for the caller to count."""
    return [
        lambda: session.set_input(0, data),
        session.invoke,
        lambda: session.get_output(0, out_bytes),
    ]


def run_vectors(session: Session, vectors: list[bytes], out_bytes: int) -> tuple[list, int, int]:
    """Outputs per vector (None where a request failed), requests done, failed."""
    outputs: list[bytes | None] = []
    done = failed = 0
    for data in vectors:
        result = None
        for step in exchanges(session, data, out_bytes):
            done += 1
            try:
                result = step()
            except LinkError:
                failed += 1
                result = None
                break
        outputs.append(result)
    return outputs, done, failed


def noisy_run(
    models_dir: Path, name: str, rates: FaultRates, n: int, seed: int
) -> tuple[int, int, int, int, Session, Session]:
    model = ModelFile(models_dir / name)
    with Dut(faulty_board("corstone300", rates, seed=seed), transport="serial") as dut:
        loaded = dut.load(model)
        spec, out = loaded.inputs[0], loaded.outputs[0]
        rng = np.random.default_rng(seed)
        vectors = [rng.integers(-128, 128, spec.nbytes, dtype=np.int8).tobytes() for _ in range(n)]
        session = dut.session
        clean, _, clean_failed = run_vectors(session, vectors, out.nbytes)
        assert clean_failed == 0
        session.timeout = 0.1  # QEMU answers within milliseconds
        session.patience = 20.0  # a noisy link gets time, not a fixed number of resends
        faulty = faulty_link(dut)
        faulty.set_enabled(True)
        got, done, failed = run_vectors(session, vectors, out.nbytes)
        faulty.set_enabled(False)
        wrong = sum(g is not None and g != c for g, c in zip(got, clean, strict=True))
        # The noise has stopped: the next case (a fresh load and its vectors)
        # passes on the same session, with no restart of the target.
        dut.load(model)
        after, _, after_failed = run_vectors(session, vectors[:3], out.nbytes)
        assert after_failed == 0 and after == clean[:3]
        assert dut.session is session
        print(
            f"{name} {rates}: {done} requests, {failed} failed, {wrong} wrong; faults injected "
            f"{faulty.to_device_stats.faults} to the device, "
            f"{faulty.to_host_stats.faults} to the host; {session.stats}"
        )
        return done, failed, wrong, faulty.to_host_stats.faults, session, dut.session


MODERATE = FaultRates(corrupt=0.02, drop=0.005)
HEAVY = FaultRates(corrupt=0.05, drop=0.01)


def test_kws_passes_every_vector_at_2pct_corruption_and_half_pct_drops(models_dir: Path) -> None:
    done, failed, wrong, injected, session, _ = noisy_run(
        models_dir, "mlperf_tiny_kws_ds_cnn_int8.tflite", MODERATE, 20, seed=18
    )
    assert wrong == 0 and failed == 0 and done == 60
    assert injected > 50 and session.stats.retries > 0
    assert session.stats.chunk_shrinks > 0  # 490-byte inputs went in smaller chunks


def test_hello_world_passes_every_vector_at_2pct_corruption_and_half_pct_drops(
    models_dir: Path,
) -> None:
    done, failed, wrong, injected, session, _ = noisy_run(
        models_dir, "hello_world_int8.tflite", MODERATE, 40, seed=19
    )
    assert wrong == 0 and failed == 0 and done == 120
    assert injected > 20 and session.stats.retries > 0


def test_hello_world_completes_95pct_of_exchanges_at_5pct_corruption_and_1pct_drops(
    models_dir: Path,
) -> None:
    done, failed, wrong, injected, session, _ = noisy_run(
        models_dir, "hello_world_int8.tflite", HEAVY, 30, seed=20
    )
    assert wrong == 0
    assert done >= 90 * 0.95 and failed <= 0.05 * done
    assert injected > 50 and session.stats.retries > 0
