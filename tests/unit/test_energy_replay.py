"""The replay meter: a recorded CSV trace (tests/data/energy, written by
make_traces.py there, which also computes the expected energy from its pulse
definitions) gives the expected energy per inference within 0.1 %; .jls
traces through pyjls."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from hil.energy import EnergyError, MissingPackageError, measure
from hil.energy.replay import ReplayMeter
from tests.energy_synth import five_pulses

DATA = Path(__file__).resolve().parents[1] / "data" / "energy"
CSV = DATA / "five_pulses_5ksps.csv"


def test_recorded_csv_gives_the_expected_energy_per_inference() -> None:
    want = json.loads((DATA / "five_pulses_5ksps.expected.json").read_text())
    with ReplayMeter(CSV) as meter:
        figure = measure(meter, lambda: None, want["inferences"], expected_windows=want["windows"])
    got = figure.energy_per_inference_j
    assert abs(got - want["energy_per_inference_j"]) / want["energy_per_inference_j"] < 1e-3
    assert figure.lost_samples == want["lost_samples"]
    assert figure.sample_rate_hz == want["sample_rate_hz"]
    assert figure.meter_model.startswith("replay of synthetic recording")
    assert "measured" in figure.describe()


def test_the_recorded_file_is_what_its_script_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_traces", DATA / "make_traces.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write(tmp_path)
    for name in ("five_pulses_5ksps.csv", "five_pulses_5ksps.expected.json"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_csv_problems_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t,i,v,m\n0,1,2,0\n")
    with pytest.raises(EnergyError, match="CSV header is 't,i,v,m'"):
        ReplayMeter(bad).open()
    bad.write_text("time_s,current_a,voltage_v,marker\n0,1,3.3,0\n0.00013,1,3.3,0\n0.001,1,3.3,0\n")
    with pytest.raises(EnergyError, match=r"not on a .* sample grid"):
        ReplayMeter(bad).open()
    with pytest.raises(EnergyError, match="does not exist"):
        ReplayMeter(tmp_path / "none.csv").open()
    with pytest.raises(EnergyError, match=r"expected a \.csv or \.jls"):
        (tmp_path / "x.txt").write_text("")
        ReplayMeter(tmp_path / "x.txt").open()


def test_missing_pyjls_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyjls", None)
    path = tmp_path / "trace.jls"
    path.write_bytes(b"")
    with pytest.raises(MissingPackageError, match="pip install pyjls"):
        ReplayMeter(path).open()


def test_jls_trace_replays(tmp_path: Path) -> None:
    import pyjls  # a dev dependency (pyproject.toml)

    synth = five_pulses(rate_hz=50_000, noise=0.01, drop=((2000, 2040),))
    ticks, current, voltage, _ = synth.samples()
    full_i = np.full(synth.n, np.nan, np.float32)
    full_v = np.full(synth.n, np.nan, np.float32)
    full_i[ticks], full_v[ticks] = current, voltage
    marker = synth.clean()[2] & 1
    path = tmp_path / "capture.jls"
    writer = pyjls.Writer(str(path))
    writer.source_def(
        source_id=1,
        name="js220",
        vendor="Jetperch",
        model="JS220",
        version="1",
        serial_number="004242",
    )
    for sid, name, units in ((1, "current", "A"), (2, "voltage", "V")):
        writer.signal_def(
            signal_id=sid, source_id=1, sample_rate=int(synth.rate_hz), name=name, units=units
        )
    writer.signal_def(
        signal_id=3,
        source_id=1,
        sample_rate=int(synth.rate_hz),
        name="gpi[0]",
        units="",
        data_type=pyjls.DataType.U1,
    )
    writer.fsr_f32(1, 0, full_i)
    writer.fsr_f32(2, 0, full_v)
    writer.fsr(3, 0, np.packbits(marker.astype(np.uint8), bitorder="little"))
    writer.close()
    with ReplayMeter(path) as meter:
        figure = measure(meter, lambda: None, 5, expected_windows=5)
    expected = synth.expected_energy_per_inference_j()
    assert abs(figure.energy_per_inference_j - expected) / expected < 1e-3
    assert figure.lost_samples == 40
    assert figure.meter_model == "replay of JS220 (capture.jls)" and figure.meter_serial == "004242"
