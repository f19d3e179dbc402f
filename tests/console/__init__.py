"""Browser tests of the web console, grid worker view and family page."""
