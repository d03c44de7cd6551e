"""Everything pytest: options, fixtures, hooks, store, rack, nightly, energy, retries,
quarantine."""
