"""The documentation kept true by tests: generated pages, settings, runbooks, links."""
