"""The running gateway service: settings, MQTT ingest, pipeline, registry, twin, storage, CLI."""
