"""The selfplay daemon (built in its own issue; nothing here yet)."""
