"""``python -m bookslot_factories``: the ``bookslot-data`` command line."""

import sys

from .cli import main

if __name__ == "__main__":
    code = main()
    # A KeyboardInterrupt that left an exec() of a string (a dataclass being made during
    # an import) stays on CPython's record even once main() caught it, and `python -m`
    # then ends by SIGINT instead of with this code. Running a string clears the record.
    exec("pass")
    sys.exit(code)
