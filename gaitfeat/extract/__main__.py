"""``python -m gaitfeat.extract``: see :mod:`gaitfeat.extract.cli`."""

import sys

from gaitfeat.extract.cli import main

if __name__ == "__main__":
    sys.exit(main())
