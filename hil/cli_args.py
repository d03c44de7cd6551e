"""Checks of the `hil` command's arguments, made before anything starts: counts
and ranges as argparse types, output files whose folder is created when
missing and must be writable, and a parser whose usage errors are one line
(exit 2)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from hil.errors import HilError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one `error:` line (exit 2)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {self.prog}: {' '.join(message.split())}\n")
        sys.exit(EXIT_USAGE)


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in low..high (no upper bound when None)."""
    span = f"{low}..{high}" if high is not None else f">= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (seconds, a tolerance)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def output_file(path: str | None, option: str) -> Path | None:
    """PATH as a file hil will write: its folder is created when missing and
    must be writable. Raises HilError naming the option."""
    if path is None or path == "-":
        return None
    target = Path(path).expanduser()
    if target.is_dir():
        raise HilError(f"{option} {path}: is a folder, expected a file name")
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HilError(f"{option} {path}: cannot create folder {folder}: "
                       f"{exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise HilError(f"{option} {path}: not writable")
    return target
