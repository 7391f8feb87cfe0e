"""The in-process bus for one server process: publishing calls the listeners directly."""

from __future__ import annotations

from collections.abc import Sequence

from facilitation.core.events import Event
from facilitation.storage.bus import Listener, Unsubscribe

__all__ = ["MemoryBus"]


class MemoryBus:
    """Delivers synchronously, so events reach listeners in exactly the order they were published."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._listeners.clear()

    async def publish(self, code: str, events: Sequence[Event]) -> None:
        for listener in list(self._listeners.get(code, ())):
            listener(events)

    def subscribe(self, code: str, listener: Listener, since: int | None = None) -> Unsubscribe:
        """``since`` needs no handling: delivery is synchronous, so nothing can be published unheard."""
        self._listeners.setdefault(code, []).append(listener)

        def unsubscribe() -> None:
            listeners = self._listeners.get(code, [])
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    async def healthy(self) -> bool:
        return True
