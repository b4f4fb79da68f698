"""``python -m skhpo dashboard STORAGE``: see :func:`skhpo.dashboard.main`."""

import sys

from .dashboard import main

if __name__ == "__main__":
    sys.exit(main())
