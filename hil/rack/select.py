"""Pick rack instances by name, board type or tag (`--board` under `--hil-rack`)."""

from __future__ import annotations

from collections.abc import Iterable

from hil.rack.rack import Instance, Rack, RackFileError

PREFIXES = ("name", "board", "tag")


def _matches(inst: Instance, selector: str) -> bool:
    kind, sep, value = selector.partition(":")
    if sep and kind in PREFIXES:
        if kind == "name":
            return inst.name == value
        if kind == "board":
            return inst.board == value
        return value in inst.tags
    return selector in (inst.name, inst.board) or selector in inst.tags


def split_selectors(options: Iterable[str]) -> list[str]:
    """`--board a,b --board c` -> [a, b, c]."""
    return [s.strip() for opt in options for s in opt.split(",") if s.strip()]


def select_instances(rack: Rack, selectors: Iterable[str]) -> list[Instance]:
    """Instances matching any selector (all of them if there is none), in rack
    order. A selector is a name, a board type or a tag, or one of those made
    explicit with a `name:`, `board:` or `tag:` prefix. A selector matching
    nothing is an error naming what there is."""
    wanted = list(selectors)
    if not wanted:
        return list(rack.instances)
    for selector in wanted:
        if not any(_matches(inst, selector) for inst in rack.instances):
            tags = sorted({t for i in rack.instances for t in i.tags})
            raise RackFileError(
                f"{rack.path}: no instance matches {selector!r} (names: "
                f"{', '.join(i.name for i in rack.instances)}; board types: "
                f"{', '.join(sorted({i.board for i in rack.instances}))}; tags: "
                f"{', '.join(tags) or 'none'})"
            )
    return [i for i in rack.instances if any(_matches(i, s) for s in wanted)]


def instance_of(nodeid: str, names: list[str]) -> str | None:
    """Which rack instance a test id names: xdist's `@instance` suffix, else
    the instance's name as one `-`-separated part of the parameter ids
    (`test[a300-1-kws]`; the longest name that fits wins)."""
    at, close = nodeid.rfind("@"), nodeid.rfind("]")
    if at > close and nodeid[at + 1 :] in names:
        return nodeid[at + 1 :]
    params = nodeid[nodeid.find("[") + 1 : close] if "[" in nodeid and close > 0 else ""
    for name in sorted(names, key=len, reverse=True):
        if (
            params == name
            or params.startswith(f"{name}-")
            or params.endswith(f"-{name}")
            or f"-{name}-" in params
        ):
            return name
    return None
