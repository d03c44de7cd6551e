"""What the pytest plugin attaches to a test's report about its device."""

from __future__ import annotations

import json
from typing import Any

from hil.device.protocol import DeviceState
from hil.pytestplugin.plugin import report_device


class FakeItem:
    """The two parts of a pytest.Item report_device writes to."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, str, str]] = []
        self.user_properties: list[tuple[str, object]] = []

    def add_report_section(self, when: str, key: str, content: str) -> None:
        self.sections.append((when, key, content))


class FakeDevice:
    """A device whose link counters are set by the test: a fake, no target."""

    description = "fake board -> nothing"
    state = DeviceState.MODEL_LOADED

    def __init__(self, stats: dict[str, int | float]) -> None:
        self.stats = stats

    def link_stats(self) -> dict[str, int | float]:
        return self.stats


def report(before: dict[str, int | float], after: dict[str, int | float], log: str = "") -> Any:
    item = FakeItem()
    report_device(item, FakeDevice(after), before, log)  # type: ignore[arg-type]
    return item


def test_a_clean_link_gives_a_section_and_no_property() -> None:
    item = report({"requests": 3, "retries": 1}, {"requests": 10, "retries": 1})
    ((when, key, text),) = item.sections
    assert (when, key) == ("call", "hil device")
    assert "state: model loaded" in text
    assert "requests=7" in text and "retries=0" in text
    assert item.user_properties == []


def test_a_test_the_link_troubled_says_so_in_its_properties() -> None:
    item = report({"retries": 1, "naks": 0}, {"retries": 4, "naks": 2, "bytes_sent": 90}, "log")
    ((name, value),) = item.user_properties
    assert name == "hil_link_trouble"
    assert json.loads(str(value)) == {"retries": 3, "naks": 2}
    assert item.sections[0][2].endswith("\nlog")
