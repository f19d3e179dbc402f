"""HTTP API: routes per resource, auth and roles, live stream, web console."""
