"""Rule definitions, condition kinds, the engine and the alert lifecycle."""
