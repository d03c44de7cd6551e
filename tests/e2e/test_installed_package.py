"""hil as a package in someone else's project (issue 15's acceptance): build
the wheel, install it into a fresh venv outside the checkout, and run the
project in examples/user_project (its own board file and firmware port, a
[tool.hil] table) from a folder outside the checkout, without HIL_HOME.

A second venv also holds pytest-rerunfailures, pytest-retry and
pytest-embedded (which defines a `dut` fixture of its own): no option clash,
and the user's tests get hil's fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import MODELS
from tests.e2e.helpers import REPO, child_env

PROJECT = REPO / "examples" / "user_project"
SOURCES = ("hil", "firmware", "boards")
FILES = ("setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in")
OTHER_PLUGINS = ("pytest-rerunfailures", "pytest-retry", "pytest-embedded")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.o", "*.elf", "*.map", ".hil-cache")

# The user's own test of which fixtures it got: hil's device behind `dut`.
FIXTURE_TEST = '''
from hil.device.dut import Dut
from hil.boards.resolve import Resolution


def test_hil_fixtures_are_used(request, dut, board, hil_dut):
    assert "hil_dut" in request.fixturenames  # `dut` is hil's alias of hil_dut
    assert dut is hil_dut and isinstance(dut, Dut)
    assert isinstance(board, Resolution) and board.board.name == "corstone300"
'''


def _env(venv: Path) -> dict[str, str]:
    """The user's environment: the venv first on PATH, no HIL_HOME, no
    checkout on sys.path; HIL_CACHE as the CI sets it (else hil's tests' own)."""
    env = child_env(HIL_MODELS=str(MODELS))
    for name in ("HIL_HOME", "HIL_BOARDS", "PYTHONPATH", "HIL_BOARD_PATH", "HIL_PORT_PATH"):
        env.pop(name, None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _wheel(tmp_path: Path) -> Path:
    """Build hil's wheel from a copy of its sources (no stale build/ folder)."""
    src = tmp_path / "src"
    for name in SOURCES:
        shutil.copytree(REPO / name, src / name, ignore=SKIP)
    for name in FILES:
        shutil.copy2(REPO / name, src / name)
    isolation = ["--no-build-isolation"] if _has_setuptools() else []
    out = tmp_path / "wheels"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("hil-*.whl")
    return wheel


def _has_setuptools() -> bool:
    try:
        import setuptools  # noqa: F401
    except ImportError:
        return False
    return True


def _venv(tmp_path: Path, *packages: str) -> Path:
    """A fresh venv (no system site-packages) holding PACKAGES."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *packages],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv


def _project(tmp_path: Path) -> Path:
    """The user's project, copied outside the checkout."""
    project = tmp_path / "acme-kws"
    shutil.copytree(PROJECT, project, ignore=SKIP)
    return project


def _git_commit(project: Path) -> str:
    """Make the project a git repository of one commit; its id."""
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "project"]):
        subprocess.run([*git, *args], check=True, capture_output=True, timeout=60)
    out = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _built_outputs(venv: Path) -> list[Path]:
    return [p for ext in ("*.elf", "*.o", "*.a") for p in venv.rglob(ext) if "hil" in p.parts]


def test_installed_package_runs_a_project_of_its_own(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    venv = _venv(tmp_path, str(wheel))
    python = str(venv / "bin" / "python")
    project, env = _project(tmp_path), _env(venv)

    # The package, not the checkout: its board files and firmware come as package data.
    where = _run([python, "-c", "import hil.paths as p; print(p.firmware_dir())"], project, env)
    assert where.stdout.strip().startswith(str(venv)), where.stdout

    revision = _git_commit(project)
    shipped = _run([python, "-m", "pytest", "-p", "no:cacheprovider", "--board=corstone300",
                    "--hil-report=out/report.json", "-rA"], project, env)  # fmt: skip
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert "PASS     hello_world_int8 on corstone300" in shipped.stdout
    assert "PASS     digits_cnn_small_int8 on corstone300" in shipped.stdout
    report = json.loads((project / "out" / "report.json").read_text())
    # The user's project and its commit, beside hil's version (hil is no checkout here).
    assert report["project"] == {"root": str(project.resolve()), "git_revision": revision}
    assert report["git_revision"] is None and report["hil_version"]

    # [tool.hil] board = "acme-an547": the project's board, built with its own port.
    own = _run([python, "-m", "pytest", "-p", "no:cacheprovider", "-rA"], project, env)
    assert own.returncode == 0, own.stdout + own.stderr
    assert "2 passed" in own.stdout
    assert "PASS     hello_world_int8 on acme-an547 -> qemu mps3-an547" in own.stdout

    hil = str(venv / "bin" / "hil")
    boards = _run([hil, "boards"], project, env)
    assert boards.returncode == 0, boards.stderr
    assert "acme-an547" in boards.stdout and "corstone300" in boards.stdout

    # hil run from a subfolder: the project is found upward; the model through [tool.hil] models.
    sub = project / "tests"
    run = _run([hil, "run", "hello_world_int8.tflite", "--vectors", "2",
                "--json", "out/run.json"], sub, env)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "hello_world_int8 on acme-an547" in run.stdout
    assert (sub / "out" / "run.json").is_file()

    # Nothing is built into the install: firmware goes to the per-user cache.
    assert _built_outputs(venv) == []

    # No board files anywhere: an error that says where it looked.
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    none = _run([hil, "boards"], empty, {**env, "HIL_BOARDS": str(empty / "none")})
    assert none.returncode == 2
    assert (none.stdout + none.stderr).strip() == (
        f"error: no board files found (looked in {empty / 'none'}); see docs/configuration.md"
    )


def test_hil_beside_other_pytest_plugins(tmp_path: Path) -> None:
    venv = _venv(tmp_path, str(_wheel(tmp_path)), *OTHER_PLUGINS)
    python = str(venv / "bin" / "python")
    project, env = _project(tmp_path), _env(venv)
    (project / "tests" / "test_fixtures_used.py").write_text(FIXTURE_TEST)

    listed = _run([python, "-m", "pip", "list"], project, env).stdout
    for name in (*OTHER_PLUGINS, "hil"):
        assert name in listed, listed

    helptext = _run([python, "-m", "pytest", "--help"], project, env)
    assert helptext.returncode == 0, helptext.stderr  # an option clash fails here
    for option in ("--hil-retries", "--retries", "--reruns", "--hil-backend", "--target"):
        assert option in helptext.stdout, option

    proc = _run([python, "-m", "pytest", "-p", "no:cacheprovider", "--board=corstone300",
                 "--reruns=1", "-rA"], project, env)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED tests/test_fixtures_used.py::test_hil_fixtures_are_used[corstone300]" in (
        proc.stdout
    )
    assert "3 passed" in proc.stdout
