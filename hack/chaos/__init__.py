"""The chaos suite (``make chaos``): exactly once under faults, counted."""
