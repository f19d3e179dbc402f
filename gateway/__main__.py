"""`python -m gateway` runs the `scgw` command."""

from gateway.cli import main

main()
