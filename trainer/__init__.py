"""The trainer daemon: `goloop train` (KataGo's train.py) and `goloop validate`.

Trains the net of common/nn on the newest shuffled data with KataGo's loss, optimizer,
lookahead, EMA, warmup and train bucket, and writes checkpoints in KataGo's layout (so KataGo's
train.py resumes them and its exporter exports them, and goloop resumes KataGo's). Modules by
job: config (train.py's flags), datafiles (which files), data (npz -> batches), loss (one
function per term), optim (groups, schedule, lookahead, EMA), bucket (train-bucket arithmetic),
paramnames (KataGo's names and config dicts), checkpoint (both ways), warmstart (from model
files), state (start or resume a run), metricslog (TensorBoard, metrics.jsonl), daemon (the
loop), validate.

Imports: common only (never another daemon or engine/).
"""
