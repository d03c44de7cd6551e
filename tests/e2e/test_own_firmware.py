"""Your own firmware: examples/own_firmware built from its own Makefile with
hil's agent library and the cached TFLM library, driven by `hil run
--firmware`, a ModelCase(firmware=...) and the plugin; images without the
agent, or speaking another protocol version, refused with one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.boards import load_board, resolve
from hil.case.model_case import ModelCase
from hil.case.runner import run_case
from hil.device.dut import Dut, create_dut
from hil.errors import HilError
from hil.firmware.build import build_firmware
from hil.firmware.image_check import AGENT_MAGIC, agent_ident
from hil.firmware.prebuilt import FirmwareImageError, prebuilt_firmware
from tests.e2e.helpers import REPO, child_env, pytest_args, run_child

BOARD = "corstone300"
EXAMPLE = REPO / "examples" / "own_firmware"
HIL = [sys.executable, "-m", "hil.cli"]


@pytest.fixture(scope="module")
def app_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example application, built by its own Makefile into a fresh folder
    (TFLM and the agent come prebuilt from hil's cache)."""
    build = tmp_path_factory.mktemp("own_firmware") / "build"
    hil = Path(sys.executable).with_name("hil")
    result = subprocess.run(
        ["make", "-C", str(EXAMPLE), f"BOARD={BOARD}", f"BUILD={build}", f"HIL={hil}"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=1800,  # a first run may build TFLM for the core (once per cache)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return build / "app.elf"


def test_example_runs_bit_exact_with_tflm_host(
    app_elf: Path, models_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "result.json"
    model = models_dir / "hello_world_int8.tflite"
    args = ["run", str(model), "--board", BOARD, "--firmware", str(app_elf), "--vectors", "20"]
    result = run_child([*HIL, *args, "--json", str(out)], cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["references"]["tflm"]["agreement"] == "exact"
    assert report["aggregate"]["agreement"]["tflm"]["matched"] == 20
    assert report["engine"].startswith("own-firmware-example")
    assert report["firmware"]["variant"] == "prebuilt"


def test_example_runs_kws_through_a_model_case(app_elf: Path, models_dir: Path) -> None:
    case = ModelCase(models_dir / "mlperf_tiny_kws_ds_cnn_int8.tflite", vectors=3, firmware=app_elf)
    assert case.firmware is not None
    with Dut(resolve(load_board(BOARD)), timeout=30.0, firmware=case.firmware) as dut:
        result = run_case(dut, case)
    assert result.passed, result.failure_report()
    assert result.agreement["tflm"] == "exact"
    assert result.matched("tflm") == 3


def test_a_board_file_names_the_image(app_elf: Path, models_dir: Path, tmp_path: Path) -> None:
    board = tmp_path / "my-corstone300.toml"
    board.write_text(
        f'extends = "corstone300"\nname = "my-corstone300"\n[firmware]\nimage = "{app_elf}"\n'
    )
    out = tmp_path / "result.json"
    model = models_dir / "hello_world_int8.tflite"
    args = ["run", str(model), "--board", str(board), "--vectors", "3", "--json", str(out)]
    result = run_child([*HIL, *args], cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["engine"].startswith("own-firmware-example")
    assert report["aggregate"]["agreement"]["tflm"]["matched"] == 3


def test_plugin_runs_a_case_on_its_own_firmware(
    app_elf: Path, models_dir: Path, tmp_path: Path
) -> None:
    test = tmp_path / "test_own.py"
    test.write_text(
        "from hil import ModelCase\n\n"
        "def test_own(check_model):\n"
        f"    case = ModelCase({str(models_dir / 'hello_world_int8.tflite')!r}, vectors=5,\n"
        f"                     firmware={str(app_elf)!r})\n"
        "    result = check_model(case)\n"
        "    assert result.engine.startswith('own-firmware-example')\n"
    )
    result = run_child(pytest_args(str(test), f"--board={BOARD}", "-q"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


BARE_METAL = """
void Reset_Handler(void) { for (;;) { } }
__attribute__((section(".vectors"), used)) const void *vectors[2] = {
    (const void *)0x20001000, (const void *)Reset_Handler };
"""
BARE_LD = """
ENTRY(Reset_Handler)
MEMORY { CODE (rx) : ORIGIN = 0x0, LENGTH = 512K  RAM (rw) : ORIGIN = 0x20000000, LENGTH = 512K }
SECTIONS { .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) } > CODE }
"""


def test_an_elf_without_the_agent_is_refused(models_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "app.c").write_text(BARE_METAL)
    (tmp_path / "app.ld").write_text(BARE_LD)
    elf = tmp_path / "app.elf"
    cc = ["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mthumb", "-nostartfiles", "-nostdlib"]
    subprocess.run([*cc, "-T", "app.ld", "app.c", "-o", str(elf)], cwd=tmp_path, check=True)
    model = models_dir / "hello_world_int8.tflite"
    result = run_child(
        [*HIL, "run", str(model), "--board", BOARD, "--firmware", str(elf)], cwd=REPO, timeout=60
    )
    assert result.returncode == 2
    lines = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: firmware {elf}: no hil agent in this image (hil_agent_ident not found); link "
        "libhil_agent.a and feed it the host link's bytes, see docs/own-firmware.md"
    ]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def other_version() -> Iterator[Path]:
    """hil's own firmware built to speak protocol version 2."""
    image = build_firmware(load_board(BOARD), cflags=("-DHIL_PROTOCOL_VERSION=2",))
    yield image.elf


def test_another_protocol_version_is_refused_before_flashing(
    other_version: Path, models_dir: Path
) -> None:
    ident = agent_ident(other_version)
    assert ident is not None and ident.protocol_version == 2
    model = models_dir / "hello_world_int8.tflite"
    result = run_child(
        [*HIL, "run", str(model), "--board", BOARD, "--firmware", str(other_version)],
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        f"error: firmware {other_version}: its agent speaks hil protocol version 2, this hil "
        "speaks 1; relink it with this hil's agent library (hil firmware agent-lib)"
    ) in result.stdout


def test_another_protocol_version_is_refused_at_hello(other_version: Path, tmp_path: Path) -> None:
    """An image whose ident record was tampered with to claim version 1 is
    still caught by what its agent answers."""
    data = bytearray(other_version.read_bytes())
    at = data.find(AGENT_MAGIC)
    assert at >= 0
    data[at + 16 : at + 20] = (1).to_bytes(4, "little")
    patched = tmp_path / "claims_v1.elf"
    patched.write_bytes(bytes(data))
    prebuilt_firmware(patched, load_board(BOARD))  # passes the ELF check
    dut = create_dut(resolve(load_board(BOARD)), timeout=5.0, firmware=patched)
    with pytest.raises(HilError, match=r"protocol version 1 not spoken \(device speaks 2\)"):
        dut.start()
    dut.close()


def test_a_non_elf_file_is_refused(tmp_path: Path) -> None:
    hex_file = tmp_path / "app.hex"
    hex_file.write_text(":00000001FF\n")
    with pytest.raises(FirmwareImageError, match="not an ELF file"):
        prebuilt_firmware(hex_file, load_board(BOARD))
