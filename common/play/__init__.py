"""Playing whole games with KataGo's search. Imports `common/go/`, `common/nn/` and
`common/search/` (and the plumbing directly in `common/`).

What the daemons that play games (selfplay, the gatekeeper and `goloop match`) share, once:

* `scheduler` — the coroutine scheduler: many games in one process, each a generator that
  yields the searches (or GTP replies) it waits on, and one forward pass per net per step
  carrying a leaf of every waiting search;
* `gamestart` — the draws that start a game before any net looks at it (KataGo's
  GameInitializer): board size with KataGo's rectangle rule, the rules;
* `komi` — komi arithmetic: KataGo's rounding and clip, the noised komi (setKomiWithNoise);
* `fairkomi` — komi fairing by short searches with one net or two (adjustKomiToEven) and the
  lead estimate built on it (computeLead), with KataGo's noiseless search params;
* `gamekeys` — the config keys and checks every game-playing daemon's config shares (search
  keys, board sizes, rule lists);
* `seeds` — the process Generator from a config seed, KataGo's random hex names.

What only one daemon does (selfplay's komi randomization, handicap, forks; the gatekeeper's
players and colour dealing) stays in that daemon.
"""
