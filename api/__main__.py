"""`python -m api …` is the `scgw` command (gateway, HTTP API and console)."""

from api.cli import main

main()
