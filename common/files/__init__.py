"""Files one daemon writes and another reads, in KataGo's formats. Imports `common/go/` and
`common/nn/` at most.

`trainingdata` is KataGo's training-data npz (selfplay writes it, the shuffler and trainer read
it); `modelpoll` finds the newest model in a models directory as KataGo's engines do.
"""
