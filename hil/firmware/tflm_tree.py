"""Where hil finds a TensorFlow Lite Micro source tree, and whether it is whole.

Looked for, first hit wins: an option (`--hil-tflm`, `hil run --tflm`),
HIL_TFLM_DIR, the project's `[tool.hil] tflm_dir`, then
../shared/third_party/tflite-micro beside hil's checkout. The tree must be laid
out as after TFLM's `make third_party_downloads` (the CMSIS and CMSIS-NN
downloads included); its files are compiled where they are, never copied."""

from __future__ import annotations

import os
from pathlib import Path

from hil import config
from hil.errors import HilError
from hil.paths import checkout_root

ENV = "HIL_TFLM_DIR"
DOWNLOADS = "tensorflow/lite/micro/tools/make/downloads"
# Files hil's TFLM build reads; a tree without one of them cannot build.
REQUIRED = (
    "tensorflow/lite/micro/micro_interpreter.h",
    "tensorflow/lite/micro/tools/make/sources.inc",
    f"{DOWNLOADS}/flatbuffers/include/flatbuffers/flatbuffers.h",
    f"{DOWNLOADS}/gemmlowp/fixedpoint/fixedpoint.h",
    f"{DOWNLOADS}/ruy/ruy/profiler/instrumentation.h",
    f"{DOWNLOADS}/cmsis/CMSIS/Core/Include/cmsis_compiler.h",
    f"{DOWNLOADS}/cmsis/Cortex_DFP/Device",
    f"{DOWNLOADS}/cmsis_nn/Include/arm_nnfunctions.h",
    f"{DOWNLOADS}/cmsis_nn/Source",
)


class TflmTreeError(HilError):
    """No TFLite Micro tree where hil looked, or one missing files it needs."""


_chosen: list[Path] = []  # set once per process by --hil-tflm / hil run --tflm


def choose(path: str | Path | None) -> None:
    """Make PATH (an option's value) the tree this process uses."""
    _chosen[:] = [Path(path).expanduser()] if path else []


INSTALLED = (
    "none given, and an installed hil has no checkout to look beside: set HIL_TFLM_DIR, "
    "[tool.hil] tflm_dir or --hil-tflm"
)


def default_tree() -> Path | None:
    """../shared/third_party/tflite-micro beside hil's checkout (None when installed)."""
    root = checkout_root()
    if root is None:
        return None
    return root.resolve().parent / "shared" / "third_party" / "tflite-micro"


def locate(explicit: str | Path | None = None) -> tuple[Path | None, str]:
    """The tree hil would use and where that choice came from (not checked);
    None when nothing names one and hil is installed, not run from a checkout."""
    if explicit:
        return Path(explicit).expanduser(), "given as an option"
    if _chosen:
        return _chosen[0], "given as an option"
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser(), f"from {ENV}"
    project = config.current()
    if project is not None and project.tflm_dir is not None:
        return project.tflm_dir, f"from [tool.hil] tflm_dir in {project.pyproject}"
    default = default_tree()
    if default is None:
        return None, INSTALLED
    return default, f"the default (set {ENV} or --hil-tflm to choose another)"


def missing_files(tree: Path) -> list[str]:
    return [name for name in REQUIRED if not (tree / name).exists()]


def tflm_tree(explicit: str | Path | None = None) -> Path:
    """The TFLM tree, checked: raises TflmTreeError naming the path and what
    is missing when there is none or it is incomplete."""
    found, source = locate(explicit)
    if found is None:
        raise TflmTreeError(f"no TensorFlow Lite Micro tree: {source}")
    tree = found.resolve()
    if not tree.is_dir():
        raise TflmTreeError(f"no TensorFlow Lite Micro tree at {tree} ({source})")
    missing = missing_files(tree)
    if missing:
        raise TflmTreeError(
            f"TensorFlow Lite Micro tree at {tree} ({source}) is incomplete, missing: "
            + ", ".join(missing)
            + " (run `make -f tensorflow/lite/micro/tools/make/Makefile TARGET=cortex_m_generic "
            "OPTIMIZED_KERNEL_DIR=cmsis_nn third_party_downloads` there)"
        )
    return tree


def available(explicit: str | Path | None = None) -> bool:
    try:
        tflm_tree(explicit)
    except TflmTreeError:
        return False
    return True
