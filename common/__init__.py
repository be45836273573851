"""Shared building blocks every daemon imports: board, rules, SGF, config (later features, model, search)."""
