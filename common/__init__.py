"""What every goloop daemon shares, in layers; a layer imports only the layers above it here.

* `go/` — the game: board, rules and history, pass-alive area, ladders, coordinates,
  symmetries, SGF. Imports nothing else of goloop.
* `nn/` — the network: input features, the model, KataGo model files, the evaluator and its
  output post-processing. Imports `go/`.
* `search/` — KataGo's MCTS: the Cython core, its parameters, the Python `Searcher` and the
  reports it fills. Imports `go/` and `nn/`.
* `files/` — files one daemon writes and another reads: training-data npz, model polling.
  Imports `go/` and `nn/` at most.
* `play/` — playing whole games with KataGo's search, for every daemon that plays them:
  game-start draws, komi fairing, the coroutine scheduler that batches many games' searches
  onto one forward pass per net. Imports `go/`, `nn/` and `search/`.

The modules directly in `common/` are process plumbing any layer may use: configuration
(`config`), logging (`logs`), CPU threads and devices (`runtime`), atomic writes (`atomicfile`).
Daemons (selfplay/, shuffler/, trainer/, exporter/, gatekeeper/) and front-ends (engine/)
import `common/`; `common/` never imports them.
"""
