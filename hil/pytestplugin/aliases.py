"""The short fixture names hil's README uses: `dut` for `hil_dut`.

Another installed plugin may define a fixture of the same name (pytest-embedded
defines `dut`). Which of two plugins' fixtures pytest uses follows the order in
which they were registered, and entry-point plugins load in no stated order.
So this module is registered from hil's pytest_configure, after every
entry-point plugin: hil's `dut` is the one tests get wherever hil is active,
while a `dut` fixture in a conftest.py still overrides it (conftest fixtures
are more specific than any plugin's). `hil_dut` always names hil's device."""

from __future__ import annotations

import sys

import pytest

from hil.device.protocol import Device

NAME = "hil-fixture-aliases"


@pytest.fixture(scope="session")
def dut(hil_dut: Device) -> Device:
    """The running device with an open session, shared by every test on the
    board (hil's `hil_dut`)."""
    return hil_dut


def register(config: pytest.Config) -> None:
    """Register the aliases, once, after the plugins loaded so far."""
    if not config.pluginmanager.has_plugin(NAME):
        config.pluginmanager.register(sys.modules[__name__], NAME)
