"""The consent domain: directives, break-glass, access decisions and the policy table that makes them.

Pure: it imports the standard library and ``eventsourcing.domain`` only.
"""
