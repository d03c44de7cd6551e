"""Writes the recorded traces hil's replay tests read, and the energy each
should give, computed here from the pulse definitions alone (V x I x width),
not from the samples:

    python tests/data/energy/make_traces.py [OUT_DIR]

A synthetic "recording": 5 kS/s, pulses of known width and amplitude with
the marker high exactly during each, 1 % current noise, a few rows lost."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

RATE_HZ = 5000
DURATION_S = 0.4
VOLTAGE_V = 3.3
IDLE_A = 0.35e-3
# (start s, width s, current A, inferences run inside the window)
PULSES = (
    (0.02, 0.04, 4.2e-3, 1),
    (0.10, 0.03, 6.1e-3, 1),
    (0.17, 0.05, 3.7e-3, 1),
    (0.26, 0.02, 8.8e-3, 1),
    (0.31, 0.06, 5.5e-3, 1),
)
LOST_ROWS = (
    (150, 153),
    (620, 621),
    (1150, 1190),
    (1500, 1510),
)  # [start, end) ticks, none at an edge
NOISE = 0.01
SEED = 2024
NAME = "five_pulses_5ksps"


def expected() -> dict[str, object]:
    energy = sum(VOLTAGE_V * amps * width for _, width, amps, _ in PULSES)
    inferences = sum(n for *_, n in PULSES)
    return {
        "energy_per_inference_j": energy / inferences,
        "windows": len(PULSES),
        "inferences": inferences,
        "lost_samples": sum(end - start for start, end in LOST_ROWS),
        "sample_rate_hz": RATE_HZ,
    }


def rows() -> list[str]:
    n = round(DURATION_S * RATE_HZ)
    current = np.full(n, IDLE_A)
    marker = np.zeros(n, dtype=int)
    for start, width, amps, _ in PULSES:
        a, b = round(start * RATE_HZ), round((start + width) * RATE_HZ)
        current[a:b] = amps
        marker[a:b] = 1
    rng = np.random.default_rng(SEED)
    current *= 1 + NOISE * rng.standard_normal(n)
    voltage = VOLTAGE_V * (1 + NOISE / 10 * rng.standard_normal(n))
    keep = np.ones(n, dtype=bool)
    for start, end in LOST_ROWS:
        keep[start:end] = False
    return [
        f"{k / RATE_HZ:.6f},{current[k]:.9g},{voltage[k]:.7g},{marker[k]}"
        for k in range(n)
        if keep[k]
    ]


def write(out: Path) -> None:
    header = [
        "# meter: synthetic recording (tests/data/energy/make_traces.py)",
        "# serial: none",
        f"# sample_rate_hz: {RATE_HZ}",
        "time_s,current_a,voltage_v,marker",
    ]
    (out / f"{NAME}.csv").write_text("\n".join([*header, *rows()]) + "\n")
    (out / f"{NAME}.expected.json").write_text(json.dumps(expected(), indent=2) + "\n")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
