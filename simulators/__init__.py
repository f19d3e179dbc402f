"""Device simulators that speak only the public MQTT contract."""
