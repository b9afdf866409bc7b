"""``python -m factories``: the ``bookslot-data`` command line."""

import sys

from factories.cli import main

if __name__ == "__main__":
    sys.exit(main())
