"""Gauges with sparklines for one host: CPU, memory, swap, busiest disk and network."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.format import SEV_LABEL, age, bar, chart, level, pct, rate, sparkline
from tui.model import HostView
from tui.palette import style


def gauge_lines(host: HostView | None, width: int, now: float,
                thresholds: dict[str, tuple[float, float]] | None = None,
                tall: bool = False) -> Text:
    """The gauge block as text: a title line, then one line per gauge.

    ``tall`` (wide terminals) puts a two-row history chart under each gauge instead.
    """
    if host is None:
        return Text("no host selected", style="dim")
    m, info = host.metrics, host.info
    title = Text(host.name, style="bold")
    bits = [host.status if host.status == "down" else "up"]
    if info.get("cores") or m.get("cpu.count"):
        bits.append(f"{int(info.get('cores') or m.get('cpu.count') or 0)} cores")
    if "load.1" in m:
        bits.append("load " + " ".join(f"{m.get(f'load.{n}', 0):.1f}" for n in (1, 5, 15)))
    if "uptime" in m:
        bits.append(f"uptime {age(m['uptime'])}")
    if host.status == "down":
        bits.append(f"last seen {age(now - host.last_seen)} ago")
    title.append("  " + " · ".join(bits),
                 style=style("critical") if host.status == "down" else "dim")
    lines = [title]
    bar_w = max(6, min(24, (width - 20) // 3))
    if tall:
        bar_w = max(6, width - 17)
    spark_w = max(0, width - 6 - bar_w - 11)
    disk_name, disk = host.busiest_disk()
    disk_label = "disk " + disk_name[5:-8] if disk_name else "disk"
    rows = [("cpu", "cpu", m.get("cpu.percent"), host.history.get("cpu.percent", ())),
            ("mem", "mem", m.get("mem.percent"), host.history.get("mem.percent", ())),
            ("swap", "swap", m.get("swap.percent"), host.history.get("swap.percent", ())),
            ("disk", disk_label, disk, host.history.get(disk_name, ()))]
    for family, label, value, hist in rows:
        lvl = level(family, value, thresholds)
        style_, bar_style = style(lvl), style(f"bar-{lvl}")
        line = Text(f"{label[:5]:<5} ")
        line.append(bar(value, bar_w), style=bar_style)
        line.append(f" {pct(value):>4} ", style=style_)
        line.append(f"{SEV_LABEL.get(lvl, ''):<4} ", style=style_)
        if tall:
            lines.append(line)
            lines += [Text("      " + row, style=bar_style)
                      for row in chart(list(hist), width - 6, 2, hi=100.0)]
            continue
        line.append(sparkline(hist, spark_w, lo=0.0, hi=100.0), style=bar_style)
        lines.append(line)
    rx, tx = host.net("rx"), host.net("tx")
    net = Text("net   ")
    net.append(f"rx {rate(rx):>5}/s tx {rate(tx):>5}/s ", style=style("accent"))
    used = len(net.plain)
    if tall:
        lines.append(net)
        lines += [Text("      " + row, style=style("accent"))
                  for row in chart(host.net_history("rx"), width - 6, 2)]
    else:
        net.append(sparkline(host.net_history("rx"), max(0, width - used), lo=None),
                   style=style("accent"))
        lines.append(net)
    return Text("\n").join(lines)


class HostGauges(Static):
    """Shows ``gauge_lines`` for the host it is given; repaints only when told to."""

    DEFAULT_CSS = """
    HostGauges { height: 6; padding: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.host: HostView | None = None
        self.now = 0.0
        self.thresholds: dict[str, tuple[float, float]] | None = None

    def show(self, host: HostView | None, now: float,
             thresholds: dict[str, tuple[float, float]] | None = None) -> None:
        self.host, self.now, self.thresholds = host, now, thresholds
        self.refresh()

    def render(self) -> Text:
        return gauge_lines(self.host, self.content_size.width or 78, self.now, self.thresholds,
                           tall=self.content_size.height >= 16)
