"""Long work made visible under pytest: a line when a firmware or TFLM build
starts, a line now and then while a model uploads or many vectors run, and a
line when a long task ends. On a terminal the lines come every few seconds;
in a CI log (not a terminal) only builds starting and tasks that took long
are written, so the log stays short. xdist workers show nothing (their
output never reaches the terminal); the controller's own work does."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from hil import progress
from hil.progress import Step

STACK = pytest.StashKey[contextlib.ExitStack]()


@dataclass(frozen=True)
class Pace:
    """How often, and from how long on, a kind of output is worth a line."""

    every: float  # seconds between two lines about one task under way
    ended_after: float  # a task that took at least this long gets an "ended" line


TERMINAL = Pace(every=5.0, ended_after=3.0)
LOG = Pace(every=60.0, ended_after=20.0)


def _amount(step: Step) -> str:
    if step.total is None or not step.unit:
        return ""
    if step.unit == "B":
        return f" {step.done / 1024:,.0f}/{step.total / 1024:,.0f} KiB"
    return f" {step.done:,}/{step.total:,} {step.unit}"


@dataclass
class ProgressLines:
    """Turns steps into the lines worth writing, at `pace`."""

    write: Callable[[str], None]
    pace: Pace
    clock: Callable[[], float] = time.monotonic
    _last: dict[tuple[str, str], float] = field(default_factory=dict)

    def __call__(self, step: Step) -> None:
        key = (step.kind, step.what)
        now = self.clock()
        if step.finished:
            self._last.pop(key, None)
            if step.seconds >= self.pace.ended_after:
                self.write(f"hil: {step.kind} {step.what}: done in {step.seconds:,.1f} s")
            return
        if key not in self._last:  # the task's first step
            self._last[key] = now
            if step.kind == "build":  # builds take minutes: say so at once
                self.write(f"hil: {step.kind} {step.what} ...")
            return
        if now - self._last[key] >= self.pace.every:
            self._last[key] = now
            self.write(f"hil: {step.kind} {step.what}:{_amount(step)} ({step.seconds:,.0f} s)")


def _writer(config: pytest.Config, reporter: Any) -> Callable[[str], None]:
    capture = config.pluginmanager.getplugin("capturemanager")

    def write(line: str) -> None:
        # Tests run with output captured; a progress line is the terminal's.
        suspend = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
        with suspend:
            reporter.write_line(line)

    return write


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is None or hasattr(config, "workerinput"):
        return
    pace = TERMINAL if reporter.isatty() else LOG
    stack = contextlib.ExitStack()
    stack.enter_context(progress.listening(ProgressLines(_writer(config, reporter), pace)))
    config.stash[STACK] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(STACK, None)
    if stack is not None:
        stack.close()
