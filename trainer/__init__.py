"""The trainer daemon (built in its own issue; nothing here yet)."""
