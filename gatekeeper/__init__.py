"""The gatekeeper: tests candidate nets, plays matches and rates the run (KataGo's gatekeeper,
match and the training site's Bayesian Elo).

Modules: config.py (KataGo's keys and defaults), gamesetup.py (board, rules, colours, fair
komi), arena.py (many games at once on batched searches; net and GTP-engine players),
gtpclient.py (a GTP subprocess), records.py (game lines and SGFs), daemon.py (`goloop
gatekeeper`), match.py (`goloop match`), ratings.py (the Bayesian Elo fit, pure) and
ladder.py (`goloop ratings`: inputs from BASEDIR, ratings.json and the plot). Imports common/
only.
"""
