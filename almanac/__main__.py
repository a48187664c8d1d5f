"""``python -m almanac``: the same command line as the ``almanac`` console script
(:mod:`almanac.cli`): the user verbs and the ``operator``, ``executor``, ``api``,
``crds`` and ``preview`` commands."""

from __future__ import annotations

import sys

from almanac.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
