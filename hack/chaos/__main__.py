"""``python -m hack.chaos``: see :mod:`hack.chaos.runner`."""

from hack.chaos.runner import main

main()
