"""The exporter daemon: training checkpoints in, KataGo model directories out.

Imports common/ only (the checkpoint reader and the model-file writer live there).
`publish.py` exports one checkpoint; `daemon.py` polls and loops; `config.py` its keys.
"""
