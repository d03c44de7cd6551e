"""The device under test: hil's protocol (dut) and EEMBC's (eembc)."""
