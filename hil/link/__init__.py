"""The host side of the device protocol (docs/protocol.md)."""
