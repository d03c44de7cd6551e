"""Accuracy on the digits family on an emulated Corstone-300: the device's
predictions equal the TFLM host's on every sample, budgets gate as the host's
own accuracies say, shards over two boards under xdist give one board's
figures, and the HTML report's accuracy-vs-cost plot renders in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.helpers import REPO, pytest_args, run_child

HIL = [sys.executable, "-m", "hil.cli"]
VARIANTS = (
    "digits_cnn_float",
    "digits_cnn_int8",
    "digits_cnn_pruned_int8",
    "digits_cnn_small_int8",
)


def digits(models_dir: Path) -> Path:
    return models_dir / "data" / "digits" / "digits_test.npz"


def host_accuracy(model: Path, x: np.ndarray, y: np.ndarray) -> float:
    """The test's own host figure: TFLM's Python interpreter, inputs quantized
    here from the model's input parameters, independently of hil."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model.read_bytes())
    inp, out = interp.get_input_details(0), interp.get_output_details(0)
    scale, zp = inp["quantization_parameters"]["scales"], inp["quantization_parameters"][
        "zero_points"]
    right = 0
    for xi, yi in zip(x, y, strict=True):
        v = xi.reshape(inp["shape"])
        if inp["dtype"] == np.int8:
            q = v / scale[0]
            v = np.clip(np.sign(q) * np.floor(np.abs(q) + 0.5) + zp[0], -128, 127).astype(np.int8)
        interp.set_input(v.astype(inp["dtype"]), 0)
        interp.invoke()
        right += int(np.argmax(interp.get_output(0)) == yi)
        interp.reset()
    del out
    return right / len(y)


def test_eval_a_shard_on_the_device(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    proc = run_child(
        [*HIL, "eval", str(models_dir / "digits_cnn_int8.tflite"), "--dataset",
         str(digits(models_dir)), "--board", "corstone300", "--shard", "1/6", "--top-k", "1", "3",
         "--json", str(out)],
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert data["samples"] == 60 and data["shard"] == [1, 6]
    dev, tflm = data["figures"]["device"], data["figures"]["tflm"]
    assert data["device_vs_host"]["tflm"]["differing_samples"] == []
    assert data["per_sample"]["device"] == data["per_sample"]["tflm"]  # bit-exact scores
    assert dev == tflm and dev["top_k"]["3"] >= dev["accuracy"] > 0.8
    assert sum(map(sum, dev["confusion"])) == 60
    assert "per-class accuracy" in proc.stdout


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("no headless Chromium on PATH: tools/setup.sh installs Debian's `chromium`")


PROBE = """<script>
addEventListener("load", () => {
  const svg = document.querySelector("#accuracy-cost-plot svg");
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const points = [...document.querySelectorAll(
    "#accuracy-cost-plot g[id^=PathCollection] :is(path, use)")]
    .filter((p) => p.getBoundingClientRect().width > 0);
  document.body.dataset.plot = JSON.stringify([box.width, box.height, points.length]);
});
</script>"""


def test_variants_table_and_gates_on_the_full_set(models_dir: Path, tmp_path: Path) -> None:
    data = np.load(digits(models_dir))
    x, y = data["x"], data["y"]
    host = {v: host_accuracy(models_dir / f"{v}.tflite", x, y) for v in VARIANTS}
    out, page = tmp_path / "variants.json", tmp_path / "variants.html"
    proc = run_child(
        [*HIL, "variants", *(str(models_dir / f"{v}.tflite") for v in VARIANTS), "--dataset",
         str(digits(models_dir)), "--board", "corstone300", "--max-accuracy-drop", "2%",
         "--max-arena", "256KiB", "--json", str(out), "--html", str(page)],
        cwd=REPO,
    )
    report = json.loads(out.read_text())
    rows = {r["variant"]: r for r in report["variants"]}
    for v in VARIANTS:
        row = rows[v]
        assert row["samples"] == 360
        assert row["accuracy"] == row["host_accuracy"]["tflm"] == pytest.approx(host[v], abs=0)
        assert row["device_vs_tflm"] is True and row["differing_samples"] == []
        for column in ("file_bytes", "params", "zero_fraction", "macs", "arena_bytes",
                       "flash_bytes", "counter_median", "energy_uj", "accuracy_drop_points"):
            assert row[column] is not None, (v, column)
        assert row["counter_kind"] == "instructions" and row["energy_modeled"] is True
    assert rows["digits_cnn_pruned_int8"]["zero_fraction"] > 0.7 > rows["digits_cnn_int8"][
        "zero_fraction"]
    gates = {g["variant"]: g["ok"] for g in report["gates"] if g["gate"] == "accuracy drop"}
    expected = {v: 100 * (host["digits_cnn_float"] - host[v]) <= 2 for v in VARIANTS[1:]}
    assert gates == expected
    assert proc.returncode == (0 if all(expected.values()) else 1), proc.stdout + proc.stderr
    # The plot: one point per variant, rendered by a real browser.
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
         probe.as_uri()], capture_output=True, text=True, timeout=120,
    ).stdout
    start = dom.index('data-plot="') + len('data-plot="')
    plot = dom[start : dom.index('"', start)].replace("&quot;", '"')
    width, height, points = json.loads(plot)
    assert width > 300 and height > 200 and points == len(VARIANTS)


SUITE = """
import json, os
from pathlib import Path
import pytest
from hil import ModelCase

CASE = ModelCase({model!r}, dataset={dataset!r})
OUT = Path({out!r})

@pytest.mark.parametrize("shard", [
    pytest.param((1, 2), marks=pytest.mark.xdist_group("a")),
    pytest.param((2, 2), marks=pytest.mark.xdist_group("b")),
    None,
], ids=["1of2", "2of2", "all"])
def test_shard(check_accuracy, dut, shard):
    if (shard is None) != (os.environ.get("WHOLE") == "1"):
        pytest.skip("not this run's part")
    ev = check_accuracy(CASE, shard=shard)
    name = "all" if shard is None else f"{{shard[0]}}of2"
    record = ev.to_dict()
    record["worker"] = os.environ.get("PYTEST_XDIST_WORKER")
    record["device"] = dut.description
    (OUT / f"{{name}}.json").write_text(json.dumps(record))
"""


def test_shards_on_two_boards_under_xdist_match_one_board(
    models_dir: Path, tmp_path: Path
) -> None:
    from hil.accuracy.evaluate import merge_records

    suite = tmp_path / "test_digits_shards.py"
    suite.write_text(SUITE.format(model=str(models_dir / "digits_cnn_int8.tflite"),
                                  dataset=str(digits(models_dir)), out=str(tmp_path)))
    two = run_child(pytest_args(str(suite), "--board=corstone300", "-n", "2", "--dist",
                                "loadgroup", "-q",
                                "--rootdir", str(tmp_path)), cwd=tmp_path)
    assert two.returncode == 0, two.stdout + two.stderr
    one = run_child(pytest_args(str(suite), "--board=corstone300", "-p", "no:xdist", "-q",
                                "--rootdir", str(tmp_path)), cwd=tmp_path, WHOLE="1")
    assert one.returncode == 0, one.stdout + one.stderr
    parts = [json.loads((tmp_path / f"{k}of2.json").read_text()) for k in (1, 2)]
    assert {p["shard"][0] for p in parts} == {1, 2}
    # two workers, each with its own QEMU
    assert parts[0]["worker"] != parts[1]["worker"]
    whole = json.loads((tmp_path / "all.json").read_text())
    merged = merge_records(parts)
    assert merged["samples"] == whole["samples"] == 360
    assert merged["figures"] == whole["figures"]
    assert merged["per_sample"] == whole["per_sample"]


def test_interrupted_evaluation_resumes_from_the_store(models_dir: Path, tmp_path: Path) -> None:
    import signal

    from hil.results.store import ResultStore
    from tests.e2e.helpers import child_env

    db = tmp_path / "acc.db"
    args = [*HIL, "eval", str(models_dir / "digits_cnn_small_int8.tflite"), "--dataset",
            str(digits(models_dir)), "--board", "corstone300", "--shard", "1/4", "--store",
            str(db), "--chunk", "3"]
    child = subprocess.Popen(args, cwd=REPO, env=child_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        rows: list[dict] = []
        for _ in range(3000):  # the first chunk of 3 samples lands, then Ctrl-C
            if child.poll() is not None:
                break
            if db.exists():
                with ResultStore(db) as store:
                    rows = store.rows()
                if rows:
                    child.send_signal(signal.SIGINT)
                    break
            time.sleep(0.02)
        output = child.communicate(timeout=120)[0]
    finally:
        if child.poll() is None:
            child.kill()
    assert rows and child.returncode == 130, output
    with ResultStore(db) as store:
        stored = len(store.rows())
    assert 1 <= stored < 30  # 90 samples are 30 chunks: it stopped part way
    out = tmp_path / "resumed.json"
    resumed = run_child([*args, "--resume", "--json", str(out)], cwd=REPO)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resumed: {3 * stored} of 90 samples" in resumed.stdout
    fresh_json = tmp_path / "fresh.json"
    fresh = run_child([*args[:-4], "--json", str(fresh_json)], cwd=REPO)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    a, b = json.loads(out.read_text()), json.loads(fresh_json.read_text())
    assert a["figures"] == b["figures"] and a["per_sample"] == b["per_sample"]
