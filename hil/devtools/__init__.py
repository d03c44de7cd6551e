"""What only tests and fuzzers use: the host engine binding and the fault-injecting proxy."""
