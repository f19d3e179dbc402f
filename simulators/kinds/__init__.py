"""One simulator per device kind, each speaking only the public MQTT contract."""
