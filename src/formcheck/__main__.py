"""``python -m formcheck`` runs the CLI."""

from formcheck.cli import main

if __name__ == "__main__":
    main()
