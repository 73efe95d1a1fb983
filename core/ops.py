"""The control operations: every op's wire name, the least role it needs, where it runs.

Part of the wire contract (``core.protocol`` re-exports it): the broker's control side
dispatches through ``OPS``, monitor-ctl builds its subcommands from it, and the TUI's client
refuses an op that is not in it, so the three cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("agent", "viewer", "operator", "admin", "peer")
# Who may do what: each role may run the ops of its rank and below. An agent runs only ops
# marked "agent" (none yet but its own thresholds); a peer broker reads like a viewer.
ROLE_RANK = {"agent": 0, "viewer": 1, "peer": 1, "operator": 2, "admin": 3}


def allows(role: str, needed: str) -> bool:
    """May a key of ``role`` run an op that needs ``needed``? Peer ops (replication between
    brokers) are for peer keys alone, and admin: a viewer must not inject acks."""
    if needed == "peer":
        return role in ("peer", "admin")
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def audited(op: Op) -> bool:
    """Ops that change something (or take the whole log away) leave an audit event."""
    return ROLE_RANK[op.role] >= ROLE_RANK["operator"]


@dataclass(frozen=True)
class Op:
    """One control operation: its wire name, the least role it needs, where it runs."""

    name: str
    role: str       # the least role that may run it: "agent", "viewer", "operator", "admin"; "peer": brokers of a cluster (and admin) only
    query: bool     # True: runs on the broker's query thread (reads the store), not the core
    help: str

    @property
    def command(self) -> str:
        """The monitor-ctl subcommand: the wire name with - for _."""
        return self.name.replace("_", "-")


# The one list of control operations: the broker dispatches through it, monitor-ctl builds
# its subcommands from it, and the TUI's client refuses an op that is not in it.
OPS: dict[str, Op] = {op.name: op for op in (
    Op("snapshot", "viewer", False, "hosts, latest metrics and active alerts, with the pseq "
                                    "they are consistent with"),
    Op("status", "viewer", False, "broker health: hosts, ingest rate, rejections, components"),
    Op("hosts", "viewer", False, "every host with its last-seen time, latest metrics and top "
                                 "processes"),
    Op("thresholds", "agent", False, "the window-less threshold rules that apply to a host "
                                      "(what an agent's fast path watches; with metric and "
                                      "windowed: a chart's threshold lines)"),
    Op("alerts", "viewer", False, "active and recently resolved alerts"),
    Op("silences", "viewer", False, "active silences"),
    Op("rules", "viewer", False, "loaded alert rules"),
    Op("search", "viewer", True, "search the event log (words, host:, severity:, kind:, since:...)"),
    Op("history", "viewer", True, "a series' 1 min or 1 h rollups (recent: true adds the live "
                                  "samples not yet rolled up)"),
    Op("fleet_at", "viewer", True, "the fleet as it was at a past moment (ts: unix seconds), "
                                   "rebuilt from the rollups and alert episodes: rewind"),
    Op("notifications", "viewer", True, "recent notification deliveries (alert_id: those "
                                        "that carried that alert)"),
    Op("incident", "viewer", True, "one alert with everything around it: silences, "
                                   "inhibitions, notifications, log lines from 5 min before "
                                   "its start, top processes at the start and now, the "
                                   "host's other alerts"),
    Op("ack", "operator", False, "acknowledge an alert"),
    Op("unack", "operator", False, "remove an acknowledgement"),
    Op("silence", "operator", False, "silence alerts matching label matchers "
                                     "(host=web-1 rule=~cpu.*)"),
    Op("unsilence", "operator", False, "remove a silence"),
    Op("forget", "operator", False, "retire a host: its alerts resolve and it leaves the host "
                                    "list (it comes back if it sends again)"),
    Op("simulate", "operator", False, "inject a simulated alert (high_cpu_usage, disk_full, "
                                      "host_down...)"),
    Op("push", "operator", False, "push metrics for a host (a script's, a cron job's): "
                                  "push web-1 queue.depth=42 jobs.failed=0"),
    Op("reload", "admin", False, "reload rules, inhibitions, receivers, routes and templates "
       "(a bad file keeps the old configuration and says why)"),
    Op("sync", "admin", True, "a full exchange with every peer broker now; what differed"),
    Op("cluster", "viewer", False, "peer brokers: health, replication lag, last anti-entropy"),
    Op("peer_push", "peer", False, "(between brokers) merge replicated entries"),
    Op("peer_digest", "peer", False, "(between brokers) bucket hashes, or the keys and stamps of some buckets or all"),
    Op("peer_fetch", "peer", False, "(between brokers) the entries for some keys"),
    Op("export", "admin", True, "export events as JSON lines or CSV"),
    Op("test_notify", "admin", True, "send a test notification to a receiver"),
)}

