"""Shared by every process: protocol, config, clock, supervisor, keys. Never imports textual."""
