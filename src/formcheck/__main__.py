"""``python -m formcheck`` runs the CLI."""

from formcheck.cli import main

main()
