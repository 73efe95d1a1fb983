"""Event log (3): live tail, search with the event log's query language, severity/kind chips."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Checkbox, DataTable, Header, Input, Label, Static
from textual.widgets.data_table import ColumnKey

from core.protocol import SEVERITIES
from tui.format import clock, printable
from tui.palette import style
from tui.screens.base import ConsoleScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.rows import RowTable

PAGE = 100
TAIL_ROWS = 200  # the live tail: newest first; older events are a search away
# the kind and host columns fit the longest value shown, within these bounds
FIT = {"kind": (6, 16), "host": (6, 24)}
KINDS = ("alert", "ack", "host", "log", "other")
# the table's keys taken as they arrive (EventsScreen.key_arrived), with enter
TABLE_KEYS = {"up": "cursor_up", "down": "cursor_down", "pageup": "page_up",
              "pagedown": "page_down", "home": "first_row", "end": "last_row"}


def kind_group(kind: str) -> str:
    if kind in ("alert", "simulate"):
        return "alert"
    if kind in ("ack", "unack", "silence", "unsilence"):
        return "ack"
    if kind.startswith("host."):
        return "host"
    return "log" if kind == "log" else "other"


class EventTable(RowTable):
    """The event rows; tells the screen when it is scrolled near the end (mouse or keys), and
    which event was chosen (a click on the cursor row; enter is taken as it arrives, see
    ``EventsScreen.key_arrived``) when it was chosen."""

    @dataclass
    class NearEnd(Message):
        pass

    @dataclass
    class Chosen(Message):
        event: dict[str, Any]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: list[dict[str, Any]] = []  # the event of each row, as shown

    def post_message(self, message: Message) -> bool:
        """DataTable's RowSelected names a row, and the screen read the row when it handled
        the message: new events filled in meanwhile (a repaint between the click and its
        RowSelected) had shifted the rows, and another event opened. The event under the
        cursor is taken here, when the table handles the click."""
        if isinstance(message, DataTable.RowSelected) and message.data_table is self:
            if not 0 <= message.cursor_row < len(self.events):
                return False
            message = self.Chosen(self.events[message.cursor_row])
        return super().post_message(message)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.max_scroll_y and new_value >= self.max_scroll_y - 2:
            self.post_message(self.NearEnd())


class EventsScreen(ConsoleScreen):
    CSS_PATH = "events.tcss"
    AUTO_FOCUS = "#events"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="/ search: host:web-* severity:>=warning kind:alert text "
                    "(esc: live tail)", id="query", compact=True)
        yield Static(id="query-error")
        with Horizontal(id="chips"):
            for sev in SEVERITIES:
                yield Checkbox(sev[:4], True, id=f"sev-{sev}", compact=True)
            yield Label("│")
            for kind in KINDS:
                yield Checkbox(kind, True, id=f"kind-{kind}", compact=True)
        yield EventTable(id="events", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#events", DataTable)
        table.add_column("time", key="time", width=8)
        table.add_column("sev", key="sev", width=4)
        table.add_column("kind", key="kind", width=FIT["kind"][0])
        table.add_column("host", key="host", width=FIT["host"][0])
        table.add_column("message", key="message")
        self.results: list[dict[str, Any]] | None = None  # None: live tail
        self.query_text = ""
        self.more = False
        self.searching = False  # a page is being fetched (not ``loading``: Textual's spinner)
        self.error = ""  # the broker's refusal of the last query, shown under the box
        self._shown_version = -1
        self._rows: list[dict[str, Any]] = []
        self._asked = ""  # the query of the search in flight (or last answered)
        self.query_one("#query-error").display = False
        self.ready = True
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if not self.resumable:
            return
        self.refresh_data()

    @property
    def live(self) -> bool:
        return self.results is None

    def _wanted(self, event: dict[str, Any]) -> bool:
        sev = event.get("severity", "info")
        sev_ok = self.query_one(f"#sev-{sev}", Checkbox).value if sev in SEVERITIES else True
        return sev_ok and self.query_one(f"#kind-{kind_group(event.get('kind', ''))}",
                                         Checkbox).value

    def refresh_data(self, force: bool = False) -> None:
        app = self.console
        if self.live and (force or app.model.events_version != self._shown_version):
            self._shown_version = app.model.events_version
            events = list(app.model.events)[-TAIL_ROWS:]
            events.reverse()
            self._fill(events)
        elif force and self.results is not None:
            self._fill(self.results)
        if self.live and app.rewind.active:  # the model is the picture at the moment
            mode = "events up to the moment shown"
        elif self.live:
            mode = "live tail"
            if app.model.events_dropped:  # a flood: the newest are shown, all are stored
                mode += f" · {app.model.events_dropped:,} more not shown (/ searches them)"
        elif self.searching and not self._rows:
            mode = f"searching {self.query_text!r}…"
        else:
            mode = f"{len(self._rows)} results for {self.query_text!r}"
        self.query_one("#events", DataTable).border_title = Content(mode)  # no markup

    def _fill(self, events: list[dict[str, Any]]) -> None:
        """Show ``events`` (the tail or a first page). Usually as many rows as shown: the
        cells are replaced in place (new events shift every row down)."""
        table = self.query_one("#events", EventTable)
        keep = table.cursor_row
        wanted = self._fit([e for e in events if self._wanted(e)])
        # the cursor stays on the event it is on as new ones push the rows down; on the top
        # row it stays on top, following the newest as a tail does
        reading = self.selected_event() if keep > 0 else None
        rows = [self._cells(e) for e in wanted]
        if not table.replace_rows(rows):
            table.clear()
            for cells in rows:
                table.add_row(*cells)
        self._rows = table.events = wanted
        if reading is not None:
            keep = next((y for y, e in enumerate(wanted) if e is reading or (
                e.get("id") and e.get("id") == reading.get("id"))), keep)
        if self._rows:
            table.move_cursor(row=min(keep, len(self._rows) - 1), animate=False)

    def _append(self, events: list[dict[str, Any]]) -> None:
        table = self.query_one("#events", EventTable)
        for event in self._fit([e for e in events if self._wanted(e)]):
            table.add_row(*self._cells(event))
            self._rows.append(event)

    def _fit(self, wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
        table = self.query_one("#events", EventTable)
        for key, (lo, hi) in FIT.items():
            column = table.columns[ColumnKey(key)]
            texts = [printable(e.get(key, "")) for e in wanted]
            table.fit_column(key, texts, max(lo, column.width), hi)  # grows as pages come
        return wanted

    def _cells(self, event: dict[str, Any]) -> list[Any]:
        sev = event.get("severity", "info")
        return [Text(clock(event.get("ts", 0.0)), style="dim"),
                Text(sev[:4].upper(), style="" if sev == "info" else style(sev)),
                Text(event.get("kind", ""), style=style("accent")),
                Text(printable(event.get("host", ""))),
                Text(printable(event.get("message", "")))]

    # ---------------------------------------------------------------- search
    def focus_search(self) -> bool:
        self.query_one("#query", Input).focus()
        return True

    def run_query(self, query: str) -> None:
        """Search for ``query`` as if typed in the box (the incident view's `e`)."""
        self.query_one("#query", Input).value = query
        self.show_error("")
        self._search(None, query=query)
        self.query_one("#events", DataTable).focus()

    def show_error(self, error: str) -> None:
        self.error = error
        box = self.query_one("#query-error", Static)
        box.update(Text(printable(error), style=style("critical")))
        box.display = bool(error)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value.strip()
        if query == self._asked and self.searching:
            return  # the same search is on its way
        self.show_error("")
        if not query:
            self.query_text = self._asked = ""
            self.searching = False
            self.results = None
            self.refresh_data(force=True)
            return
        self._search(None, query=query)
        self.query_one("#events", DataTable).focus()

    def _search(self, before_ts: float | None, before_seq: int | None = None,
                query: str | None = None) -> None:
        """A first page (``query`` given: the results so far stay until it answers) or the
        next, older page of the current query."""
        query = self.query_text if query is None else query
        self.searching = True
        self._asked = query
        args: dict[str, Any] = {"query": query, "limit": PAGE}
        if before_ts is not None:
            args["before_ts"] = before_ts
        if before_seq is not None:  # exact: events sharing a timestamp are not skipped
            args["before_seq"] = before_seq
        self.console.call("search", args, lambda r: self._got_page(query, before_ts, r.result),
                          on_error=lambda r: self._refused(query, r.error))
        self.refresh_data()

    def _refused(self, query: str, error: str) -> None:
        """The broker refused the query: say why under the box, keep what was shown."""
        if query != self._asked:
            return
        self.searching = False
        self.show_error(error or "search failed")
        self.query_one("#query", Input).focus()  # to correct it
        self.refresh_data()

    def _got_page(self, query: str, before_ts: float | None, events: Any) -> None:
        if query != self._asked:
            return  # an older search answered late
        self.searching = False
        if before_ts is None:
            self.query_text = query
            self.results = []
        if self.results is None:
            return
        events = events if isinstance(events, list) else []
        self.more = len(events) >= PAGE
        if before_ts is None:
            self.results = list(events)
            self._fill(self.results)
        else:
            self.results.extend(events)
            self._append(events)
        self.refresh_data()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Results page as you scroll: reaching the last row fetches the next, older page.
        if event.cursor_row >= len(self._rows) - 1:
            self._next_page()

    def on_event_table_near_end(self, event: EventTable.NearEnd) -> None:
        self._next_page()

    def _next_page(self) -> None:
        if not self.live and self.more and not self.searching and self._rows:
            last = self._rows[-1]
            seq = last.get("seq")
            self._search(float(last.get("ts", 0.0)),
                         seq if isinstance(seq, int) and not isinstance(seq, bool) else None)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.refresh_data(force=True)

    def step_back(self) -> bool:
        box = self.query_one("#query", Input)
        if self.results is not None or box.value or self.error or self.searching:
            box.value = ""
            self.query_text = self._asked = ""
            self.searching = False
            self.show_error("")
            self.results = None
            self.refresh_data(force=True)
            self.query_one("#events", DataTable).focus()
            return True
        return False

    # ---------------------------------------------------------------- open
    def key_arrived(self, key: str) -> bool:
        """The table's keys act as they reach the app, in order with the repaints. Left to
        the table's bindings, a key ran after the DOM had passed it up to the app, and a
        repaint queued meanwhile had shifted new events under the cursor: enter opened
        another event than the one highlighted. The cursor keys are taken here too, so a
        burst (`down enter`) still moves, then opens."""
        table = self.query_one("#events", EventTable)
        if self.focused is not table:
            return False
        if key == "enter":
            event = self.selected_event()
            if event is not None:
                self.open_event(event)
            return True
        action = TABLE_KEYS.get(key)
        if action is None:
            return False
        getattr(table, f"action_{action}")()
        return True

    def on_event_table_chosen(self, message: EventTable.Chosen) -> None:
        message.stop()
        if self.app.screen is self:  # a key after the enter (1, /) already took us away
            self.open_event(message.event)

    def selected_event(self) -> dict[str, Any] | None:
        row = self.query_one("#events", DataTable).cursor_row
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def selected_alert(self) -> dict[str, Any] | None:
        event = self.selected_event()
        if event and event.get("alert_id"):
            return self.console.model.alerts.get(event["alert_id"])
        return None

    def open_selected(self) -> None:
        event = self.selected_event()
        if event is not None:
            self.open_event(event)

    def open_event(self, event: dict[str, Any]) -> None:
        from tui.screens.dialogs import DetailDialog
        self.app.push_screen(DetailDialog(f"event {event.get('kind', '')}", event))
