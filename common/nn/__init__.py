"""The network: everything between a position and KataGo's numbers for it. Imports `common/go/`.

`features` (Cython) encodes a History as KataGo's V7 inputs; `model` is KataGo's network in
PyTorch and `modelconfigs` its named sizes (b6c96, b18c384nbt, ...); `modelfile/` reads and
writes KataGo's model files; `evaluator` runs batches on a device and post-processes them as
KataGo's NNEvaluator (`nnoutput`); `randomnet` is KataGo's "random" net used before the first
model exists.
"""
