"""A rack of board instances (docs/rack.md): the file, selection, reachability,
discovery and the cross-process lock per instance."""

from hil.rack.rack import Instance, Rack, RackFileError, load_rack
from hil.rack.select import select_instances

__all__ = ["Instance", "Rack", "RackFileError", "load_rack", "select_instances"]
