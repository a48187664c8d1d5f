"""``python -m almanac.executor``: see :mod:`almanac.executor.main`."""

import sys

from almanac.executor.main import main

sys.exit(main())
