"""Entry point: ``python -m localstack`` (what ``hack/stack`` runs)."""

import sys

from .cli import main

sys.exit(main())
