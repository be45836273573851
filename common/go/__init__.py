"""The game of Go as KataGo plays it: the lowest layer, importing nothing else of goloop but the
plumbing in `common/` (atomic writes for SGF files).

`board` (Cython) is the position and its moves; `history` the game under a rule set (ko,
superko, scoring, encore, button) as KataGo's BoardHistory; `area` pass-alive and scoring areas;
`ladder` ladder reads for the input features; `rules` the rule sets and their names;
`coords` GTP/SGF coordinates; `symmetry` the eight board symmetries; `sgf` game records;
`playout` random playouts (the board bench); `pyboard` a plain-Python board, the oracle the
Cython board is property-tested against.

Notation used throughout: a point is (x, y) with y = 0 the top row (GTP row = size - y), a
pass is None; colours are BLACK = 1 and WHITE = 2 as in KataGo.
"""
