"""Small modal dialogs: acknowledge, silence, simulate, and an event's details."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static, TextArea

from tui.format import alert_value, printable
from tui.screens.base import OnceModal

DURATIONS = ["30m", "1h", "2h", "4h", "8h", "1d", "1w"]


class Dialog(OnceModal[dict[str, Any] | None]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:
        raise NotImplementedError

    def buttons(self, ok: str) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button(ok, id="ok", variant="primary", compact=True)
            yield Button("Cancel", id="cancel", compact=True)


class AckDialog(Dialog):
    """`a`: acknowledge, with an optional comment and a sticky flag."""

    def __init__(self, alert: dict[str, Any]) -> None:
        super().__init__()
        self.alert = alert

    def compose(self) -> ComposeResult:
        a = self.alert
        with Vertical(classes="dialog") as box:
            box.border_title = "Acknowledge"
            yield Label(f"{a.get('severity', '').upper()} {a['rule']} on {a['host']} "
                        f"{alert_value(a)}", classes="what", markup=False)
            yield Input(placeholder="comment (optional)", id="comment")
            yield Checkbox("sticky (stays acked if it fires again)", id="sticky", compact=True)
            yield from self.buttons("Acknowledge")

    def submit(self) -> None:
        self.dismiss({"comment": self.query_one("#comment", Input).value.strip(),
                      "sticky": self.query_one("#sticky", Checkbox).value})


class ForgetDialog(Dialog):
    """`F` on the dashboard: retire a host (its alerts resolve, it leaves the list)."""

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Forget host"
            yield Label(f"Forget {printable(self.host)}? Its alerts resolve and it leaves the "
                        "host list until it reports again.", classes="what", markup=False)
            yield from self.buttons("Forget")

    def submit(self) -> None:
        self.dismiss({})


class SilenceDialog(Dialog):
    """`x`: silence alerts matching matchers (prefilled from the selection) for a while."""

    def __init__(self, matchers: list[str]) -> None:
        super().__init__()
        self.matchers = matchers

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Silence"
            yield Label("matchers (key=value, key!=value, key=~regex), space separated")
            yield Input(" ".join(self.matchers), id="matchers")
            with Horizontal(classes="row"):
                yield Label("for ")
                yield Select([(d, d) for d in DURATIONS], value="2h", allow_blank=False,
                             id="duration", compact=True)
            yield Input(placeholder="comment (optional)", id="comment")
            yield from self.buttons("Silence")

    def submit(self) -> None:
        matchers = self.query_one("#matchers", Input).value.split()
        if not matchers:
            self.notify("a silence needs at least one matcher", severity="error")
            return
        self.dismiss({"matchers": matchers,
                      "duration": str(self.query_one("#duration", Select).value),
                      "comment": self.query_one("#comment", Input).value.strip()})


class SimulateDialog(Dialog):
    """`s`: pick a scenario, then a host (prefilled with the selected one)."""

    def __init__(self, scenarios: list[str], host: str) -> None:
        super().__init__()
        self.scenarios, self.host = scenarios, host

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Simulate an alert"
            yield Label("scenario")
            yield OptionList(*self.scenarios, id="scenario")
            yield Label("host")
            yield Input(self.host, placeholder="host name", id="host")
            yield from self.buttons("Simulate")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#host", Input).focus()

    def submit(self) -> None:
        picker = self.query_one("#scenario", OptionList)
        index = picker.highlighted if picker.highlighted is not None else 0
        self.dismiss({"name": self.scenarios[index],
                      "host": self.query_one("#host", Input).value.strip()})


TIME_KEYS = ("ts", "started_at", "updated_at", "resolved_at", "expires", "created_at",
             "ends_at", "starts_at", "last_seen")


def detail_lines(record: dict[str, Any], indent: int = 0) -> list[str]:
    """A record for people: times as dates, nested maps as indented ``key: value`` lines,
    lists as comma-separated values; no raw JSON, no raw unix times."""
    pad = " " * indent
    lines = []
    for key, value in record.items():
        if key in TIME_KEYS and isinstance(value, int | float) and not isinstance(value, bool):
            value = datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, dict):
            lines.append(f"{pad}{key:>12}:" + ("" if value else " -"))
            lines += detail_lines(value, indent + 4)
            continue
        if isinstance(value, list):
            value = ", ".join(json.dumps(v, default=str) if isinstance(v, dict | list) else str(v)
                              for v in value) or "-"
        elif value is None or value == "":
            value = "-"
        lines.append(f"{pad}{key:>12}  {value}")
    return lines


class DetailDialog(OnceModal[None]):
    """`enter` on an event: every field of it."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Close"), Binding("enter", "dismiss(None)")]

    def __init__(self, title: str, record: dict[str, Any]) -> None:
        super().__init__()
        self.title_text, self.record = title, record

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog detail") as box:
            box.border_title = Content(self.title_text)
            yield Static(printable("\n".join(detail_lines(self.record))), classes="fields",
                         markup=False)
            yield Button("Close", id="close", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


class SummaryDialog(OnceModal[None]):
    """`c` in the incident view: the ticket summary, already copied with OSC 52, shown for a
    terminal that ignores OSC 52 (select it with the mouse, shift+drag in most terminals)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog detail summary") as box:
            box.border_title = "Summary for a ticket"
            yield Label("Copied (OSC 52). Terminal without OSC 52? Select the text below.",
                        classes="what")
            area = TextArea(self.text, read_only=True, soft_wrap=True, id="summary",
                            show_line_numbers=False)
            yield area
            yield Button("Close", id="close", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)
