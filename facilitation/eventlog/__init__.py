"""The event-log port: append a meeting's events durably, subscribe to them from a sequence number.

:mod:`facilitation.eventlog.port` declares the port and its two implementations; :mod:`.codec` is how an
event is written at rest (shared by every store and the Redis bus, owned by neither).
"""
