"""Progress of long work: the steps a task reports, and the lines the pytest
plugin writes from them (a build at once, a long task now and then and when it
ends, nothing for short work), on a terminal and in a CI log."""

from __future__ import annotations

import pytest

from hil import progress
from hil.progress import Step
from hil.pytestplugin.progress import LOG, TERMINAL, Pace, ProgressLines


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines_for(steps: list[tuple[float, Step]], pace: Pace) -> list[str]:
    clock, out = Clock(), []
    show = ProgressLines(out.append, pace, clock)
    for at, step in steps:
        clock.now = at
        show(step)
    return out


def test_a_task_reports_its_start_advances_and_end_to_listeners() -> None:
    seen: list[Step] = []
    with (
        progress.listening(seen.append),
        progress.task("upload", "model kws.tflite", 1000, "B") as upload,
    ):
        upload.advance(400)
        upload.advance(1000)
    assert [(s.done, s.finished) for s in seen] == [
        (0, False), (400, False), (1000, False), (1000, True)
    ]  # fmt: skip
    assert all(s.total == 1000 and s.unit == "B" for s in seen)
    with progress.task("upload", "unheard", 10) as quiet:  # no listener: nothing kept
        quiet.advance(5)
    assert len(seen) == 4


def test_a_failed_task_reports_no_end() -> None:
    seen: list[Step] = []
    with (
        progress.listening(seen.append),
        pytest.raises(RuntimeError),
        progress.task("build", "firmware x"),
    ):
        raise RuntimeError("compiler died")
    assert [s.finished for s in seen] == [False]


def test_a_build_is_announced_at_once_and_its_end_when_it_took_long() -> None:
    start = Step("build", "TFLM library (cortex-m55, cmsis-nn)")
    end = Step("build", start.what, finished=True, seconds=245.0)
    assert lines_for([(0, start), (245, end)], LOG) == [
        "hil: build TFLM library (cortex-m55, cmsis-nn) ...",
        "hil: build TFLM library (cortex-m55, cmsis-nn): done in 245.0 s",
    ]


def test_short_work_writes_nothing() -> None:
    steps = [
        (0.0, Step("vectors", "kws", 0, 10, unit="vectors")),
        (0.5, Step("vectors", "kws", 5, 10, unit="vectors", seconds=0.5)),
        (1.0, Step("vectors", "kws", 10, 10, True, 1.0, "vectors")),
    ]
    assert lines_for(steps, TERMINAL) == []


def test_long_work_is_paced_by_the_output_it_goes_to() -> None:
    steps = [(0.0, Step("upload", "model vww.tflite", 0, 333 * 1024, unit="B"))]
    for t in range(1, 121):
        steps.append((float(t), Step("upload", "model vww.tflite", t * 2048, 333 * 1024,
                                     seconds=float(t), unit="B")))  # fmt: skip
    steps.append((121.0, Step("upload", "model vww.tflite", 333 * 1024, 333 * 1024, True,
                              121.0, "B")))  # fmt: skip
    on_terminal = lines_for(steps, TERMINAL)
    in_log = lines_for(steps, LOG)
    assert len(on_terminal) == 120 // 5 + 1  # every 5 s, and the end
    assert in_log == [
        "hil: upload model vww.tflite: 120/333 KiB (60 s)",
        "hil: upload model vww.tflite: 240/333 KiB (120 s)",
        "hil: upload model vww.tflite: done in 121.0 s",
    ]
