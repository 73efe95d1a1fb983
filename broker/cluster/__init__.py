"""Broker pairs and sharded fleets: replicated operator state, anti-entropy, claims.

See docs/cluster.md. ``hlc`` orders changes across brokers, ``replica`` holds them as
last-writer-wins entries, ``effects`` turns entries into engine changes and local events
into entries, ``node`` is the per-broker cluster member (core-thread state), and ``links``
is the thread that talks to the peers over their control sockets.
"""
