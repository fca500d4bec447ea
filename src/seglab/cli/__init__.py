"""The seglab command line (typer)."""
