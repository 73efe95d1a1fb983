"""The fleet summary line: connection, hosts up/down, alerts by severity, ingest rate."""

from __future__ import annotations

from rich.text import Text

from tui.format import rate
from tui.model import FleetModel
from tui.palette import style
from tui.widgets.panel import Panel

CONN_MARK = {"connected": ("●", "ok"), "connecting": ("◌", "warning"),
             "reconnecting": ("◌", "warning"), "unreachable": ("✕", "critical")}


def worst_state(states: dict[str, str]) -> str:
    """The state to show for several brokers: the worst one ('connecting' before any)."""
    order = ["unreachable", "reconnecting", "connecting", "connected"]
    if not states:
        return "connecting"
    return min(states.values(), key=lambda s: order.index(s) if s in order else 0)


def connection_text(states: dict[str, str]) -> Text:
    """One word for the worst state of all brokers, plus n/m when there are several."""
    worst = worst_state(states)
    mark, kind = CONN_MARK.get(worst, ("?", "plain"))
    text = Text(f"{mark} {worst}", style=style(kind))
    if len(states) > 1:
        up = sum(1 for s in states.values() if s == "connected")
        text.append(f" {up}/{len(states)}")
    return text


class SummaryBar(Panel):
    DEFAULT_CSS = """
    SummaryBar { height: 1; padding: 0 1; background: $boost; }
    """


    def show(self, model: FleetModel, states: dict[str, str], paused: bool) -> None:
        c = model.counts()
        text = connection_text(states)
        text.append("  │ ", style="dim")
        text.append(f"{c['up']} up", style=style("ok") if c["up"] else "")
        text.append(" ")
        text.append(f"{c['down']} down", style=style("critical") if c["down"] else "dim")
        text.append("  │ ", style="dim")
        text.append(f"{c['critical']} crit", style=style("critical") if c["critical"] else "dim")
        text.append(" ")
        text.append(f"{c['warning']} warn", style=style("warning") if c["warning"] else "dim")
        if c["acked"]:
            text.append(f" ({c['acked']} acked)", style="dim")
        for problem in model.store_problems():  # the log cannot write: say so, in red
            text.append("  │ ", style="dim")
            text.append(f"store: {problem}", style=style("critical"))
        ingest = model.ingest_rate()
        if ingest is not None:
            text.append("  │ ", style="dim")
            text.append(f"ingest {rate(ingest)}/s")
        if paused:
            text.append("  ")
            text.append(" PAUSED ", style="reverse bold")
        self.update(text)  # a repaint when it changed, never a layout pass
