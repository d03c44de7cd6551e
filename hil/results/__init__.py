"""The results store and everything that reads it: runs, baselines, regressions,
history, JUnit properties. Reports read the store through here."""
