"""Storage: the narrow interface the gateway writes through, and its SQLite implementation."""
