"""Storage helpers both services share: SQL dialects, versioned migrations, the event store's settings.

Like ``restkit`` and ``identity`` it sits below the services and imports neither of them.
"""
