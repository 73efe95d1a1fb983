"""Rewind (`t`, `[`, `]`, Esc): the console shows the fleet as it was at a past moment.

The broker rebuilds the picture (control ``fleet_at``, shaped like ``snapshot``); it goes
into a model of its own, which the App shows instead of the live one (``MonitorApp.model``)
while the live model keeps applying every update, so Esc returns to live at once and
correctly. Steps are coalesced: one request is in flight at a time, and when it answers
for a moment the operator has already stepped past, the newest moment is asked instead.
Actions that change state are refused while rewound: they would act on the live fleet
from a picture of the past.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.binding import Binding
from textual.screen import Screen

from core.ops import OPS, audited
from tui.messages import Reply
from tui.model import FleetModel
from tui.widgets.rewind_banner import RewindBanner, Rewound

if TYPE_CHECKING:
    from tui.app import MonitorApp

REWIND_KEYS = [  # the App's bindings
    Binding("t", "rewind", "Rewind", tooltip="Show the fleet as it was at a past moment"),
    Binding("left_square_bracket", "rewind(-1)", "Step back", show=False,
            key_display="[", tooltip="Rewound: one step back (1 min, or 1 h past 2 days)"),
    Binding("right_square_bracket", "rewind(1)", "Step forward", show=False,
            key_display="]", tooltip="Rewound: one step forward"),
]
STEPS = {"1m": 60.0, "1h": 3600.0}
ASK_TIMEOUT_S = 15.0  # the link answers a request it sent itself after 5 s
DETAIL_ABOVE = 100  # past this many hosts, only the hosts on screen come with history
REFUSED = "refused while rewound: {what} would act on the live fleet (Esc returns to live)"


class Rewind:
    """The rewind state of one App."""

    def __init__(self, app: MonitorApp) -> None:
        self.app = app
        self.target: float | None = None  # the moment asked for (None: live)
        self.shown: float | None = None  # the moment of the picture on screen
        self.model: FleetModel | None = None  # the picture at ``shown``
        self.step = "1m"
        self.oldest: float | None = None  # the oldest moment the brokers can show
        self.error = ""
        self._asking: float | None = None  # the moment of the request in flight
        self._replies: dict[str, Any] = {}  # broker -> its reply, for ``_asking``
        self._waiting: set[str] = set()
        self._said: tuple[str, float] | None = None  # the last "can't step" line, and where

    @property
    def active(self) -> bool:
        return self.target is not None

    def moment(self, now: float) -> float:
        """The moment the screens show: ``now`` when live."""
        return self.shown if self.model is not None and self.shown is not None else now

    def before(self) -> dict[str, float]:
        """Search arguments for what happened up to the moment shown ({} when live)."""
        return {"before_ts": self.shown + 0.001} if self.model is not None and \
            self.shown is not None else {}

    # ---------------------------------------------------------------- keys
    def key(self, step: int) -> None:
        """`t` (0): the time picker; `[` (-1) and `]` (1): a step."""
        if step:
            self.step_by(step)
        else:
            self.pick()

    def pick(self) -> None:
        """`t`: the time picker, holding the moment shown now if rewound."""
        from tui.screens.time_picker import TimePicker

        typed = "" if self.target is None else time.strftime("%Y-%m-%d %H:%M:%S",
                                                             time.localtime(self.target))
        self.app.push_screen(TimePicker(self.app.source.clock.time(), typed), self._picked)

    def _picked(self, t: float | None) -> None:
        if t is not None:
            self.start(t)

    def start(self, t: float) -> None:
        self.target, self.error = t, ""
        self._ask()
        self.decorate()

    def step_by(self, direction: int) -> None:
        if self.target is None:
            self.app.notify("not rewound: t picks a moment to rewind to", timeout=3)
            return
        now = self.app.source.clock.time()
        t = min(self.target + direction * STEPS.get(self.step, 60.0), now)
        if self.oldest is not None and direction < 0:
            t = max(t, self.oldest)
        if t == self.target:  # said once per burst of presses, not a toast each
            said = "this is now: Esc returns to live" if direction > 0 else \
                "the oldest moment the broker keeps"
            if (said, self.target) != self._said:
                self._said = (said, self.target)
                self.app.notify(said, timeout=3)
            return
        self.target, self.error = t, ""
        self._ask()
        self.decorate()

    def go_live(self) -> None:
        if self.target is None:
            return
        picture = self.model
        self.target = self.shown = self.model = self._asking = None
        self._waiting.clear()
        self.error = ""
        if picture is not None:
            _takes_over(self.app.live_model, picture)
        self.decorate()
        self.app.refresh_views(force=True)

    def blocks(self, op: str) -> bool:
        """Would ``op`` change something (an operator's or admin's op) while rewound?"""
        spec = OPS.get(op)
        return self.target is not None and spec is not None and audited(spec)

    def refusal(self, req_id: str, op: str) -> Reply:
        return Reply(req_id, op, False, error=f"{op}: " + REFUSED.format(what=op))

    def refuse(self, what: str) -> bool:
        """True (and says why) when ``what`` must not run now."""
        if self.target is None:
            return False
        self.app.notify(REFUSED.format(what=what), title="rewind", severity="warning",
                        timeout=5)
        return True

    # ---------------------------------------------------------------- requests
    def _ask(self) -> None:
        if self._asking is not None or self.target is None:
            return  # the reply in flight asks for the newest moment when it lands
        t = self._asking = self.target
        app = self.app
        up = [n for n in app.source.names if app.connections.get(n) == "connected"]
        brokers = up or list(app.source.names)[:1]
        self._replies, self._waiting = {}, set(brokers)
        detail = sorted(app.view_hosts())
        for name in brokers:
            answer = functools.partial(self._answer, t, name)
            app.call("fleet_at", {"ts": t, "detail": detail, "brief_above": DETAIL_ABOVE},
                     answer, brokers=[name], on_error=answer)
        # A request queued for a link that went down may never be answered: never stay
        # "loading" (and deaf to steps) for it.
        app.set_timer(ASK_TIMEOUT_S, functools.partial(self._expire, t))

    def _expire(self, t: float) -> None:
        if self._asking == t:
            self._asking = None
            self._waiting.clear()
            if self.target == t:
                self._refused(f"no reply from the broker in {ASK_TIMEOUT_S:g} s")
            else:
                self._ask()

    def _answer(self, t: float, broker: str, reply: Reply) -> None:
        if t != self._asking or broker not in self._waiting:
            return  # gone live, or a broker that answered already
        self._waiting.discard(broker)
        self._replies[broker] = reply
        if self._waiting:
            return
        self._asking = None
        if self.target is None:
            return
        if self.target != t:  # stepped on meanwhile: only the newest moment matters
            self._ask()
            return
        good = {n: r.result for n, r in self._replies.items()
                if r.ok and isinstance(r.result, dict)}
        if not good:
            error = next((r.error for r in self._replies.values() if r.error), "no reply")
            self._refused(error)
            return
        model = Picture()
        for name, snap in good.items():
            model.apply_snapshot(name, snap)
            self.step = str(snap.get("step") or self.step)
        olds = [s["oldest"] for s in good.values() if isinstance(s.get("oldest"), int | float)]
        self.oldest = min(olds) if olds else None
        _takes_over(model, self.model or self.app.live_model)
        self.model, self.shown, self.error = model, t, ""
        self._moved()

    def _moved(self) -> None:
        """The picture changed: banner, the screen's fetched extras, a repaint."""
        from tui.screens.base import ConsoleScreen

        self.decorate()
        screen = self.app.screen
        if isinstance(screen, ConsoleScreen) and screen.ready:
            screen.moment_changed()
        self.app.refresh_views(force=True)

    def _refused(self, error: str) -> None:
        """The broker would not rebuild that moment: stay where we were, say why."""
        text = error.split(": ", 1)[1] if error.startswith("fleet_at: ") else error
        if self.model is None:  # the first picture: nothing to stay on
            self.target = None
            self.app.notify(text, title="rewind", severity="error", timeout=8)
        else:
            self.target, self.error = self.shown, text
            self.app.notify(text, title="rewind", severity="warning", timeout=5)
        self.decorate()

    # ---------------------------------------------------------------- banner
    def decorate(self, screen: Screen[Any] | None = None) -> None:
        """Show (or remove) the banner on ``screen`` (the current one by default)."""
        from tui.screens.base import ConsoleScreen

        screen = screen or self.app.screen
        if not isinstance(screen, ConsoleScreen):
            return
        found = screen.query(RewindBanner)
        if self.target is None:
            found.remove()
            return
        banner = found.first() if found else None
        if banner is None:
            banner = RewindBanner(id="rewind-banner")
            screen.mount(banner, before=0)
        unknown = sum(1 for h in self.model.hosts.values() if h.status == "unknown") \
            if self.model is not None else 0
        banner.show(Rewound(self.target, self.shown, self.step, self._asking is not None,
                            self.error, unknown))

class Picture(FleetModel):
    """The fleet at a past moment. An alert shows its own value (as its last event before
    the moment had it), not its host's metric: that is a minute's average, which can sit
    on the other side of the threshold from the sample that moved the alert."""

    def live_value(self, alert: dict[str, Any]) -> float | None:
        return None


def _takes_over(model: FleetModel, previous: FleetModel) -> None:
    """``model`` replaces ``previous`` on screen: every version it reports must differ from
    what the widgets last saw (of either), so they rebuild rather than patch."""
    model.hosts_version = max(model.hosts_version, previous.hosts_version) + 1
    model.alerts_version = max(model.alerts_version, previous.alerts_version) + 1
    model.events_version = max(model.events_version, previous.events_version) + 1
    model.dirty_hosts.update(model.hosts)


F = TypeVar("F", bound=Callable[..., None])


def live_only(what: str) -> Callable[[F], F]:
    """An App action refused (with a line saying why) while rewound."""
    def wrap(action: F) -> F:
        @functools.wraps(action)
        def run(app: Any, *args: Any) -> None:
            if not app.rewind.refuse(what):
                action(app, *args)
        return run  # type: ignore[return-value]
    return wrap
