"""FAKES of things this machine lacks (debug probes, Arm's FVP), for testing
hil at their boundaries. None of them is the real thing."""
