"""`goloop train`: KataGo's train.py loop, read top to bottom (model-architecture.md §6-§7,
shuffler-and-window.md §8, directory-protocol.md).

Per epoch: take the newest shuffle (wait for one, or quit with quit_if_no_data), take one epoch
out of the train bucket (wait, or exit with stop_when_train_bucket_limited), set LR and weight
decay, then per sub-epoch choose files and train on their batches: forward, KataGo's loss x
world size, backward, clip, SGD step, counters, LR/WD refresh, lookahead sync, EMA snapshot.
After the epoch: lookahead discards the unsynced steps, validation on the shuffle's val/ files,
an export every epochs_per_export epochs, and the rotated checkpoint.

SIGINT/SIGTERM: the current step finishes, the epoch ends as epochs end (fast weights := slow),
files not yet read go back to the queue and the unused samples back to the bucket, the
checkpoint is saved, exit 0. Under torchrun every process runs this function (gloo on CPU,
NCCL on CUDA): rank 0 chooses the files and keeps the EMA, validates, exports and saves; the
others follow its decisions.
"""
from __future__ import annotations

import logging
import os
import random
import time

import torch
import torch.distributed as dist

from goloop.common.files.heartbeat import Heartbeat
from goloop.common.logs import kv
from goloop.common.nn.paramnames import intermediate_loss_scales
from goloop.common.runtime import apply_threads, plan_threads, resolve_device
from goloop.common.stopsignal import StopRequest
from goloop.trainer import bucket, checkpoint
from goloop.trainer import data as tdata
from goloop.trainer.datafiles import (
    FileQueue,
    RowCounts,
    files_for_subepoch,
    latest_data_dir,
    read_range,
)
from goloop.trainer.loss import LossScales, batch_metrics, unowned_proportion
from goloop.trainer.metricslog import DeviceAccumulator, Reporter
from goloop.trainer.optim import (
    REFRESH_FAST_UNTIL,
    Lookahead,
    gnorm_cap,
    lr_schedule_factor,
    model_norms,
    parse_lr_schedule,
    refresh,
)
from goloop.trainer.state import Training, checkpoint_state, derived_seed, start

log = logging.getLogger(__name__)


def _broadcast(obj, world: int):
    """Rank 0's value of a picklable object on every rank."""
    if world == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _any_rank(flag: bool, world: int, device) -> bool:
    if world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def _setup_distributed(cfg):
    """(rank, world size, device) from torchrun's environment; one process without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = resolve_device(cfg.device)
    if world > 1:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.startswith("cuda"):
            device = f"cuda:{local}"
            torch.cuda.set_device(local)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return rank, world, torch.device(device)


def run_train(cfg, progress: bool = True) -> int:
    """Train until a limit, a stop signal or (with the quit flags) the end of the data; exit code."""
    rank, world, device = _setup_distributed(cfg)
    cuda = device.type == "cuda"
    workers = cfg.data_loader_workers if cfg.data_loader_workers is not None else (2 if cuda else 0)
    if device.type == "cpu":
        apply_threads(plan_threads("cpu", cfg.cpu_threads, 1 << 20, workers), log)
    else:
        apply_threads(plan_threads(str(device), None, 1), log)
    use_bf16 = cfg.use_bf16 == "true" or (cfg.use_bf16 == "auto" and cuda)
    use_compile = cfg.compile == "true" or (cfg.compile == "auto" and cuda)
    os.makedirs(cfg.train_dir, exist_ok=True)
    seed = _broadcast(cfg.seed if cfg.seed is not None else random.SystemRandom().randrange(1 << 62), world)
    t: Training = start(cfg, device, rank, seed)
    ts = t.train_state
    seed = int(ts["goloop_seed"])
    model = t.model
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    scales = LossScales(cfg.soft_policy_weight_scale, cfg.value_loss_scale, tuple(cfg.td_value_loss_scales),
                        cfg.seki_loss_scale, cfg.variance_time_loss_scale, cfg.disable_optimistic_policy,
                        *intermediate_loss_scales(model.config, cfg.main_loss_scale, cfg.intermediate_loss_scale))
    mult, version, norm_kind = model.config.multipliers, model.config.version, model.config.norm_kind
    schedule = parse_lr_schedule(cfg.lr_schedule) if cfg.lr_schedule else None
    batch_total = cfg.batch_size * world
    train_model = torch.compile(model) if use_compile else model
    if world > 1:
        train_model = torch.nn.parallel.DistributedDataParallel(
            train_model, device_ids=[device.index] if cuda else None, broadcast_buffers=False)
    params = [p for g in t.optimizer.param_groups for p in g["params"]]
    lookahead = Lookahead(params, cfg.lookahead_k, cfg.lookahead_alpha) if cfg.lookahead_enabled else None
    bucket.init_bucket(ts, cfg.max_train_bucket_per_new_data, cfg.samples_per_epoch)
    queue = FileQueue(ts, cfg.no_repeat_files)
    rows_of = RowCounts()
    reporter = Reporter(cfg.train_dir, rank == 0)
    beat = Heartbeat(cfg.base_dir or cfg.train_dir, "trainer" if world == 1 else f"trainer{rank}")
    acc = DeviceAccumulator(t.running_metrics)
    stop = StopRequest("finishing the step, then saving a checkpoint", log).install()
    log.info("training", extra=kv(rank=rank, world_size=world, device=str(device), bf16=use_bf16,
                                  compile=use_compile, data_workers=workers, model=cfg.model_kind,
                                  params=sum(p.numel() for p in params), samples=ts["global_step_samples"],
                                  seed=seed))

    def lr_factor() -> float:
        return cfg.lr_scale * lr_schedule_factor(ts["global_step_samples"], cfg.lr_scale_auto,
                                                 cfg.lr_scale_auto2, schedule)

    def do_refresh():
        rm = t.running_metrics
        norms = {k: rm["sums"][k] / rm["weights"][k] for k in ("norm_normal_batch", "norm_input_batch")
                 if rm["weights"].get(k)}
        return refresh(t.optimizer, samples=ts["global_step_samples"], lr_factor=lr_factor(), cfg=cfg,
                       norm_kind=norm_kind, batch_total=batch_total, norms=norms,
                       baselines={"normal": ts["modelnorm_normal_baseline"],
                                  "input": ts["modelnorm_input_baseline"]})

    current = {"dir": None, "val": None}

    def reload_data() -> str:
        """KataGo's maybe_reload_training_data on rank 0: 'ok', 'quit' or 'stop'."""
        while not stop:
            beat.beat(state="waiting for data", samples=ts["global_step_samples"])
            data_dir = os.path.realpath(cfg.datadir) if cfg.datadir else latest_data_dir(cfg.latest_data_parent)
            if data_dir != current["dir"]:
                span = read_range(data_dir) if data_dir and os.path.isdir(data_dir) else None
                if span is None:
                    if cfg.quit_if_no_data:
                        log.info("no shuffled data (train.json) yet: quitting",
                                 extra=kv(dir=data_dir or cfg.latest_data_parent))
                        return "quit"
                    log.info("no shuffled data (train.json) yet: waiting", extra=kv(dir=data_dir or cfg.latest_data_parent))
                    stop.wait(cfg.data_wait_seconds)
                    continue
                current["dir"], current["val"] = data_dir, os.path.join(data_dir, "val")
                ts["window_start_data_row_idx"], ts["total_num_data_rows"] = span
                filled = bucket.refill(ts, span[1], cfg.max_train_bucket_per_new_data,
                                       cfg.max_train_bucket_size, cfg.samples_per_epoch)
                ts["train_steps_since_last_reload"] = 0
                log.info("training data", extra=kv(dir=data_dir, window_start=span[0], total_rows=span[1], **filled))
                rng = random.Random(derived_seed(seed, ts["global_step_samples"], 1))
                if not queue.set_dir(os.path.join(data_dir, "train"), rng):
                    if cfg.quit_if_no_data:
                        log.info("no new training files: quitting", extra=kv(dir=data_dir))
                        return "quit"
                    log.info("no new training files: waiting", extra=kv(dir=data_dir))
                    stop.wait(cfg.data_wait_seconds)
            elif bucket.reload_limited(ts, cfg.max_train_steps_since_last_reload, cfg.samples_per_epoch,
                                       cfg.sub_epochs):
                log.info("trained enough on this shuffle: waiting for a new one",
                         extra=kv(since_reload=ts["train_steps_since_last_reload"]))
                stop.wait(cfg.bucket_wait_seconds)
                continue
            return "ok"
        return "stop"

    def choose_files():
        """Files for one sub-epoch on rank 0: list of paths, 'quit' or 'stop'."""
        while not stop:
            rng = random.Random(derived_seed(seed, ts["global_step_samples"], 2))
            chosen = files_for_subepoch(queue, rows_of, cfg.batch_size, cfg.samples_per_epoch,
                                        cfg.sub_epochs, rng)
            if chosen:
                return [p for p, _ in chosen]
            if cfg.quit_if_no_data:
                log.info("not enough data files to fill a sub-epoch: quitting")
                return "quit"
            log.info("not enough data files to fill a sub-epoch: waiting")
            stop.wait(cfg.bucket_wait_seconds)
            status = reload_data()
            if status != "ok":
                return status
        return "stop"

    epochs_this_instance = 0
    last_longterm = checkpoint.last_longterm_time(cfg.train_dir, time.time())
    save_at_end = False
    try:
        while True:
            if cfg.max_epochs_this_instance is not None and epochs_this_instance >= cfg.max_epochs_this_instance:
                log.info("reached max_epochs_this_instance")
                break
            if cfg.max_training_samples is not None and ts["global_step_samples"] >= cfg.max_training_samples:
                log.info("reached max_training_samples")
                break
            # ---- data and the train bucket (rank 0 decides) -------------------------------------
            decision = "go"
            if rank == 0:
                status = reload_data()
                if status != "ok":
                    decision = status
                elif not bucket.take_epoch(ts, cfg.max_train_bucket_per_new_data, cfg.samples_per_epoch):
                    if cfg.stop_when_train_bucket_limited:
                        log.info("train bucket empty: stopping", extra=kv(bucket=ts["train_bucket_level"]))
                        decision = "quit"
                    else:
                        log.info("train bucket empty: waiting for new data", extra=kv(bucket=ts["train_bucket_level"]))
                        stop.wait(cfg.bucket_wait_seconds)
                        decision = "retry"
            decision = _broadcast("stop" if stop and decision != "quit" else decision, world)
            if decision == "retry":
                continue
            if decision in ("quit", "stop"):
                save_at_end = decision == "stop"
                break

            # ---- one epoch ------------------------------------------------------------------------
            log.info("epoch", extra=kv(epoch=epochs_this_instance, samples=ts["global_step_samples"],
                                       total_rows=ts["total_num_data_rows"],
                                       export_cycle=ts["export_cycle_counter"]))
            lr_now, wd_now = do_refresh()
            batches_this_epoch, samples_this_epoch, outcome = 0, 0, None
            reporter.mark(ts["global_step_samples"])
            for sub in range(cfg.sub_epochs):
                files = None
                if rank == 0:
                    status = reload_data() if sub > 0 else "ok"
                    files = choose_files() if status == "ok" else status
                files = _broadcast(files, world)
                if isinstance(files, str):
                    outcome = files
                    break
                log.info("sub-epoch", extra=kv(files=len(files), first=os.path.basename(files[0])))
                data_seed = derived_seed(seed, ts["global_step_samples"], 3)
                loader = tdata.batch_loader(files, cfg.batch_size, world, rank, cfg.pos_len, data_seed,
                                            workers, pin_memory=cuda, augment=cfg.augment)
                seen_files = set()
                bar = None
                if progress and rank == 0:
                    from tqdm import tqdm
                    bar = tqdm(total=int(round(cfg.samples_per_epoch / cfg.batch_size / cfg.sub_epochs)),
                               unit="batch", desc=f"train s{ts['global_step_samples']}", dynamic_ncols=True,
                               leave=False)
                if lookahead is not None:
                    lookahead.counter = 0
                for ordinal, arrays in loader:
                    seen_files.add(int(ordinal))
                    batch = tdata.to_device(arrays, device, channels_last=cfg.channels_last)
                    is_print = (batches_this_epoch + 1) % cfg.print_every_batches == 0
                    if is_print and rank == 0:
                        norms = model_norms(model, t.layout)   # KataGo records them before the step
                        for group, value in norms.items():
                            t.running_metrics["sums"][f"norm_{group}_batch"] = value
                            t.running_metrics["weights"][f"norm_{group}_batch"] = 1.0
                    t.optimizer.zero_grad(set_to_none=True)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                        out = train_model(batch.binaryInputNCHW, batch.globalInputNC)
                    unowned = None
                    if world > 1:   # the seki average sees every rank's rows, as one big batch would
                        gt = batch.globalTargetsNC
                        mask = batch.binaryInputNCHW[:, 0]
                        unowned = unowned_proportion(batch.valueTargetsNCHW[:, 0], gt[:, 27], mask, mask.sum(dim=(1, 2)))
                        dist.all_reduce(unowned)
                        unowned = unowned / world
                    metrics = batch_metrics(out, batch, mult, version, scales, True, t.seki, world, unowned)
                    loss = metrics["loss_sum"] * world
                    loss.backward()
                    cap = gnorm_cap(norm_kind, cfg.use_adamw, cfg.gnorm_clip_scale, batch_total, lr_factor())
                    gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cap).detach()
                    t.optimizer.step()
                    metrics["loss_sum"] = metrics["loss_sum"].detach()
                    metrics["exgnorm_sum"] = torch.clamp(gnorm - cap, min=0.0) * cfg.batch_size
                    metrics.update(gnorm_batch=gnorm, pslr_batch=lr_now, wdnormal_batch=wd_now,
                                   gnorm_cap_batch=cap, window_start_batch=ts["window_start_data_row_idx"],
                                   window_end_batch=ts["total_num_data_rows"])
                    batches_this_epoch += 1
                    samples_this_epoch += batch_total
                    ts["train_steps_since_last_reload"] += batch_total
                    ts["global_step_samples"] += batch_total
                    beat.beat(state="training", samples=ts["global_step_samples"])
                    if rank == 0:
                        acc.add(metrics, cfg.batch_size)
                        if batches_this_epoch % cfg.print_every_batches == 0:
                            record = reporter.report(acc.report(), ts["global_step_samples"])
                            if bar is not None:
                                bar.set_postfix(loss=f"{record['loss']:.3f}", refresh=False)
                            log.info("train", extra=kv(**_short(record)))
                    if ts["global_step_samples"] <= REFRESH_FAST_UNTIL and batches_this_epoch % 5 == 0:
                        lr_now, wd_now = do_refresh()
                    elif batches_this_epoch % 50 == 0:
                        lr_now, wd_now = do_refresh()
                    synced = lookahead.step() if lookahead is not None else True
                    if t.ema is not None:
                        ts["swa_sample_accum"] += batch_total
                        if ts["swa_sample_accum"] >= cfg.swa_period and synced:
                            ts["swa_sample_accum"] = 0
                            t.ema.update_parameters(model)
                    if bar is not None:
                        bar.update(1)
                    if _any_rank(bool(stop), world, device):
                        outcome = "stop"
                        break
                if bar is not None:
                    bar.close()
                if outcome == "stop":
                    if rank == 0:   # unread files and untrained samples are not lost
                        queue.give_back([f for i, f in enumerate(files) if i not in seen_files])
                    break
            # ---- end of epoch -----------------------------------------------------------------------
            if lookahead is not None:
                lookahead.discard()
            if outcome == "quit":   # as train.py: exit without saving; a restart redoes the intake
                break
            if outcome == "stop" or stop:
                # The whole epoch goes back to the bucket, the part already trained too: a
                # restart must be able to train a full epoch (and export it), or a stop a few
                # steps into an epoch leaves the bucket just short of one and the run exports
                # nothing until new data comes (found by scripts/kill_test.py).
                bucket.refund(ts, cfg.max_train_bucket_per_new_data, cfg.samples_per_epoch)
                save_at_end = True
                break
            ts["export_cycle_counter"] += 1
            epochs_this_instance += 1
            if rank == 0:
                if batches_this_epoch % cfg.print_every_batches:   # the epoch's last batches
                    record = reporter.report(acc.report(), ts["global_step_samples"])
                    log.info("train", extra=kv(**_short(record)))
                _validate(cfg, t, mult, version, scales, device, use_bf16, current["val"], seed, reporter)
                acc.flush()
                _maybe_export(cfg, t)
                checkpoint.save_rotating(cfg.train_dir, checkpoint_state(t))
                log.info("saved checkpoint", extra=kv(samples=ts["global_step_samples"]))
                if time.time() - last_longterm >= checkpoint.LONGTERM_SECONDS:
                    last_longterm = time.time()
                    path = checkpoint.save_longterm(cfg.train_dir, checkpoint_state(t, skip_optimizer=True))
                    log.info("saved long-term checkpoint", extra=kv(path=path))
            if world > 1:
                dist.barrier()
            if cfg.sleep_seconds_per_epoch > 0:
                stop.wait(cfg.sleep_seconds_per_epoch)
        if save_at_end and rank == 0:
            acc.flush()
            checkpoint.save_rotating(cfg.train_dir, checkpoint_state(t))
            log.info("saved checkpoint after stop", extra=kv(samples=ts["global_step_samples"]))
    finally:
        stop.restore()
        beat.close()
        reporter.close()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    return 0


_LOGGED = ("loss", "p0loss", "vloss", "oloss", "pacc1", "gnorm_batch", "pslr_batch", "samples_per_s")


def _short(record: dict) -> dict:
    return {k: float(f"{record[k]:.5g}") for k in _LOGGED if k in record}


def _validate(cfg, t: Training, mult, version, scales, device, use_bf16, val_dir, seed, reporter) -> None:
    """KataGo's end-of-epoch validation on the shuffle's val/ files (rank 0), into last_val_metrics."""
    if not val_dir or not os.path.isdir(val_dir):
        return
    files = [os.path.join(val_dir, f) for f in os.listdir(val_dir) if f.endswith(".npz")]
    if not files:
        return
    if cfg.randomize_val:
        random.Random(derived_seed(seed, t.train_state["global_step_samples"], 4)).shuffle(files)
    else:
        files.sort()
    model = t.model
    model.eval()
    sums: dict = {}
    weights: dict = {}
    samples = 0
    loader = tdata.batch_loader(files, cfg.batch_size, 1, 0, cfg.pos_len,
                                derived_seed(seed, t.train_state["global_step_samples"], 5), 0, False,
                                augment=cfg.augment)
    with torch.no_grad():
        for _, arrays in loader:
            batch = tdata.to_device(arrays, device, channels_last=cfg.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                out = model(batch.binaryInputNCHW, batch.globalInputNC)
            m = batch_metrics(out, batch, mult, version, scales, False, None)
            for k, v in m.items():
                v = float(v)
                sums[k] = sums.get(k, 0.0) + v
                weights[k] = weights.get(k, 0.0) + (1 if k.endswith("_batch") else cfg.batch_size)
            samples += cfg.batch_size
            if cfg.max_val_samples is not None and samples > cfg.max_val_samples:
                break
    model.train()
    t.last_val_metrics = {"sums": sums, "weights": weights}
    values = {(k[:-4] if k.endswith("_sum") else k): sums[k] / weights[k] for k in sums}
    record = reporter.report(values, t.train_state["global_step_samples"], kind="val")
    log.info("validation", extra=kv(**_short(record), samples=samples))


def _maybe_export(cfg, t: Training) -> None:
    ts = t.train_state
    if ts["export_cycle_counter"] < cfg.epochs_per_export:
        return
    if cfg.no_export:
        ts["export_cycle_counter"] = cfg.epochs_per_export
        return
    ts["export_cycle_counter"] = 0
    if cfg.export_prob is not None and random.random() > cfg.export_prob:
        log.info("skipping this export (export_prob)")
        return
    name = f"{cfg.name}-s{ts['global_step_samples']}-d{ts['total_num_data_rows']}"
    path = checkpoint.export(cfg.export_dir, name, checkpoint_state(t, skip_optimizer=True))
    if path is not None:
        log.info("exported", extra=kv(name=name, path=path))

