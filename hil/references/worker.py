"""The worker process behind IsolatedReference: builds one host reference
and answers its requests over the two pipe descriptors it was given."""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection
from typing import Any

from hil.references.base import Reference, ReferenceUnavailable


def _build(kind: str, model: bytes, options: dict[str, Any]) -> Reference:
    if kind == "tflm":
        from hil.references.tflm import TflmReference

        return TflmReference(model, int(options["n_outputs"]))
    if kind == "litert":
        from hil.references.litert import LiteRtReference

        return LiteRtReference(model, str(options.get("resolver", "ref")))
    raise ValueError(f"unknown reference {kind!r} (known: tflm, litert)")


def serve(requests: Connection, replies: Connection) -> None:
    request, (kind, model, options) = requests.recv()
    if request != "init":
        raise ValueError(f"expected init, got {request!r}")
    try:
        ref = _build(kind, model, options)
    except ReferenceUnavailable as exc:
        replies.send(("unavailable", str(exc)))
        return
    replies.send(("ready", (ref.version, ref.agreement)))
    while True:
        try:
            request, arg = requests.recv()
        except EOFError:
            return
        if request == "close":
            return
        try:
            if request == "run":
                reply: Any = ref.run(arg)
            elif request == "reset":
                reply = ref.reset()
            elif request == "arena":
                reply = ref.arena_used_bytes()
            else:
                raise ValueError(f"unknown request {request!r}")
        except Exception as exc:  # sent to the parent, which raises it as an error
            replies.send(("error", f"{type(exc).__name__}: {exc}"))
            continue
        replies.send(("ok", reply))


def main(argv: list[str]) -> None:
    serve(Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False))


if __name__ == "__main__":
    main(sys.argv[1:])
