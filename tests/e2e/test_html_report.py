"""The HTML report rendered by a real browser (headless Chromium from
Debian's packages): every plot decodes to a real image, the tables are there,
modeled energy is labelled as such, and a screenshot is not blank."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from hil.cli import main as hil_main
from hil.energy.figure import EnergyFigure
from hil.firmware.footprint import Footprint
from tests.e2e.helpers import REPO

TRACE = REPO / "tests" / "data" / "energy" / "five_pulses_5ksps.csv"
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.querySelectorAll("img.plot")];
  document.body.dataset.plots = JSON.stringify(
    imgs.map((i) => [i.closest("figure").id, i.naturalWidth, i.naturalHeight]));
});
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("no headless Chromium on PATH: tools/setup.sh installs Debian's `chromium`")


def browser(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def record(board: str, model: str, instructions: int, energy_j: float, modeled: bool) -> dict:
    return {
        "case": model,
        "status": "pass",
        "board": board,
        "model": {"path": f"/models/{model}.tflite"},
        "aggregate": {
            "counter": {
                "kind": "instructions",
                "method": "QEMU -icount",
                "per_inference": {"median": instructions},
            }
        },
        "energy": EnergyFigure(
            energy_per_inference_j=energy_j,
            inferences=1 if modeled else 5,
            modeled=modeled,
            method="modeled: E = V x uA/MHz x counter" if modeled else "marker windows, PPK2",
            meter_model="datasheet model" if modeled else "PPK2",
            source="a datasheet" if modeled else "",
            sample_rate_hz=None if modeled else 100_000.0,
            sync="" if modeled else "marker pin",
        ).to_dict(),
        "model_facts": {"macs": {"value": instructions // 10, "unit": "MAC/inference"}},
        "arena_used_bytes": 512,
        "footprint": Footprint(100_000, 0, 0, 0, 0, 0, 0).to_dict(),  # flash 100,000 B
    }


def report(path: Path, created: str, cases: list[dict]) -> Path:
    path.write_text(json.dumps({"schema": "hil-report/1", "created": created, "cases": cases}))
    return path


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def distinct_colours(path: Path) -> int:
    pixels = matplotlib.image.imread(path)
    return len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0))


def test_report_renders_in_a_real_browser(tmp_path: Path) -> None:
    old = report(
        tmp_path / "old.json",
        "2026-11-22T02:00:00+0000",
        [record("corstone300", "kws", 15_000_000, 5.4e-3, True)],
    )
    new = report(
        tmp_path / "new.json",
        "2026-11-23T02:00:00+0000",
        [
            record("corstone300", "kws", 15_360_000, 5.5e-3, True),
            record("nucleo-l4r5zi", "kws", 16_100_000, 3.1e-3, False),
        ],
    )
    page = tmp_path / "report.html"
    code = hil_main(
        [
            "report", str(old), str(new), "--html", str(page),
            "--csv", str(tmp_path / "t.csv"), "--json", str(tmp_path / "t.json"),
            "--trace", str(TRACE),
        ]
    )  # fmt: skip
    assert code == 0
    html = page.read_text()
    assert "<script" not in html and "http" not in html.split("<body>")[1].split("source:")[0]

    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"))
    dom = browser("--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr
    plots = json.loads(re.search(r'data-plots="([^"]*)"', dom.stdout)[1].replace("&quot;", '"'))
    figures = {ident: (w, h) for ident, w, h in plots}
    assert set(figures) == {"energy", "counters", "energy-macs", "trends", "trace-0"}
    assert all(w > 200 and h > 100 for w, h in figures.values()), figures
    assert re.search(r'<table id="cases">.*nucleo-l4r5zi.*</table>', dom.stdout, re.S)
    assert "5500.000 (modeled)" in dom.stdout and "3100.000 (measured)" in dom.stdout
    assert 'id="energy-methods"' in dom.stdout and "<li>1: " in dom.stdout

    shot = tmp_path / "shot.png"
    out = browser(f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri())
    assert out.returncode == 0 and shot.is_file(), out.stderr
    assert png_size(shot.read_bytes()) == (1200, 1600)
    assert distinct_colours(shot) > 50  # text, tables and plots, not a blank page

    rows = json.loads((tmp_path / "t.json").read_text())
    assert {(r["board"], r["energy_kind"]) for r in rows} == {
        ("corstone300", "modeled"),
        ("nucleo-l4r5zi", "measured"),
    }
    assert (tmp_path / "t.csv").read_text().startswith("run,board,model,status")


def test_report_sources_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert hil_main(["report", str(bad), "--html", str(tmp_path / "x.html")]) == 2
    assert "not a hil JSON report" in capsys.readouterr().out
    missing = tmp_path / "none.db"
    assert hil_main(["report", str(missing), "--html", str(tmp_path / "x.html")]) == 2
    assert "does not exist" in capsys.readouterr().out
