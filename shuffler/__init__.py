"""The shuffler daemon (`goloop shuffle`): selfplay rows -> KataGo's shuffled training window.

`config` (the keys, KataGo's names), `window` (KataGo's window formula and file choice, pure),
`scan` (files, cached row counts, corrupt-file memory), `external` (the bounded-memory two-pass
shuffle in worker processes), `daemon` (the loop: scan, shuffle, publish by rename, clean up).
Imports `common/` only.
"""
