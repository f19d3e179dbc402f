"""MQTT 3.1.1 and 5 on the wire, shared by the gateway's client and the load generator.

Imports nothing else of ours: `gateway` and `simulators` both may import it.
"""
