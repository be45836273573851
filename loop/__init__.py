"""The one-machine synchronous loop (`goloop loop`) and the run's status screen (`goloop status`).

A front-end, like engine/: it runs the daemons as `goloop` subprocesses and reads what they
write under BASEDIR; it imports common/ and nothing of the daemons. `config.py` its keys,
`stages.py` each stage's command line, `balance.py` the self-balancing, `run.py` the cycles,
`status.py` the status screen.
"""
