"""Accuracy on labelled data: datasets, metrics, evaluation on the device and
the host references, the variants table and its budgets (docs/accuracy.md)."""
