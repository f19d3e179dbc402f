"""Fleet mode: thousands of wristband connections from one process, for load tests."""
