"""The hostile-model corpus (tests/hostile/make_corpus.py) on corstone300 QEMU:
under pytest the session finishes, the JUnit file is written, every case is in
the store (a refused model as an error with its message) and the good case
after them passes; `hil run` on the models the checks let through gives a
verdict or one error line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from hil.errors import InvalidModelError
from hil.model.check import check_model
from hil.results.runs import COMPLETE, run_state
from hil.results.store import ResultStore
from tests.e2e.helpers import REPO, pytest_args, run_child
from tests.hostile.make_corpus import fc_relu_builder, good_model, write_corpus

SUITE = """
from pathlib import Path

import pytest

from hil import ModelCase

MODELS = {models!r}


@pytest.mark.parametrize("path", MODELS, ids=[Path(p).stem for p in MODELS])
def test_model(check_model, path):
    check_model(ModelCase(Path(path), vectors=2))
"""


def hil_run(path: Path) -> subprocess.CompletedProcess[str]:
    """`hil run MODEL` on corstone300 QEMU, two vectors, in a wide terminal."""
    args = ["run", str(path), "--board", "corstone300", "--vectors", "2"]
    return run_child([sys.executable, "-m", "hil.cli", *args], cwd=REPO, COLUMNS="200")


def _accepted(path: Path) -> bool:
    try:
        check_model(path.read_bytes())
    except InvalidModelError:
        return False
    return True


def test_hostile_models_then_a_good_one_under_pytest(tmp_path: Path) -> None:
    written = write_corpus(tmp_path / "corpus")
    good = tmp_path / "corpus" / "good.tflite"
    good.write_bytes(good_model())
    models = [str(p) for p, _ in written] + [str(good)]
    suite = tmp_path / "test_hostile.py"
    suite.write_text(SUITE.format(models=models))
    junit, db = tmp_path / "junit.xml", tmp_path / "results.db"
    proc = run_child(
        pytest_args(str(suite), "--board=corstone300", f"--hil-store={db}", f"--junitxml={junit}"),
        cwd=REPO,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output  # failures, not a crash (139) or an internal error (3)
    assert "Fatal Python error" not in output
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert len(cases) == len(models)
    good_case = cases["test_model[corstone300-good]"]
    assert good_case.find("failure") is None and good_case.find("error") is None
    props = {p.get("name"): p.get("value") for p in good_case.iter("property")}
    assert int(props["hil_link_retries"]) >= 0 and int(props["hil_link_failed_requests"]) == 0
    for path, hostile in written:
        case = cases[f"test_model[corstone300-{hostile.name}]"]
        failure = case.find("failure")
        if not _accepted(path):
            assert failure is not None, hostile.name
            message = failure.get("message", "")
            assert "invalid model" in message and (hostile.expect or "") in message, message
    with ResultStore(db) as store:
        (run,) = store.runs()
        rows = {r["model_name"]: r for r in store.rows(run["run_id"])}
    assert run_state(run).state == COMPLETE
    assert len(rows) == len(models)
    assert rows["good"]["status"] == "pass"
    assert rows["good"]["record"]["link"]["requests"] > 0  # the case's own link counters
    for path, hostile in written:
        if not _accepted(path):
            row = rows[hostile.name]
            assert row["status"] == "error", hostile.name
            assert (
                row["error"].startswith("InvalidModelError: ")
                and (hostile.expect or "invalid model") in row["error"]
            )


def test_hil_run_on_models_the_checks_let_through(tmp_path: Path) -> None:
    written = write_corpus(tmp_path / "corpus")
    accepted = [p for p, _ in written if _accepted(p)]
    refused = [p for p, _ in written if not _accepted(p)][:2]
    assert refused and len(accepted) < len(written) // 4  # most never reach a device
    for path in [*refused, *accepted]:
        proc = hil_run(path)
        output = proc.stdout + proc.stderr
        assert proc.returncode in (0, 1, 2), output
        assert "Traceback" not in output and proc.stderr == "", output
        if proc.returncode == 2:
            errors = [line for line in proc.stdout.splitlines() if line.startswith("error: ")]
            assert len(errors) == 1, output


def test_hil_run_prints_markup_in_names_as_text(tmp_path: Path) -> None:
    builder = fc_relu_builder()
    for i, tensor in enumerate(builder.tensors):
        tensor.name = f"t{i}[/x]"
    path = tmp_path / "[red]named.tflite"
    path.write_bytes(builder.build())
    proc = hil_run(path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr
    assert "[red]named on " in proc.stdout  # the summary's title, as text
