"""The gatekeeper: tests candidate nets, plays matches and rates the run (KataGo's gatekeeper,
match and the training site's Bayesian Elo).

Modules: config.py (KataGo's keys and defaults), gamesetup.py (a game's start, colours),
arena.py (one game between two players; net and GTP-engine players), gtpclient.py (a GTP
subprocess), records.py (game lines and SGFs), daemon.py (`goloop gatekeeper`), match.py
(`goloop match`), ratings.py (the Bayesian Elo fit, pure) and ladder.py (`goloop ratings`:
inputs from BASEDIR, ratings.json and the plot). Imports common/ only; the scheduler, the
game-start draws and the komi searches it shares with selfplay are in common/play/.
"""
