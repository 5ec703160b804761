"""``python -m advisor`` runs the same CLI as the ``advisor`` command."""

from advisor.cli import main

if __name__ == "__main__":
    main()
