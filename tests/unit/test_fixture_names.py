"""hil's `dut` beside another plugin's: a plugin registered after hil's entry
point (here through a conftest's pytest_plugins, as pytest-embedded's may be)
does not replace hil's device; a conftest fixture still does. Checked with
--setup-plan, which names every fixture a test would set up without running it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

OTHER_PLUGIN = '''
import pytest

@pytest.fixture(scope="session")
def dut():
    return "another plugin's dut"
'''

TEST = "def test_uses_dut(dut):\n    pass\n"


def setup_plan(project: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--rootdir={project}",
         str(project), "--board=corstone300", "--setup-plan"],
        cwd=project, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO}:{project}", "HIL_ENGINE": "hil"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_a_later_plugins_dut_does_not_replace_hils(tmp_path: Path) -> None:
    (tmp_path / "other_dut.py").write_text(OTHER_PLUGIN)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["other_dut"]\n')
    (tmp_path / "test_it.py").write_text(TEST)
    plan = setup_plan(tmp_path)
    assert "SETUP    S hil_dut (fixtures used: board)" in plan
    assert "SETUP    S dut (fixtures used: hil_dut)" in plan


def test_a_conftest_dut_still_overrides_hils(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(OTHER_PLUGIN)
    (tmp_path / "test_it.py").write_text(TEST)
    plan = setup_plan(tmp_path)
    assert "SETUP    S dut\n" in plan and "hil_dut" not in plan
