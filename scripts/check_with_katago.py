#!/usr/bin/env python
"""Cross-check goloop's model writer and evaluator against a real KataGo binary.

For each net below, a model file is written with goloop's writer (save_model_file), loaded by
the real KataGo engine (`katago gtp`) and by goloop's GtpEngine, and the same GTP session is sent
to both: boardsize, clear_board, komi, kata-set-rules, the moves, then `kata-raw-nn all`. The
eight symmetry blocks of both replies are parsed and compared number by number.

Nets:
  g170-original       the trained g170 b6c96 file as shipped (model version 8): a harness
                      control, it is not written by us
  g170-resaved-v15    that net loaded by goloop and re-saved as model version 15
  random nets         seeded, freshly initialised nets of several configs (ResNet, batch norm,
                      fixed-scale norms, nested bottleneck, transformer, ...), with every weight
                      and batch-norm statistic moved off its init value so that no tensor is
                      trivially zero or one

Pass = KataGo loads every file, the NAN (illegal-move) masks agree, and the largest differences
are within 1e-4 (policy, win/loss/noResult), 1e-3 (ownership) and 0.01 (lead, selfplay score).

This script does not build or download KataGo; give it a binary:

    python scripts/check_with_katago.py --katago /path/to/katago [--config gtp.cfg]

Without --config a minimal GTP config is written to the work directory. Determinism settings
(nnRandomize=false, ...) are always passed with -override-config. Exit status 0 = all passed.
"""
from __future__ import annotations

import argparse
import math
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

ROOT = pathlib.Path(__file__).resolve().parents[1]   # goloop must be installed (pip install -e .)

import torch  # noqa: E402

from goloop.common.nn.model import Model  # noqa: E402
from goloop.common.nn.modelconfigs import config_of_name  # noqa: E402
from goloop.common.nn.modelfile import load_model_file, save_model_file  # noqa: E402
from goloop.engine.gtp import GtpConfig, GtpEngine  # noqa: E402

SHARED = ROOT.parent / "shared"
G170 = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"

MINIMAL_GTP_CFG = """\
# Minimal KataGo GTP config for scripts/check_with_katago.py (raw net outputs only).
logAllGTPCommunication = false
logSearchInfo = false
logToStderr = false
rules = tromp-taylor
maxVisits = 10
numSearchThreads = 1
nnMaxBatchSize = 8
"""

# Passed to KataGo on top of whatever config is used, so runs are deterministic. logFile is
# added per run.
OVERRIDES = ("nnRandomize=false,nnRandSeed=forTesting,searchRandSeed=forTesting,"
             "rootSymmetryPruning=false,numSearchThreads=1,logToStderr=false,logSearchInfo=false")


# ------------------------------------------------------------------------------------------------
# Positions


@dataclass(frozen=True)
class Position:
    name: str
    size: int
    komi: float
    rules: str
    moves: tuple[str, ...] = ()

    def commands(self) -> list[str]:
        return ([f"boardsize {self.size}", "clear_board", f"komi {self.komi}",
                 f"kata-set-rules {self.rules}"] + [f"play {m}" for m in self.moves])


POSITIONS = (
    Position("9x9 empty tt k7", 9, 7.0, "tromp-taylor"),
    Position("9x9 10mv chinese k7", 9, 7.0, "chinese",
             ("B E5", "W C4", "B G4", "W D6", "B C6", "W F3", "B G3", "W F2", "B D4", "W G6")),
    Position("19x19 13mv jp k6.5", 19, 6.5, "japanese",
             ("B Q16", "W D4", "B Q3", "W D16", "B R5", "W C10", "B O17", "W pass", "B K10",
              "W R14", "B Q14", "W R13", "B R15")),
)


# ------------------------------------------------------------------------------------------------
# Nets


@dataclass(frozen=True)
class NetSpec:
    label: str
    config: Optional[str]     # None: the g170 file
    version: int = 15
    seed: int = 0
    resave: bool = True       # False: use the shipped g170 file as is
    tamper: bool = False      # negative control: KataGo gets a deliberately broken copy
    file: Optional[str] = None  # --model: a model file checked as it is (e.g. the exporter's)


# --negative-control: KataGo is given the net with one 3x3 kernel stored transposed (a classic
# writer bug) while goloop gets the correct file; the check must FAIL.
NEGATIVE_CONTROL = NetSpec("control:kernel-transposed", "b6c96", 15, seed=1, tamper=True)


NETS = (
    NetSpec("g170-original(v8)", None, 8, resave=False),
    NetSpec("g170-resaved-v15", None, 15),
    NetSpec("b6c96", "b6c96", 15, seed=1),
    NetSpec("b6c96-bn-mish", "b6c96-bn-mish", 15, seed=2),
    NetSpec("b10c128", "b10c128", 15, seed=3),
    NetSpec("b10c128-fson-silu-bnh", "b10c128-fson-silu-bnh", 15, seed=4),
    NetSpec("b5c192nbt-fs-rnh", "b5c192nbt-fs-rnh", 15, seed=5),
    NetSpec("b18c384nbt", "b18c384nbt", 15, seed=6),
    NetSpec("b7c96h3tfrs(v17)", "b7c96h3tfrs", 17, seed=7),
)


def random_net(config_name: str, seed: int) -> Model:
    """A seeded KataGo-initialised net with every weight and norm statistic perturbed.

    KataGo's init leaves some tensors at exactly 0 or 1 (fixup's last convs, norm scales and
    biases), where a writer bug (wrong order, wrong transpose, wrong tensor) could go unseen;
    noise of a fan-in-aware size moves them all while keeping activations of ordinary size
    (also for b18c384nbt; a fixed absolute noise blows deep nets up).
    """
    torch.manual_seed(seed)
    model = Model(config_of_name(config_name))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.add_(torch.randn_like(p) * (0.3 / math.sqrt(fan_in)))
            else:
                p.add_(torch.randn_like(p) * 0.1)
        for name, b in model.named_buffers():
            if name.endswith("running_std"):
                b.copy_(torch.rand_like(b) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
    model.eval()
    _sharpen_outputs(model)
    return model


def _sharpen_outputs(model: Model) -> None:
    """Rescale the last policy and ownership layers so that, on a random 19x19 position, the
    board policy logits have standard deviation 2 (a peaked, far from uniform policy), the pass
    logit sits 2 below their median, and the ownership pre-activations have RMS 1 (ownership spread
    over most of [-1, 1]): a misplaced weight then moves the printed outputs well past the
    tolerances."""
    gen = torch.Generator().manual_seed(0)
    spatial = torch.zeros(1, 22, 19, 19)
    spatial[:, 0] = 1.0
    stones = torch.rand(1, 19, 19, generator=gen)
    spatial[:, 1] = (stones < 0.15).float()
    spatial[:, 2] = (stones > 0.85).float()
    global_ = torch.zeros(1, 19)
    global_[0, 5] = -7.5 / 20.0
    with torch.no_grad():
        out = model.engine_output(model(spatial, global_))
        board, pass_logit = out.policy[0, 0, :-1], float(out.policy[0, 0, -1])
        board_gain = 2.0 / float(board.std())
        target = float(board.median()) * board_gain - 2.0
        pass_gain = target / pass_logit if abs(pass_logit) > 1e-6 else 1.0
        ownership_gain = 1.0 / float(out.ownership.square().mean().sqrt())
        for name, p in model.named_parameters():
            if name.endswith("policy.conv2p.weight"):
                p.mul_(board_gain)
            elif name.endswith("policy.linear_pass2.weight"):
                p.mul_(pass_gain)
            elif name.endswith("value.conv_ownership.weight"):
                p.mul_(ownership_gain)


def write_net(spec: NetSpec, workdir: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """The file goloop loads and the file KataGo loads (the same one unless spec.tamper)."""
    if spec.file is not None:
        return pathlib.Path(spec.file), pathlib.Path(spec.file)
    if spec.config is None and not spec.resave:
        return G170, G170
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in spec.label).strip("-")
    path = workdir / f"{stem}.bin.gz"
    if spec.config is None:
        model, _ = load_model_file(G170)
        name = "g170-resaved"
    else:
        model = random_net(spec.config, spec.seed)
        name = f"random-{spec.config}-s{spec.seed}"
    save_model_file(model, path, name, version=spec.version)
    if not spec.tamper:
        return path, path
    with torch.no_grad():
        w = model.blocks[3].conv2.weight
        w.copy_(w.transpose(2, 3).clone())
    broken = workdir / f"{stem}-broken.bin.gz"
    save_model_file(model, broken, name, version=spec.version)
    return path, broken


# ------------------------------------------------------------------------------------------------
# KataGo over GTP


class KataGoError(RuntimeError):
    pass


class KataGoGtp:
    """A `katago gtp` subprocess: one command, one reply (the text after '= ' or '? ')."""

    def __init__(self, katago: str, model: pathlib.Path, config: pathlib.Path,
                 workdir: pathlib.Path, timeout: float):
        self.timeout = timeout
        self.log = workdir / f"katago-{os.getpid()}-{time.monotonic_ns()}.log"
        self.stderr_path = self.log.with_suffix(".stderr")
        self.stderr = open(self.stderr_path, "wb")
        overrides = f"{OVERRIDES},logFile={self.log}"
        self.argv = [katago, "gtp", "-model", str(model), "-config", str(config),
                     "-override-config", overrides]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, cwd=workdir)
        self.buffer = b""
        self.raw_nn_all_blocks = 0

    def _failure(self, what: str) -> KataGoError:
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.stderr.flush()
        err = self.stderr_path.read_bytes().decode(errors="replace").strip()
        log = self.log.read_text(errors="replace").strip() if self.log.exists() else ""
        text = err or log or "(no stderr and no log)"
        return KataGoError(f"{what} (exit status {self.proc.returncode}): {text}")

    def command(self, line: str) -> tuple[bool, str]:
        ok, text = self._command(line)
        if ok and line.split()[:1] == ["kata-raw-nn"] and "all" in line.split():
            # KataGo v1.17.2 ends each symmetry block of `kata-raw-nn all` with an empty line,
            # so the reply reads as 8 GTP replies; collect the other 7 blocks.
            self.raw_nn_all_blocks = 1
            while text.count("symmetry ") < 8:
                text += "\n" + self._read_reply(line)
                self.raw_nn_all_blocks += 1
        return ok, text

    def _command(self, line: str) -> tuple[bool, str]:
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise self._failure(f"KataGo died before {line!r}") from None
        text = self._read_reply(line)
        if not text or text[0] not in "=?":
            raise KataGoError(f"malformed GTP reply to {line!r}: {text[:200]!r}")
        return text[0] == "=", text[1:].strip()

    def _read_reply(self, line: str) -> str:
        """The next block of output up to an empty line."""
        deadline = time.monotonic() + self.timeout
        fd = self.proc.stdout.fileno()
        while b"\n\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.proc.kill()
                raise self._failure(f"KataGo timed out on {line!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise self._failure(f"KataGo exited on {line!r}")
            self.buffer += chunk.replace(b"\r", b"")
        reply, self.buffer = self.buffer.split(b"\n\n", 1)
        return reply.decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.command("quit")
            except KataGoError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


# ------------------------------------------------------------------------------------------------
# Parsing and comparing `kata-raw-nn all`


def parse_raw_nn(text: str) -> dict[int, dict]:
    """A kata-raw-nn reply -> {symmetry: {key: float or list (None for NAN)}}."""
    tokens = text.split()
    out: dict[int, dict] = {}
    cur: Optional[dict] = None
    i = 0
    while i < len(tokens):
        key = tokens[i]
        if key == "symmetry":
            cur = out.setdefault(int(tokens[i + 1]), {})
            i += 2
        elif key in ("policy", "whiteOwnership"):
            j = i + 1
            vals = []
            while j < len(tokens) and (tokens[j] == "NAN" or not tokens[j][0].isalpha()):
                vals.append(None if tokens[j] == "NAN" else float(tokens[j]))
                j += 1
            cur[key] = vals
            i = j
        else:
            cur[key] = None if tokens[i + 1] == "NAN" else float(tokens[i + 1])
            i += 2
    return out


# column -> (fields, absolute tolerance, relative tolerance)
COLUMNS = {
    "policy": (("policy", "policyPass"), 1e-4, 0.0),
    "win": (("whiteWin", "whiteLoss", "noResult"), 1e-4, 0.0),
    "lead": (("whiteLead",), 0.01, 1e-5),
    "scoreSP": (("whiteScoreSelfplay",), 0.01, 1e-5),
    "ownership": (("whiteOwnership",), 1e-3, 0.0),
    "other": (("whiteScoreSelfplaySq", "varTimeLeft", "shorttermWinlossError",
               "shorttermScoreError"), 0.05, 1e-5),
}


@dataclass
class Diff:
    max_abs: dict = field(default_factory=lambda: {c: 0.0 for c in COLUMNS})
    ok: dict = field(default_factory=lambda: {c: True for c in COLUMNS})
    problems: list = field(default_factory=list)
    shown: dict = field(default_factory=lambda: {c: 0 for c in COLUMNS})

    def add(self, column: str, ref, got, where: str) -> None:
        _, atol, rtol = COLUMNS[column]
        if ref is None or got is None:
            if (ref is None) != (got is None):
                self.ok[column] = False
                self.problems.append(f"{where}: NAN mismatch (KataGo {ref}, goloop {got})")
            return
        d = abs(ref - got)
        self.max_abs[column] = max(self.max_abs[column], d)
        if d > atol + rtol * abs(ref):
            self.ok[column] = False
            self.shown[column] += 1
            if self.shown[column] <= 3:   # the first few per column
                self.problems.append(f"{where}: KataGo {ref} goloop {got} (|diff| {d:.3g})")

    @property
    def passed(self) -> bool:
        return all(self.ok.values()) and not any("missing" in p for p in self.problems)


def compare(kata: dict, ours: dict, diff: Diff, pos: str) -> None:
    if sorted(kata) != sorted(ours) or sorted(kata) != list(range(8)):
        diff.problems.append(f"{pos}: symmetries missing: KataGo {sorted(kata)}, goloop {sorted(ours)}")
        for c in diff.ok:
            diff.ok[c] = False
        return
    for k in range(8):
        for column, (fields, _, _) in COLUMNS.items():
            for f in fields:
                a, b = kata[k].get(f, "missing"), ours[k].get(f, "missing")
                if a == "missing" or b == "missing":
                    diff.problems.append(f"{pos} sym {k} {f}: missing (KataGo {a!r:.20}, goloop {b!r:.20})")
                    diff.ok[column] = False
                    continue
                if isinstance(a, list):
                    if len(a) != len(b):
                        diff.problems.append(f"{pos} sym {k} {f}: length {len(a)} vs {len(b)}")
                        diff.ok[column] = False
                        continue
                    for i, (x, y) in enumerate(zip(a, b)):
                        diff.add(column, x, y, f"{pos} sym {k} {f}[{i}]")
                else:
                    diff.add(column, a, b, f"{pos} sym {k} {f}")


# ------------------------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    file: pathlib.Path
    diff: Diff = field(default_factory=Diff)
    error: Optional[str] = None
    seconds: float = 0.0
    notes: set = field(default_factory=set)


def check_net(spec: NetSpec, path: pathlib.Path, kata_path: pathlib.Path, args,
              config: pathlib.Path, workdir: pathlib.Path) -> Result:
    result = Result(spec.label, kata_path)
    start = time.monotonic()
    try:
        ours_engine = GtpEngine(GtpConfig(model=str(path), nnDevice="cpu", nnDtype="fp32"))
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        result.error = f"goloop cannot load it: {e}"
        return result
    kata = KataGoGtp(args.katago, kata_path, config, workdir, args.timeout)
    try:
        ok, name = kata.command("name")   # the model is loaded before the first reply
        for pos in POSITIONS:
            for line in pos.commands():
                k_ok, k_text = kata.command(line)
                o_reply = ours_engine.execute(line) or ""
                if not k_ok or not o_reply.startswith("="):
                    result.diff.problems.append(
                        f"{pos.name}: {line!r}: KataGo {'=' if k_ok else '?'} {k_text!r}, "
                        f"goloop {o_reply.strip()!r}")
                    result.diff.ok["policy"] = False
            k_ok, k_text = kata.command("kata-raw-nn all")
            if not k_ok:
                raise KataGoError(f"kata-raw-nn all refused: {k_text}")
            o_reply = ours_engine.execute("kata-raw-nn all")
            if not o_reply.startswith("="):
                raise KataGoError(f"goloop refused kata-raw-nn all: {o_reply.strip()}")
            compare(parse_raw_nn(k_text), parse_raw_nn(o_reply[1:]), result.diff, pos.name)
            ours_blocks = o_reply.rstrip("\n").count("\n\n") + 1
            result.notes.add(f"reply layout of `kata-raw-nn all`: KataGo {kata.raw_nn_all_blocks} "
                             f"empty-line-separated block(s), goloop {ours_blocks}")
    except KataGoError as e:
        result.error = str(e)
    finally:
        kata.close()
    result.seconds = time.monotonic() - start
    return result


def print_table(results: list[Result]) -> None:
    cols = list(COLUMNS)
    head = f"{'net':26} {'loads':5} " + " ".join(f"{c:>10}" for c in cols) + f" {'time':>6}  result"
    print(head)
    print("-" * len(head))
    for r in results:
        if r.error:
            print(f"{r.label:26} {'NO':5} " + " ".join(f"{'-':>10}" for _ in cols)
                  + f" {r.seconds:6.1f}  FAIL")
            continue
        cells = []
        for c in cols:
            mark = "" if r.diff.ok[c] else "!"
            cells.append(f"{mark}{r.diff.max_abs[c]:.2e}".rjust(10))
        print(f"{r.label:26} {'yes':5} " + " ".join(cells)
              + f" {r.seconds:6.1f}  {'pass' if r.diff.passed else 'FAIL'}")
    print()
    tol = ", ".join(f"{c} {a:g}" + (f"+{rt:g}*|x|" if rt else "") for c, (_, a, rt) in COLUMNS.items())
    print(f"Max |KataGo - goloop| over {len(POSITIONS)} positions x 8 symmetries; tolerances: {tol}.")
    print("'!' marks a column over tolerance. Positions: " + "; ".join(p.name for p in POSITIONS))
    notes = sorted(set().union(*(r.notes for r in results))) if results else []
    for note in notes:
        print("note: " + note)
    for r in results:
        if r.error:
            print(f"\n{r.label} ({r.file}): {r.error}")
        elif r.diff.problems:
            print(f"\n{r.label} ({r.file}):")
            for p in r.diff.problems[:24]:
                print("  " + p)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--katago", required=True, help="path to a KataGo executable")
    parser.add_argument("--config", help="KataGo GTP config (default: a minimal one is written)")
    parser.add_argument("--workdir", help="where model files and logs go (default: a temp dir, "
                                          "removed afterwards unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--nets", help="comma-separated labels to run (default: all): "
                        + ", ".join(n.label for n in NETS))
    parser.add_argument("--model", action="append", default=[], metavar="FILE",
                        help="also check this model file as it is, e.g. one that `goloop export` "
                             "published (repeatable); with --nets none only these are checked")
    parser.add_argument("--negative-control", action="store_true",
                        help="also give KataGo a deliberately broken copy of a net (one kernel "
                             "transposed) and require that the check catches it")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds KataGo may take on one GTP command (default 600)")
    args = parser.parse_args(argv)

    katago = shutil.which(args.katago) or args.katago
    if not os.access(katago, os.X_OK):
        parser.error(f"not an executable: {args.katago}")
    args.katago = os.path.abspath(katago)
    nets = NETS
    if args.nets:
        wanted = [w.strip() for w in args.nets.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in {n.label for n in NETS} | {"none"}]
        if unknown:
            parser.error(f"unknown net labels: {unknown}")
        nets = tuple(n for n in NETS if n.label in wanted)
    for f in args.model:
        if not os.path.isfile(f):
            parser.error(f"--model {f}: no such file")
        nets = nets + (NetSpec("file:" + pathlib.Path(f).parent.name, None, file=os.path.abspath(f)),)
    if args.negative_control:
        nets = nets + (NEGATIVE_CONTROL,)

    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="check_with_katago_"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = pathlib.Path(args.config).resolve() if args.config else workdir / "minimal_gtp.cfg"
    if not args.config:
        config.write_text(MINIMAL_GTP_CFG)
    version = subprocess.run([args.katago, "version"], capture_output=True, text=True, timeout=60)
    print(f"KataGo: {args.katago}: {version.stdout.strip().splitlines()[0] if version.stdout else '?'}")
    print(f"config: {config}   work dir: {workdir}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")

    results = []
    try:
        for spec in nets:
            t0 = time.monotonic()
            path, kata_path = write_net(spec, workdir)
            size = path.stat().st_size
            how = ("as given" if spec.file else f"written in {time.monotonic() - t0:.1f}s"
                   if path != G170 else "as shipped")
            print(f"[{spec.label}] {path.name}: {size / 1e6:.1f} MB {how}; checking...",
                  flush=True)
            r = check_net(spec, path, kata_path, args, config, workdir)
            results.append(r)
            status = "error: " + r.error.splitlines()[0][:200] if r.error else (
                "pass" if r.diff.passed else "FAIL")
            print(f"[{spec.label}] {status} ({r.seconds:.1f}s)", flush=True)
        print()
        print_table(results)
    finally:
        if not args.workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif results:
            print(f"\nfiles kept in {workdir}")
    control = [r for r in results if r.label == NEGATIVE_CONTROL.label]
    for r in control:
        caught = r.error is None and not r.diff.passed
        print(f"\nnegative control: {'caught (FAIL as it must be)' if caught else 'NOT CAUGHT'}")
    all_ok = (all(r.error is None and r.diff.passed for r in results if r not in control)
              and all(r.error is None and not r.diff.passed for r in control))
    print("\nOVERALL: " + ("PASS" if all_ok else "FAIL"))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
