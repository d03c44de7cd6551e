"""Reports of a run: JSON now; JUnit properties come from the plugin."""
