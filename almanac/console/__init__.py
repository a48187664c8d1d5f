"""The web console: server-rendered pages over the REST facade's service, at ``/console``.

:func:`almanac.console.app.create_console` builds it; the facade's ``create_app`` mounts it.
"""
