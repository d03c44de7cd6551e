"""What only tests and fuzzers use: the host engine binding."""
