"""The chaos suite: real broker processes on loopback, faults injected, bounded time."""
