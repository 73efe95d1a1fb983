"""The keys that change something at the broker: ack, unack, silence, simulate, forget.

Each opens its dialog (tui/screens/dialogs.py) and sends the request to the brokers that
hold the alert; all are refused while the console is rewound (tui/rewind.py). Mixed into
MonitorApp (before ``App``), as tui/held_keys.py is: the app's module stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.rewind import live_only
from tui.screens.base import ConsoleScreen
from tui.screens.dialogs import AckDialog, ForgetDialog, SilenceDialog, SimulateDialog

if TYPE_CHECKING:
    from textual.app import App

    from tui import messages as msg
    from tui.sources.base import DataSource

    Base = App[None]
else:
    Base = object


class OperatorActions(Base):
    if TYPE_CHECKING:  # MonitorApp's, which this is mixed into
        author: str
        scenarios: list[str]
        selected_host: str | None
        source: DataSource

        def selected_alert(self) -> dict[str, Any] | None: ...
        def brokers_of(self, alert_id: str) -> list[str]: ...
        def call(self, op: str, args: dict[str, Any] | None = None,
                 callback: Callable[[msg.Reply], None] | None = None,
                 brokers: list[str] | None = None,
                 on_error: Callable[[msg.Reply], None] | None = None) -> str: ...

    @live_only("acknowledging")
    def action_ack(self) -> None:
        alert = self.selected_alert()
        if alert is None:
            self.notify("select an alert first (alerts: 2, or tab to the feed)", severity="warning")
            return

        def done(result: dict[str, Any] | None) -> None:
            if result is not None:
                args = {"alert_id": alert["id"], "author": self.author, **result}
                self.call("ack", args, lambda r: self.notify(f"acknowledged {alert['rule']} on "
                                                             f"{alert['host']}", timeout=3),
                          self.brokers_of(alert["id"]))
        self.push_screen(AckDialog(alert), done)

    @live_only("forgetting a host")
    def action_forget(self) -> None:
        host = self.selected_host
        if not host:
            self.notify("select a host first (dashboard: 1)", severity="warning")
            return

        def done(result: dict[str, Any] | None) -> None:
            if result is not None:
                self.call("forget", {"host": host, "author": self.author},
                          lambda r: self.notify(f"forgot {host}", timeout=3))
        self.push_screen(ForgetDialog(host), done)

    @live_only("removing an acknowledgement")
    def action_unack(self) -> None:
        alert = self.selected_alert()
        if alert is None:
            self.notify("select an alert first", severity="warning")
            return
        self.call("unack", {"alert_id": alert["id"], "author": self.author},
                  lambda r: self.notify(f"unacknowledged {alert['rule']} on {alert['host']}",
                                        timeout=3), self.brokers_of(alert["id"]))

    @live_only("silencing")
    def action_silence(self) -> None:
        alert = self.selected_alert()
        host = alert["host"] if alert else self.selected_host
        matchers = [f"host={host}"] if host else []
        if alert:
            matchers.append(f"rule={alert['rule']}")
        if isinstance(self.screen, ConsoleScreen):  # the incident view: the alert's own
            matchers = self.screen.silence_matchers() or matchers

        def done(result: dict[str, Any] | None) -> None:
            if result is not None:
                self.call("silence", {**result, "author": self.author},
                          lambda r: self.notify(f"silenced {' '.join(result['matchers'])} for "
                                                f"{result['duration']}", timeout=3),
                          brokers=list(self.source.names))
        self.push_screen(SilenceDialog(matchers), done)

    @live_only("simulating an alert")
    def action_simulate(self) -> None:
        def done(result: dict[str, Any] | None) -> None:
            if result is not None:
                self.call("simulate", result, lambda r: self.notify(
                    f"simulated {result['name']} on {result['host'] or 'the fleet'}", timeout=3))
        scenarios = self.scenarios or ["high_cpu_usage", "high_memory_usage", "disk_almost_full",
                                       "host_down"]
        self.push_screen(SimulateDialog(scenarios, self.selected_host or ""), done)
