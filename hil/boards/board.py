"""Load and validate board files (boards/NAME.toml); docs/boards.md describes the format."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.boards.energy import EnergyParams, parse_energy
from hil.boards.fields import TomlTable
from hil.boards.memory import MemoryMap, parse_memory
from hil.boards.regression import RegressionThresholds, parse_regression
from hil.errors import BoardFileError
from hil.paths import board_dirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN_BACKENDS = ("fvp", "qemu", "pyocd")
# How the host moves bytes: the UART, or target RAM through the debug port
# (docs/memory-transport.md). Fastest first.
TRANSPORTS = ("memory", "serial")
PROTOCOLS = ("hil", "eembc")


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str
    clock_hz: int
    port: str
    cflags: tuple[str, ...]
    baud: int
    backend_order: tuple[str, ...]
    backends: dict[str, dict[str, Any]] = field(hash=False)
    path: Path = field(hash=False)
    protocol: str = "hil"  # how hil talks to the firmware: its own protocol, or EEMBC's
    memory: MemoryMap | None = None  # [memory]: code and RAM regions of the part
    marker_pin: str = ""  # [firmware] marker_pin: the GPIO high during a timed window
    engine: str = ""  # [firmware] engine: this board's default engine ("" = hil's choice)
    # [firmware] image: a prebuilt ELF (relative to the board file) flashed instead of
    # hil's build; checked for hil's agent when used (hil.firmware.prebuilt).
    firmware: Path | None = field(default=None, hash=False)
    # [firmware] model_placement: "upload", "linked" (in flash) or "" (upload if it fits)
    model_placement: str = ""
    # [firmware] tflm_ops: "all" (every builtin), "model" (only the model's operators)
    # or "" (all unless asked); TFLM engines only
    tflm_ops: str = ""
    serial: dict[str, Any] = field(default_factory=dict, hash=False)  # [serial] url/port
    # [regression]: how far counters and energy may rise before it is a regression
    regression: RegressionThresholds = field(default_factory=RegressionThresholds)
    energy: EnergyParams | None = None  # [energy]: cited datasheet figures for modeled energy
    # [link] transports: how the host can reach the agent (hil.targets.transport chooses)
    transports: tuple[str, ...] = ("serial",)
    # [eembc] images / model_ids: prebuilt MLPerf Tiny firmware, one image per
    # model (by model file stem or "sha256:<hex>"), flashed as it is.
    eembc_images: dict[str, Path] = field(default_factory=dict, hash=False)
    eembc_model_ids: dict[str, str] = field(default_factory=dict, hash=False)

    def backend(self, kind: str) -> dict[str, Any]:
        return self.backends.get(kind, {})


def load_board(name_or_path: str | Path) -> Board:
    """Load a board by name (from the boards directory) or by file path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        found = find_board_file(str(name_or_path))
        if found is None:
            known = ", ".join(b.name for b in list_boards()) or "none"
            looked = ", ".join(map(str, board_dirs()))
            raise BoardFileError(
                f"no board named {name_or_path!r} (known boards: {known}; looked in {looked})"
            )
        path = found
    return _parse(_read(path, ()), path)


def find_board_file(name: str, skip: Path | None = None) -> Path | None:
    """NAME.toml in the first board folder holding it (a project's folders
    come before hil's, so a project board overrides a shipped one); SKIP
    passes over one file, for a board that extends the one it overrides."""
    for folder in board_dirs():
        path = folder / f"{name}.toml"
        if path.is_file() and (skip is None or path.resolve() != skip.resolve()):
            return path
    return None


def _read(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """The file's tables, on top of those of the board it `extends`, if any."""
    if path in chain:
        raise BoardFileError(f"{path}: extends itself through {' -> '.join(map(str, chain))}")
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except OSError as exc:
        raise BoardFileError(f"cannot read board file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BoardFileError(f"{path}: not valid TOML: {exc}") from exc
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise BoardFileError(f"{path}: extends: expected a board name, got {base!r}")
    base_path = path.parent / f"{base}.toml"
    if not base_path.is_file() or base_path.resolve() == path.resolve():
        # A project board may extend a shipped one, even the one it overrides.
        found = find_board_file(base, skip=path)
        if found is None:
            raise BoardFileError(f"{path}: extends {base!r}, but {base_path} does not exist")
        base_path = found
    return _overlay(_read(base_path, (*chain, path)), data)


def _overlay(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parse(data: dict[str, Any], path: Path) -> Board:
    top = TomlTable(data, path)
    firmware = top.table("firmware")
    link = top.table("link", {})
    backends = top.table("backends")
    order = backends.str_list("order")
    if not order:
        raise BoardFileError(f"{path}: backends.order: empty; name at least one backend")
    tables: dict[str, dict[str, Any]] = {}
    for kind in order:
        if kind not in KNOWN_BACKENDS:
            raise BoardFileError(
                f"{path}: backends.order: unknown backend {kind!r} "
                f"(known: {', '.join(KNOWN_BACKENDS)})"
            )
        tables[kind] = backends.get(kind, dict, {})
    if "qemu" in tables:
        qemu = backends.table("qemu")
        qemu.get("machine", str)
        qemu.get("icount_shift", int, 5)
    if "fvp" in tables:
        backends.table("fvp").str_list("executables")
    if "pyocd" in tables:
        pyocd = backends.table("pyocd")
        pyocd.get("target", str)
        pyocd.str_list("probe_vendors", [])
        pyocd.get("unique_id", str, "")
    serial = top.table("serial", {})
    serial.get("url", str, "")
    serial.get("port", str, "")
    protocol = top.get("protocol", str, "hil")
    if protocol not in PROTOCOLS:
        raise BoardFileError(f"{path}: protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    images, model_ids = _eembc_images(top, path, protocol)
    clock_hz = top.get("clock_hz", int)
    if clock_hz <= 0:
        raise BoardFileError(f"{path}: clock_hz: must be positive, got {clock_hz}")
    return Board(
        name=top.get("name", str),
        description=top.get("description", str, ""),
        core=top.get("core", str),
        clock_hz=clock_hz,
        port=firmware.get("port", str),
        cflags=firmware.str_list("cflags"),
        baud=_baud(link.get("baud", int, 115200), path),
        transports=_transports(link.str_list("transports", ["serial"]), path),
        backend_order=order,
        backends=tables,
        path=path,
        protocol=protocol,
        memory=parse_memory(top),
        marker_pin=firmware.get("marker_pin", str, ""),
        engine=_engine(firmware.get("engine", str, ""), path),
        firmware=_image(firmware.get("image", str, ""), path),
        model_placement=_placement(firmware.get("model_placement", str, ""), path),
        tflm_ops=_tflm_ops(firmware.get("tflm_ops", str, ""), path),
        serial=dict(serial.data),
        regression=parse_regression(data.get("regression"), path),
        eembc_images=images,
        eembc_model_ids=model_ids,
        energy=parse_energy(top),
    )


def _baud(baud: int, path: Path) -> int:
    if baud <= 0:
        raise BoardFileError(f"{path}: link.baud: must be positive, got {baud}")
    return baud


def _transports(names: tuple[str, ...], path: Path) -> tuple[str, ...]:
    if not names:
        raise BoardFileError(f"{path}: link.transports: empty; name serial, memory or both")
    for name in names:
        if name not in TRANSPORTS:
            raise BoardFileError(
                f"{path}: link.transports: unknown transport {name!r} "
                f"(known: {', '.join(TRANSPORTS)})"
            )
    return tuple(dict.fromkeys(names))


def _image(name: str, path: Path) -> Path | None:
    return path.parent / name if name else None


def _one_of(name: str, known: tuple[str, ...], key: str, path: Path) -> str:
    """A [firmware] choice: "" (unset) or one of KNOWN."""
    if name and name not in known:
        raise BoardFileError(f"{path}: firmware.{key}: {name!r} is not one of {', '.join(known)}")
    return name


def _placement(name: str, path: Path) -> str:
    return _one_of(name, ("upload", "linked"), "model_placement", path)


def _tflm_ops(name: str, path: Path) -> str:
    return _one_of(name, ("all", "model"), "tflm_ops", path)


def _engine(name: str, path: Path) -> str:
    return _one_of(name, ("hil", "tflm", "tflm-cmsis-nn"), "engine", path)


def _eembc_images(
    top: TomlTable, path: Path, protocol: str
) -> tuple[dict[str, Path], dict[str, str]]:
    """[eembc] images and model_ids, both keyed by model; image paths are
    relative to the board file. Whether each image exists is checked when a
    model needs it, so one missing image does not hide the whole board."""
    eembc = top.table("eembc", {})
    images = eembc.table("images", {})
    model_ids = eembc.table("model_ids", {})
    unknown = set(eembc.data) - {"images", "model_ids"}
    if unknown:
        raise BoardFileError(f"{path}: eembc: unknown keys {', '.join(sorted(unknown))}")
    if eembc.data and protocol != "eembc":
        raise BoardFileError(f'{path}: eembc: only for boards with protocol = "eembc"')
    for key in model_ids.data:
        model_ids.get(key, str)
        if key not in images.data:
            raise BoardFileError(f"{path}: eembc.model_ids.{key}: no image for this model")
    resolved = {k: path.parent / images.get(k, str) for k in images.data}
    return resolved, dict(model_ids.data)


def list_boards() -> list[Board]:
    """Every board in the board folders, by name; a project's board file
    hides a shipped one of the same name."""
    files: dict[str, Path] = {}
    for folder in board_dirs():
        for path in sorted(folder.glob("*.toml")):
            files.setdefault(path.stem, path)
    return [load_board(files[name]) for name in sorted(files)]
