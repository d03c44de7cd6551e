"""Build step: the wheel carries hil's firmware sources and board files as
package data (hil/_data/firmware, hil/_data/boards), copied from the
repository's top-level firmware/ and boards/, which stay their only home.
hil.paths finds them with importlib.resources. Everything else is in
pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = ("firmware", "boards")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.o", "*.elf", "*.map")


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "hil" / "_data"
        for name in DATA:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(ROOT / name, target / name, ignore=SKIP)


setup(cmdclass={"build_py": BuildWithData})
