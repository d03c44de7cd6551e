"""Lets `pytest --board=...` work from a plain checkout: load hil's plugin here
unless an installed hil already registered it through its entry point."""

from importlib.metadata import entry_points

_installed = any(ep.value == "hil.pytestplugin.plugin" for ep in entry_points(group="pytest11"))
pytest_plugins = () if _installed else ("hil.pytestplugin.plugin",)
