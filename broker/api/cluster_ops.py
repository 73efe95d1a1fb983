"""Control ops of the cluster (broker/cluster/): sync, the cluster view, and the peer ops
brokers replicate through (role ``peer``)."""

from __future__ import annotations

from typing import Any

from broker.api.args import RequestError
from broker.api.args import req_str as _req_str


class ClusterOps:
    """Mixed into broker/api/control.Control (``self.system``)."""

    system: Any

    def sync(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.system.sync()

    def cluster(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.system.cluster_status()

    def _node(self, args: dict[str, Any] | None = None) -> Any:
        if self.system.cluster is None:
            raise RequestError("this broker does not replicate (alerting is off)")
        if args and args.get("endpoint"):
            self.system.member.pair_back(args["endpoint"])
        return self.system.cluster

    def peer_push(self, args: dict[str, Any]) -> dict[str, Any]:
        from broker.cluster.replica import parse_entries

        node = self._node(args)
        sender = _req_str(args, "node")
        entries = parse_entries(args.get("entries"))
        won = node.merge(entries, sender)
        if won:
            self.system.persist_engine()
        return {"node": node.name, "won": won,
                "newer": [e.wire() for e in node.newer_than(entries)]}

    def peer_digest(self, args: dict[str, Any]) -> dict[str, Any]:
        """``summary: true``: each bucket's hash; ``buckets: [i, ...]``: the digest of those
        buckets; neither: the whole digest (what a broker before the summary asks)."""
        from broker.cluster.replica import BUCKETS

        node = self._node(args)
        if args.get("summary"):
            return {"node": node.name, "summary": node.replica.summary()}
        buckets = args.get("buckets")
        if buckets is None:
            return {"node": node.name, "digest": node.replica.digest()}
        if not isinstance(buckets, list) or not all(
                isinstance(b, int) and not isinstance(b, bool) and 0 <= b < BUCKETS
                for b in buckets):
            raise RequestError(f"'buckets' must be a list of integers 0..{BUCKETS - 1}")
        return {"node": node.name, "digest": node.replica.digest(sorted(set(buckets)))}

    def peer_fetch(self, args: dict[str, Any]) -> dict[str, Any]:
        node = self._node()
        keys = args.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise RequestError("'keys' must be a list of strings")
        return {"node": node.name, "entries": [e.wire() for e in node.replica.pick(keys)]}
