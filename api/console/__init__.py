"""The web console's static assets (HTML, JS, CSS), served by `api.routes.console`."""
