"""Rack instances taken from a labgrid farm (docs/farm.md): a reservation by
tags through the coordinator, held for the whole session and refreshed in a
background thread, then cancelled (also on Ctrl-C or an error: `close` runs
from pytest_unconfigure and atexit). hil holds the reservation (state
`allocated`) and does not acquire the place: labgrid never expires an
acquired place, so a session killed with SIGKILL would keep it forever,
while an unrefreshed reservation expires by itself: 60 s after its last
poll, noticed by the coordinator's scheduling pass every 15 s, so the place
is free for the next session within about 75 s.

labgrid's own client session (labgrid.remote.client.ClientSession) talks to
the coordinator; it is asyncio, so it runs on a loop in a daemon thread."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from hil.errors import HilError
from hil.rack.rack import KEEPALIVE_SECONDS

T = TypeVar("T")
POLL_SECONDS = 0.5
CONNECT_SECONDS = 10.0


class FarmError(HilError):
    """The labgrid coordinator is unreachable, or a place cannot be had."""


class PlaceTimeoutError(FarmError):
    """No matching place became free within the wait."""


METER = "power_meter"  # the name of a place's meter resource, and of its driver tag


@dataclass(frozen=True)
class PlaceLinks:
    """What hil takes from a place's resources."""

    place: str
    serial: str = ""  # rfc2217://host:port (or socket:// for raw) from NetworkSerialPort
    probe: str = ""  # remote:host:port (NetworkService named pyocd) or a probe unique id
    token: str = ""  # the reservation holding the place
    meter: str = ""  # the NetworkSerialPort named power_meter: the meter's serial URL
    meter_driver: str = ""  # the place's power_meter tag (ppk2, lpm01a), if any


def place_matches(name: str, place_tags: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """labgrid's rule: every wanted tag, where `name` is also the place's name."""
    return all(place_tags.get(k) == v or (k == "name" and v == name) for k, v in wanted.items())


def _filter_text(tags: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _url(params: Mapping[str, Any]) -> str:
    scheme = "socket" if params.get("protocol") == "raw" else "rfc2217"
    return f"{scheme}://{params.get('host')}:{params.get('port')}"


def links_from_resources(
    place: str,
    resources: list[tuple[str, str, dict[str, Any]]],
    tags: Mapping[str, str] | None = None,
) -> PlaceLinks:
    """`resources`: (labgrid class, resource name, params) of the resources
    the place matches; `tags`: the place's tags."""
    serial = probe = meter = ""
    for cls, name, params in resources:
        if cls == "NetworkSerialPort" and name == METER:
            meter = meter or _url(params)
        elif cls == "NetworkSerialPort" and not serial:
            serial = _url(params)
        elif cls == "NetworkService" and params.get("username") == "pyocd" and not probe:
            probe = f"remote:{params.get('address')}:{params.get('port')}"
        elif cls in ("NetworkUSBDebugger", "USBDebugger") and not probe:
            probe = str(params.get("ID_SERIAL_SHORT") or params.get("serial") or "")
    return PlaceLinks(place, serial, probe, meter=meter, meter_driver=(tags or {}).get(METER, ""))


def need_labgrid(address: str) -> None:
    """labgrid is an optional dependency (the `labgrid` extra)."""
    try:
        import grpc  # noqa: F401
        import labgrid.remote.generated.labgrid_coordinator_pb2  # noqa: F401
    except ImportError as exc:
        raise FarmError(
            f"the rack's labgrid coordinator {address} needs labgrid ({exc}): "
            "pip install 'hil[labgrid]'"
        ) from None


class Farm:
    """One coordinator connection; `reserve` one place per call."""

    def __init__(self, address: str, keepalive: float = KEEPALIVE_SECONDS) -> None:
        self.address = address
        self.keepalive = keepalive  # under the coordinator's 60 s expiry (the rack checks)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._session: Any = None
        self._tokens: dict[str, str] = {}  # token -> place name
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    # --- plumbing -----------------------------------------------------------
    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def connect(self) -> None:
        need_labgrid(self.address)
        import grpc
        from labgrid.remote.client import ClientSession
        from labgrid.util.proxy import proxymanager

        self._thread.start()
        address = proxymanager.get_grpc_address(self.address, default_port=20408)

        async def start() -> Any:
            session = ClientSession(address, self._loop)
            await asyncio.wait_for(session.start(), CONNECT_SECONDS)
            return session

        try:
            self._session = self._run(start(), CONNECT_SECONDS + 5)
        except (Exception, grpc.RpcError) as exc:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise FarmError(
                f"labgrid coordinator {self.address} unreachable: {exc or type(exc).__name__}"
            ) from None
        self._refresher = threading.Thread(target=self._refresh_loop, daemon=True)
        self._refresher.start()

    def _stub_call(self, name: str, request: Any) -> Any:
        import grpc

        async def call() -> Any:
            return await getattr(self._session.stub, name)(request)

        try:
            return self._run(call())
        except grpc.RpcError as exc:
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise FarmError(f"labgrid coordinator {self.address}: {name}: {details}") from None

    # --- places -------------------------------------------------------------
    def places(self) -> dict[str, Any]:
        return dict(self._session.places)

    def matching(self, tags: Mapping[str, str]) -> list[str]:
        return sorted(n for n, p in self.places().items() if place_matches(n, p.tags, tags))

    def reserve(self, tags: Mapping[str, str], timeout: float) -> PlaceLinks:
        from labgrid.remote.common import Reservation
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        if not self.matching(tags):
            known = "; ".join(
                f"{n} ({_filter_text(p.tags) or 'no tags'})"
                for n, p in sorted(self.places().items())
            )
            raise FarmError(
                f"labgrid coordinator {self.address}: no place has tags {_filter_text(tags)} "
                f"(places: {known or 'none'})"
            )
        request = pb.CreateReservationRequest(
            filters={"main": pb.Reservation.Filter(filter=dict(tags))}, prio=0.0
        )
        reply = self._stub_call("CreateReservation", request)
        token = Reservation.from_pb2(reply.reservation).token
        try:
            return self._wait(token, tags, timeout)
        except BaseException:  # Ctrl-C or an error while waiting: leave no queued reservation
            self._cancel(token)
            raise

    def _wait(self, token: str, tags: Mapping[str, str], timeout: float) -> PlaceLinks:
        from labgrid.remote.common import ReservationState

        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            res = self._poll(token)
            if res.state is ReservationState.allocated:
                place = res.allocations["main"][0]
                self._tokens[token] = place
                return dataclasses.replace(self.links(place), token=token)
            if res.state is not ReservationState.waiting:
                raise FarmError(
                    f"labgrid reservation {token} for {_filter_text(tags)}: {res.state.name}"
                )
            if time.monotonic() >= deadline:
                holders = ", ".join(
                    f"{n} reserved by {self._owner(self.places()[n].reservation)}"
                    for n in self.matching(tags)
                )
                raise PlaceTimeoutError(
                    f"no labgrid place with tags {_filter_text(tags)} became free in "
                    f"{timeout:g} s (--hil-lock-timeout): {holders}"
                )
            time.sleep(POLL_SECONDS)

    def _poll(self, token: str) -> Any:
        from labgrid.remote.common import Reservation
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        reply = self._stub_call("PollReservation", pb.PollReservationRequest(token=token))
        return Reservation.from_pb2(reply.reservation)

    def _owner(self, token: str | None) -> str:
        from labgrid.remote.common import Reservation
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        if not token:
            return "nobody (acquired directly)"
        reply = self._stub_call("GetReservations", pb.GetReservationsRequest())
        for raw in reply.reservations:
            res = Reservation.from_pb2(raw)
            if res.token == token:
                return f"{res.owner} (reservation {token})"
        return f"reservation {token}"

    def links(self, place_name: str) -> PlaceLinks:
        place = self.places()[place_name]
        found = []
        for exporter, groups in sorted(self._session.resources.items()):
            for group_name, group in sorted(groups.items()):
                for resource_name, resource in sorted(group.items()):
                    if place.hasmatch((exporter, group_name, resource.cls, resource_name)):
                        found.append((resource.cls, resource_name, dict(resource.params)))
        return links_from_resources(place_name, found, dict(place.tags))

    # --- keeping --------------------------------------------------------------
    def _refresh_loop(self) -> None:
        """Polling a reservation is what refreshes it (labgrid)."""
        while not self._stop.wait(self.keepalive):
            for token in list(self._tokens):
                with contextlib.suppress(Exception):  # gone: the cases on it say why
                    self._poll(token)

    def _cancel(self, token: str) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        with contextlib.suppress(FarmError):  # gone already: expired or cancelled
            self._stub_call("CancelReservation", pb.CancelReservationRequest(token=token))

    def close(self) -> None:
        """Cancel every reservation and disconnect; safe to call twice."""
        self._stop.set()
        if self._session is None:
            return
        for token in list(self._tokens):
            self._cancel(token)
        self._tokens.clear()
        session, self._session = self._session, None
        with contextlib.suppress(Exception):  # the coordinator may be gone
            self._run(session.stop(), 10)
            self._run(session.close(), 10)
        self._loop.call_soon_threadsafe(self._loop.stop)


class PlaceWatch:
    """Is a place still ours? Unary calls on a plain gRPC channel (no client
    session needed), so every xdist worker can ask before and after a case."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._channel: Any = None
        self._stub: Any = None

    def _connect(self) -> Any:
        if self._stub is None:
            need_labgrid(self.address)
            import grpc
            from labgrid.remote.generated import labgrid_coordinator_pb2_grpc as pb_grpc
            from labgrid.util.proxy import proxymanager

            target = proxymanager.get_grpc_address(self.address, default_port=20408)
            self._channel = grpc.insecure_channel(target)
            self._stub = pb_grpc.CoordinatorStub(self._channel)
        return self._stub

    def why_lost(self, place: str, token: str) -> str:
        """"" while `token` holds `place` and nobody acquired it; else why not."""
        stub = self._connect()
        import grpc
        from labgrid.remote.common import Reservation, ReservationState
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        try:
            reply = stub.PollReservation(pb.PollReservationRequest(token=token), timeout=10)
            places = stub.GetPlaces(pb.GetPlacesRequest(), timeout=10).places
        except grpc.RpcError as exc:
            details = exc.details() if hasattr(exc, "details") else str(exc)
            if "does not exist" in str(details):
                return f"labgrid place {place} lost: reservation {token} was cancelled or expired"
            return f"labgrid place {place}: coordinator {self.address} unreachable: {details}"
        res = Reservation.from_pb2(reply.reservation)
        if res.state not in (ReservationState.allocated, ReservationState.acquired):
            return f"labgrid place {place} lost: reservation {token} is {res.state.name}"
        if place not in res.allocations.get("main", []):
            return f"labgrid place {place} lost: reservation {token} no longer holds it"
        for raw in places:
            if raw.name == place and raw.acquired:
                return f"labgrid place {place} was taken mid-run: acquired by {raw.acquired}"
        return ""

    def describe(self, tags: Mapping[str, str]) -> tuple[bool, str]:
        """For `hil rack check`: do places with these tags exist, and who holds
        each? (False, why) when the coordinator does not answer or none match."""
        stub = self._connect()
        import grpc
        from labgrid.remote.common import Reservation
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        try:
            places = stub.GetPlaces(pb.GetPlacesRequest(), timeout=10).places
            reply = stub.GetReservations(pb.GetReservationsRequest(), timeout=10)
        except grpc.RpcError as exc:
            details = exc.details() if hasattr(exc, "details") else str(exc)
            return False, f"labgrid coordinator {self.address} unreachable: {details}"
        owners = {r.token: r.owner for r in map(Reservation.from_pb2, reply.reservations)}
        found = []
        for raw in sorted(places, key=lambda p: p.name):
            if not place_matches(raw.name, dict(raw.tags), tags):
                continue
            if raw.acquired:
                state = f"acquired by {raw.acquired}"
            elif raw.reservation:
                state = f"reserved by {owners.get(raw.reservation, raw.reservation)}"
            else:
                state = "free"
            found.append(f"{raw.name} {state}")
        if not found:
            return False, f"labgrid {self.address}: no place has tags {_filter_text(tags)}"
        return True, f"labgrid {self.address} ({_filter_text(tags)}): {', '.join(found)}"

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = self._stub = None
