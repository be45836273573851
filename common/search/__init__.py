"""KataGo's Monte-Carlo tree search. Imports `common/go/` and `common/nn/`.

`core` (Cython) is the search itself, exact against KataGo's visit counts: node graph, PUCT
selection, value backup, leaf batching, play selection and reports; `math_tables` the numeric
tables KataGo's utilities interpolate; `params` KataGo's SearchParams; `searcher` the Python
face (one search, or many sharing NN batches); `reports` what a search reports (analysis rows,
root info) for GTP, the analysis engine and selfplay.

Notation: N = visits, W = weight (visits scaled by uncertainty), U = utility (win/loss plus
score terms, White's view inside the tree), P = policy prior; PUCT picks the child maximizing
U + cpuct * P * sqrt(N_parent) / (1 + N_child), with KataGo's refinements.
"""
