"""Where the App's state comes from: the one interface every source implements.

The App only talks to a ``DataSource``: it attaches it once mounted, the source posts the
Messages of ``tui.messages`` to the App, and the UI's requests (ack, search, history...) go
through ``request`` and come back as ``Reply`` messages. ``LiveSource`` (tui/sources/live.py)
speaks to brokers; ``FrozenSource`` (tui/sources/frozen.py) replays fixed data with a frozen
clock for snapshots, screenshots, Pilot tests and the benchmark.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from core.clock import FakeClock, SystemClock

if TYPE_CHECKING:
    from textual.app import App


class DataSource(ABC):
    """A source of fleet state for the App."""

    def __init__(self) -> None:
        self.app: App[Any] | None = None
        self.clock: FakeClock | SystemClock = SystemClock()
        self._ids = itertools.count(1)

    @property
    @abstractmethod
    def names(self) -> list[str]:
        """The brokers behind this source (one name per broker)."""

    def attach(self, app: App[Any]) -> None:
        self.app = app
        self.start()

    @abstractmethod
    def start(self) -> None:
        """Begin posting messages to ``self.app``."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop posting; release sockets and threads."""

    def set_view(self, hosts: Iterable[str]) -> None:  # noqa: B027 - optional hook
        """The hosts the UI shows now: a source may then deliver full metrics for those
        only (and the fleet digest for the rest). Thread-safe, never blocks."""

    def next_id(self) -> str:
        return f"r{next(self._ids)}"

    @abstractmethod
    def request(self, op: str, args: dict[str, Any], brokers: list[str] | None = None,
                req_id: str | None = None) -> str:
        """Send a control request; a ``Reply`` with the returned id is posted later."""

    def post(self, message: Any) -> None:
        if self.app is not None:
            self.app.post_message(message)
