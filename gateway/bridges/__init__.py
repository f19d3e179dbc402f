"""Bridges for devices that do not speak MQTT: they reach the gateway as themselves over MQTT."""
