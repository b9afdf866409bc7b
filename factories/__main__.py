"""``python -m bookslot_factories``: the ``bookslot-data`` command line."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
