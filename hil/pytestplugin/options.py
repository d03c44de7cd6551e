"""What hil's pytest plugins share: the option group they add to, the
`--board` names, and HilError turned into a usage error at configure time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from hil.errors import HilError

GROUP = "hil"
GROUP_DESCRIPTION = "hardware-in-the-loop (hil)"


def hil_group(parser: pytest.Parser) -> pytest.OptionGroup:
    """The one `hil` group in --help, whichever plugin asks first."""
    return parser.getgroup(GROUP, GROUP_DESCRIPTION)


def board_names(config: pytest.Config) -> list[str]:
    """--board, repeated or comma-separated."""
    return [n.strip() for opt in config.getoption("board") for n in opt.split(",") if n.strip()]


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """A bad option or file stops pytest with one line, not a traceback."""
    try:
        yield
    except HilError as exc:
        raise pytest.UsageError(str(exc)) from exc
