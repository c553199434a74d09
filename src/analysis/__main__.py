"""``python -m analysis <step> ...``: the command line (logic in :mod:`analysis.runner.cli`)."""

import sys

from analysis.runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
