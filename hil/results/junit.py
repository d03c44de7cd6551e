"""JUnit XML properties of a case, from its store row, so CI dashboards plot
the same figures the store keeps (`--junitxml`; docs/results.md)."""

from __future__ import annotations

from typing import Any

# (property, row column); a property is left out when its value is unknown.
COLUMNS = (
    ("hil_board", "board"),
    ("hil_instance", "instance"),
    ("hil_backend", "backend"),
    ("hil_target", "target"),
    ("hil_firmware_build_id", "firmware_build_id"),
    ("hil_firmware_variant", "firmware_variant"),
    ("hil_firmware_cflags", "firmware_cflags"),
    ("hil_engine", "engine"),
    ("hil_transport", "transport_used"),
    ("hil_model", "model_name"),
    ("hil_model_sha256", "model_sha256"),
    ("hil_status", "status"),
    ("hil_counter_kind", "counter_kind"),
    ("hil_counter_method", "counter_method"),
    ("hil_counter_median", "counter_median"),
    ("hil_arena_bytes", "arena_bytes"),
    ("hil_flash_bytes", "flash_bytes"),
    ("hil_stack_bytes", "stack_bytes"),
    ("hil_energy_uj", "energy_uj"),
)


# Link counters of a case (hil.link.session.LinkStats), as hil_link_<name>.
LINK_PROPERTIES = ("retries", "bad_frames", "naks", "timeouts", "resyncs", "failed_requests")


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def junit_properties(row: dict[str, Any]) -> list[tuple[str, str]]:
    props = [(name, _text(row[col])) for name, col in COLUMNS if row.get(col) not in (None, "")]
    if row.get("counter_kind") and row.get("counter_median") is not None:
        # e.g. hil_instructions_median: a dashboard never plots cycles and instructions as one
        props.append((f"hil_{row['counter_kind']}_median", _text(row["counter_median"])))
    energy = (row.get("record") or {}).get("energy") or {}
    if row.get("energy_uj") is not None and energy.get("kind"):
        # hil_energy_modeled_uj or hil_energy_measured_uj: never one series of both
        props.append((f"hil_energy_{energy['kind']}_uj", _text(row["energy_uj"])))
    for ref, agg in (row.get("agreement") or {}).items():
        props.append((f"hil_{ref}_matched", f"{agg.get('matched')}/{agg.get('total')}"))
    for name in LINK_PROPERTIES:  # a flaky link shows in CI, not only in the logs
        value = ((row.get("record") or {}).get("link") or {}).get(name)
        if value is not None:
            props.append((f"hil_link_{name}", _text(value)))
    if (row.get("attempts") or 1) > 1:
        props.append(("hil_attempts", str(row["attempts"])))
    return props
