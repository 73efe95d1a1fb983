"""MonitorApp: the operator's console. It owns the model; a DataSource feeds it messages."""

from __future__ import annotations

import gc
import getpass
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import Notify, SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from tui import batch, palette, textual_fixes
from tui import messages as msg
from tui.css_cache import CachedStylesheet
from tui.format import printable, thresholds_from_rules
from tui.gc_pacer import GcPacer
from tui.held_keys import HeldKeys
from tui.incident_nav import IncidentNav
from tui.model import FleetModel
from tui.operator_actions import OperatorActions
from tui.quick_switch import QuickSwitch
from tui.rewind import REWIND_KEYS, Rewind
from tui.screens.alerts import AlertsScreen
from tui.screens.base import ConsoleScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.events import EventsScreen
from tui.screens.help import HelpScreen, binding_rows
from tui.screens.host import HostScreen
from tui.sources.base import DataSource
from tui.toasts import CRITICAL_TIMEOUT_S, fit, fold, make_room, text_width
from tui.widgets.summary import worst_state

textual_fixes.install()  # Textual's line caches freed with their widgets

SCREENS_GROUP = Binding.Group("views", compact=True)
TOAST_BATCH_S = 1.0  # new criticals within this window share one toast (a toast costs a layout)
MODAL_SAFE = {"quit", "interrupt", "command_palette", "focus_next", "focus_previous"}
ReplyCallback = Callable[[msg.Reply], None]
INTERRUPTED = 130  # what a shell expects of a program ended by ctrl+c (128 + SIGINT)




class MonitorApp(QuickSwitch, HeldKeys, IncidentNav, OperatorActions, App[None]):
    TITLE = "monitor"
    CSS_PATH = "app.tcss"
    MODES = {"dashboard": DashboardScreen, "alerts": AlertsScreen, "events": EventsScreen,
             "host": HostScreen}
    DEFAULT_MODE = "dashboard"
    BINDINGS = [
        Binding("a", "ack", "Ack", tooltip="Acknowledge the selected alert"),
        Binding("u", "unack", "Unack", tooltip="Remove the acknowledgement"),
        Binding("x", "silence", "Silence", tooltip="Silence alerts like the selected one"),
        Binding("s", "simulate", "Simulate", tooltip="Inject a simulated alert"),
        Binding("slash", "search", "Search", key_display="/", tooltip="Filter or search"),
        Binding("p", "pause", "Pause", tooltip="Pause or resume live updates"),
        *REWIND_KEYS,  # t, [, ]
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Every key"),
        Binding("q", "quit", "Quit", tooltip="Quit monitor-tui"),
        Binding("1", "switch('dashboard')", "Dashboard", group=SCREENS_GROUP),
        Binding("2", "switch('alerts')", "Alerts", group=SCREENS_GROUP),
        Binding("3", "switch('events')", "Events", group=SCREENS_GROUP),
        Binding("4", "switch('host')", "Host", group=SCREENS_GROUP),
        Binding("enter", "open", "Open", show=False, tooltip="Open the selected item"),
        Binding("escape", "go_back", "Back", show=False, tooltip="Back / clear the filter"),
        Binding("tab", "focus_next", "Next pane", show=False, tooltip="Move focus"),
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True, system=True,
                tooltip="Quit (exit code 130)"),
    ]

    paused: reactive[bool] = reactive(False, init=False)
    """`p`: the model keeps up with the brokers, the screens stop repainting it."""

    def __init__(self, source: DataSource, *, bell: bool = False, author: str | None = None,
                 refresh_s: float = 0.5, theme: str | None = None,
                 state_file: Path | None = None) -> None:
        super().__init__()
        self.stylesheet = CachedStylesheet(variables=self.get_css_variables())
        self.state_file = state_file  # the dashboard's sort and compact mode (tui/prefs.py)
        self.source = source
        self.live_model = FleetModel()  # the brokers' state now; ``model`` is what is shown
        self.rewind = Rewind(self)
        self.bell_on_critical = bell
        self.author = author or _user()
        self.refresh_s = refresh_s
        self.connections: dict[str, str] = {}
        self.connection_detail = ""
        self.ever_connected = False
        self.selected_host: str | None = None
        self.marked_hosts: set[str] = set()  # `space` on the dashboard; `v` compares them
        self.thresholds: dict[str, tuple[float, float]] | None = None
        self.scenarios: list[str] = []
        self._callbacks: dict[str, tuple[ReplyCallback, ReplyCallback | None]] = {}
        self._new_criticals: list[dict[str, Any]] = []
        self.gc_pacer = GcPacer()  # full collections between keys (tui/gc_pacer.py)
        palette.use_color(not self.no_color)
        if theme:
            self.theme = theme

    # ---------------------------------------------------------------- lifecycle
    def on_mount(self) -> None:
        self.console.size = (self.size.width, self.size.height)
        self.update_title()
        self.source.attach(self)
        self.set_interval(self.refresh_s, self.refresh_views)
        self.gc_pacer.install()

    def on_resize(self, event: events.Resize) -> None:
        """Rich's console asks the OS for the terminal's size (up to three system calls)
        whenever an option is read, and DataTable reads them to measure every new cell:
        a third of a 1,000-row rebuild. It is told the size instead."""
        self.console.size = (event.size.width, event.size.height)

    def on_unmount(self) -> None:
        self.gc_pacer.uninstall()
        self.source.stop()

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is not None and not self._batch_count:  # a frame went out
            # (a screen's own queue: a ScreenResume still to handle is part of a key)
            self.gc_pacer.painted(self._message_queue.qsize() + screen._message_queue.qsize(),
                                  len(self._callbacks))

    @property
    def model(self) -> FleetModel:
        """The fleet on screen: the live one, or the past moment rewind shows (tui/rewind.py)."""
        return self.rewind.model or self.live_model

    def now(self) -> float:
        """The moment on screen (rewound: that moment)."""
        return self.rewind.moment(self.source.clock.time())

    def refresh_views(self, force: bool = False) -> None:
        if self._exit or not self.is_running:
            return  # shutting down: the screens are being torn down
        self.update_title()
        if not force:
            self.gc_pacer.tick()
        if self.paused and not force:
            return
        screen = self.screen
        if isinstance(screen, ConsoleScreen) and screen.ready:
            screen.refresh_data()
        self.source.set_view(self.view_hosts())

    def view_hosts(self) -> set[str]:
        """The hosts on screen (the dashboard's rows), the open one and the marked ones
        (`v` compares their metrics): a big fleet's console receives full metrics for
        these only (tui/sources/session.py)."""
        from tui.widgets.host_table import HostTable

        view = {self.selected_host} if self.selected_host else set()
        view |= self.marked_hosts
        for table in self.screen_stack[0].query(HostTable) if self.screen_stack else ():
            view.update(table.visible_hosts())
        return view

    def update_title(self) -> None:
        n = self.live_model.unacked_criticals()  # live, even while rewound
        self.title = f"monitor · {n} unacked critical" if n else "monitor"
        state = worst_state(self.connections)
        down = sorted(n for n, s in self.connections.items() if s != "connected")
        live = len(self.connections) - len(down)
        if live and down:  # one broker of a pair (or a shard) is gone: the others still feed
            state = f"{live}/{len(self.connections)} brokers · {', '.join(down)} {state}"
        self.sub_title = state + (" · paused" if self.paused else "") + (
            f" · {len(self.marked_hosts)} marked" if self.marked_hosts else "")
        # the picture is stale only when no broker feeds it any more
        self.set_class(not live and self.ever_connected and bool(down), "-stale")

    # ---------------------------------------------------------------- requests
    def call(self, op: str, args: dict[str, Any] | None = None,
             callback: ReplyCallback | None = None, brokers: list[str] | None = None,
             on_error: ReplyCallback | None = None) -> str:
        """Send a request; ``callback`` gets the reply. A refusal goes to ``on_error`` when
        given (the screen shows it where it belongs), else to a toast."""
        req_id = self.source.next_id()
        self._callbacks[req_id] = (callback or self._default_reply, on_error)
        if self.rewind.blocks(op):  # a change from a picture of the past: refused
            self.post_message(self.rewind.refusal(req_id, op))
            return req_id
        self.source.request(op, dict(args or {}), brokers, req_id=req_id)
        return req_id

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Toasts carry data (rule and host names, summaries, a broker's error quoting a
        regex): never parse them as markup (``markup`` is ignored, widgets pass True), a stray
        ``[/x]`` would crash the app. Compact: the title leads the message's line, and only
        the newest two stay (tui/toasts.py)."""
        super().notify(fold(printable(title), printable(message)), severity=severity,
                       timeout=timeout, markup=False)

    def on_notify(self, _: Notify) -> None:
        make_room(self)  # before App._on_notify adds the new one: the newest two stay

    def _default_reply(self, reply: msg.Reply) -> None:
        if reply.ok:
            self.notify(f"{reply.op}: done", timeout=3)

    def on_reply(self, reply: msg.Reply) -> None:
        callback, on_error = self._callbacks.pop(reply.req_id, (None, None))
        if msg.owner_gone(callback) or msg.owner_gone(on_error) or self._exit:
            return  # its widget left the screen (a chart closed before its reply came), or
            # the app is closing (`q` while a host's log lines were asked: a traceback)
        if not reply.ok:
            if on_error is not None:
                on_error(reply)
            else:
                self.notify(reply.error or f"{reply.op} failed", title=reply.op,
                            severity="error")
            return
        if callback is not None:
            callback(reply)

    # ---------------------------------------------------------------- messages from the source
    def on_connection_state(self, message: msg.ConnectionState) -> None:
        self.connections[message.source] = message.state
        self.connection_detail = message.detail
        if message.state == "connected" and not self.ever_connected:
            self.ever_connected = True
            self.call("rules", callback=self._got_rules)
        if message.state == "unreachable" and not self.ever_connected and all(
                self.connections.get(n) == "unreachable" for n in self.source.names):
            self.exit(return_code=1, message=message.detail)
        self.update_title()
        self.refresh_views(force=True)

    def on_snapshot(self, message: msg.Snapshot) -> None:
        self.live_model.apply_snapshot(message.source, message.snapshot)
        self.update_title()
        self.refresh_views(force=True)
        # The fleet's state is long-lived: keep the cyclic GC from rescanning it. A full
        # collection over 1,000 hosts took 25-70 ms, the worst key-to-repaint latencies.
        self.call_after_refresh(gc.freeze)

    def on_fleet_changes(self, message: msg.FleetChanges) -> None:
        """A batch of a frame interval (tui/batch.py), applied in one pass."""
        new = batch.apply(self.live_model, message.source, message.batch)
        if new:
            if not self._new_criticals:
                self.set_timer(TOAST_BATCH_S, self._toast_criticals)
            self._new_criticals.extend(new)
        # Title and screens catch up on the next tick: a title change costs a layout pass,
        # and an alert storm would pay it for every message.

    def on_metrics_update(self, message: msg.MetricsUpdate) -> None:
        apply = self.live_model.apply_metrics
        for host, (ts, metrics) in message.updates.items():
            apply(message.source, host, ts, metrics)

    def on_digest_update(self, message: msg.DigestUpdate) -> None:
        self.live_model.apply_digest(message.source, message.digest)

    # One frame's message (a FrozenSource's, a test's): a batch of one.
    def on_host_changed(self, message: msg.HostChanged) -> None:
        one = batch.Batch()
        one.add_host(message.host, message.status, message.ts, message.info)
        self.on_fleet_changes(msg.FleetChanges(message.source, one))

    def on_alert_changed(self, message: msg.AlertChanged) -> None:
        one = batch.Batch()
        one.add_alert(message.alert)
        self.on_fleet_changes(msg.FleetChanges(message.source, one))

    def on_event_received(self, message: msg.EventReceived) -> None:
        one = batch.Batch()
        one.add_event(message.event)
        self.on_fleet_changes(msg.FleetChanges(message.source, one))

    def _toast_criticals(self) -> None:
        """One toast (and one bell) per burst: a storm of toasts would bury the screen."""
        new, self._new_criticals = self._new_criticals, []
        if len(new) == 1:
            a = new[0]
            said, host = str(a.get("summary") or a.get("value")), str(a.get("host"))
            where = "" if host in said else f" on {host}"  # the host once: two toast lines
            text = f"{a.get('rule')}{where}: {said}"
        else:
            text = f"{len(new)} new: " + ", ".join(
                f"{a.get('rule')} on {a.get('host')}" for a in new[:3]) + (
                ", …" if len(new) > 3 else "")
        text = fit(fold("CRITICAL", text), text_width(self.size.width))
        self.notify(text, severity="error", timeout=CRITICAL_TIMEOUT_S)
        if self.bell_on_critical:
            self.bell()

    def on_broker_status(self, message: msg.BrokerStatus) -> None:
        self.live_model.brokers.setdefault(message.source, {}).update(message.status)

    def _got_rules(self, reply: msg.Reply) -> None:
        rules = [r for r in (reply.result or []) if isinstance(r, dict)]
        self.scenarios = [r["name"] for r in rules if r.get("name")]
        self.thresholds = thresholds_from_rules(rules)

    # ---------------------------------------------------------------- selection
    def selected_alert(self) -> dict[str, Any] | None:
        screen = self.screen
        return screen.selected_alert() if isinstance(screen, ConsoleScreen) else None

    def brokers_of(self, alert_id: str) -> list[str]:
        return sorted(self.model.alert_sources.get(alert_id, ()))

    # ---------------------------------------------------------------- actions (keys)
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a dialog (or help) is open, the app's keys wait: they belong to the dialog."""
        if isinstance(self.screen, ModalScreen) and action not in MODAL_SAFE:
            return False
        return True

    def action_switch(self, mode: str) -> None:
        self.close_incident()
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_open(self) -> None:
        screen = self.screen
        if isinstance(screen, ConsoleScreen):
            screen.open_selected()

    def action_go_back(self) -> None:
        self._typed = None
        if self.rewind.active:  # Esc: back to live first, on whatever screen
            self.rewind.go_live()
            return
        screen = self.screen
        if isinstance(screen, ConsoleScreen) and screen.step_back():
            return
        if self.current_mode != "dashboard":
            self.switch_mode("dashboard")

    def action_mark_host(self) -> None:
        from tui.screens.compare import toggle_mark

        toggle_mark(self)

    def action_compare(self) -> None:
        from tui.screens.compare import open_compare

        open_compare(self)

    def action_interrupt(self) -> None:
        self.exit(return_code=INTERRUPTED)

    def action_pause(self) -> None:
        self.paused = not self.paused

    def watch_paused(self, paused: bool) -> None:
        self.update_title()
        self.refresh_views(force=True)  # the header and the summary line say PAUSED: no toast

    def action_rewind(self, step: int = 0) -> None:  # t: pick a moment; [ ]: step (-1, 1)
        self.rewind.key(step)

    def action_help(self) -> None:
        """The help of each kind of screen is built once and kept (tui/screens/help.py)."""
        below = self.screen
        if isinstance(below, HelpScreen):
            return
        name = f"help:{type(below).__name__}"
        if not self.is_screen_installed(name):
            rows = binding_rows([b for b in self.BINDINGS if isinstance(b, Binding)], below)
            self.install_screen(HelpScreen(rows), name)
        help_ = self.get_screen(name)
        assert isinstance(help_, HelpScreen)
        help_.reopen()
        self.push_screen(help_)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        below = self.screen_stack[-1] if self.screen_stack else None
        for binding, target in [*[(b, None) for b in self.BINDINGS],
                                *[(b, below) for b in (below.BINDINGS if below else [])]]:
            if not isinstance(binding, Binding) or binding.action in ("quit", "interrupt") \
                    or not binding.description:
                continue
            help_text = binding.tooltip or binding.description
            yield SystemCommand(f"{binding.description} ({binding.key_display or binding.key})",
                                help_text, lambda b=binding, t=target: self.run_action(
                                    b.action, t))


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "tui"
