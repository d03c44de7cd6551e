"""A model case: what to run, how to compare, and running it on a device."""
