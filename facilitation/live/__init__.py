"""The live layer: rooms, the sans-I/O session, the single writer per meeting, fan-out to connections and
ownership across workers. It drives the core and talks to storage through the event-log port."""
