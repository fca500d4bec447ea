"""``python -m seglab`` runs the command line."""

from seglab.cli.main import main

main()
