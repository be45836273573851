"""`goloop ratings`: the run's Elo ladder from BASEDIR, as ratings.json and a plot.

Inputs, all from files the other daemons already write:
* games: BASEDIR/ratings/games.jsonl (every gating and `goloop match --base-dir` game);
* nets: model files under models/ (accepted), rejectedmodels/ and modelstobetested/, named as
  KataGo names them (directory name for model.bin.gz), each with its file mtime;
* parents (the prior of ratings.py): a tested net's parent is the baseline of its gating test;
  any other net (a run without gating, a candidate not tested yet) has the newest accepted net
  older than itself, by mtime; the first ones have the random net when the random net played.

The x-axes of the paper's Figure 8 are self-play cost and time. Where they come from here:
* wall time: hours from the run's first file (the oldest self-play file or model file) to the
  net's model file mtime, which is when the exporter wrote it (renames keep it): the net
  exists from then on, whatever the gatekeeper's verdict.
* self-play cost: goloop's selfplay does not store how many NN evaluations it made, so the
  cost is estimated as *search visits*: for every game in BASEDIR/selfplay/<model>/sgfs/*.sgfs
  written before the net's mtime, its searched moves (moves after the SGF's startTurnIdx,
  i.e. not the raw-policy opening) times the expected visits of one move of that model's
  selfplay config snapshot (selfplay-*.cfg: cheapSearchProb · cheapSearchVisits + (1 −
  cheapSearchProb) · maxVisits; KataGo's selfplay1.cfg values when no snapshot, spec §3).
  Visits over-count NN evaluations (tree reuse of cheap searches, NN cache hits) and leave
  out komi, side-position and lead searches; the paper counted real evaluations. Counts per
  .sgfs file are cached in ratings/selfplay_counts.json (published files never change).
"""
from __future__ import annotations

import glob
import json
import logging
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, List, Optional, Tuple

from goloop.common.atomicfile import atomic_write
from goloop.common.files.modelpoll import MODEL_SUFFIXES, SKIPPED_DIR_SUFFIXES, model_name
from goloop.common.logs import kv
from goloop.common.nn.randomnet import RANDOM_MODEL_NAME
from goloop.gatekeeper import records
from goloop.gatekeeper.ratings import VIRTUAL_DRAW_STDEV_ELO, fit_ratings

log = logging.getLogger(__name__)

# KataGo selfplay1.cfg (spec selfplay-and-search.md §3): used when a model dir has no snapshot.
SELFPLAY_DEFAULTS = {"maxVisits": 600.0, "cheapSearchProb": 0.75, "cheapSearchVisits": 100.0}
STATUS_DIRS = (("models", "accepted"), ("rejectedmodels", "rejected"),
               ("modelstobetested", "pending"))
_START_TURN = re.compile(r"startTurnIdx=(\d+)")
_MOVE = re.compile(r";[BW]\[")


@dataclass(frozen=True)
class Net:
    name: str
    path: str
    mtime: float
    status: str          # accepted, rejected, pending


def scan_nets(base_dir: str) -> Dict[str, Net]:
    """Every model file of the run by name (a name seen twice keeps the newest file)."""
    out: Dict[str, Net] = {}
    for sub, status in STATUS_DIRS:
        root = os.path.join(base_dir, sub)
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs
                             if not d.endswith(SKIPPED_DIR_SUFFIXES) and not d.startswith("."))
            for f in files:
                if f.startswith(".") or not f.endswith(MODEL_SUFFIXES):
                    continue
                path = os.path.join(dirpath, f)
                try:
                    mtime = os.stat(path).st_mtime
                except FileNotFoundError:
                    continue
                name = model_name(path)
                if name not in out or mtime > out[name].mtime:
                    out[name] = Net(name, path, mtime, status)
    return out


def parents_of(nets: Dict[str, Net], games: List[dict]) -> Dict[str, Optional[str]]:
    """Each net's parent for the prior (see the module docstring)."""
    parents: Dict[str, Optional[str]] = {}
    random_played = any(RANDOM_MODEL_NAME in (g["black"], g["white"]) for g in games)
    for g in games:
        if g.get("source") == "gating" and g.get("candidate") and g.get("baseline"):
            parents[g["candidate"]] = g["baseline"]
    root = RANDOM_MODEL_NAME if random_played else None
    accepted = sorted((n for n in nets.values() if n.status == "accepted"), key=lambda n: n.mtime)
    for net in sorted(nets.values(), key=lambda n: n.mtime):
        # the newest accepted net older than this one: its predecessor (or future baseline)
        older = [a.name for a in accepted if a.mtime < net.mtime and a.name != net.name]
        parents.setdefault(net.name, older[-1] if older else root)
    if random_played:
        parents[RANDOM_MODEL_NAME] = None
    return parents


# ------------------------------------------------------------------------------------------------
# Self-play cost


def _expected_visits(model_dir: str) -> float:
    keys = dict(SELFPLAY_DEFAULTS)
    snapshots = sorted(glob.glob(os.path.join(model_dir, "selfplay-*.cfg")))
    if snapshots:
        try:
            with open(snapshots[-1], encoding="utf-8") as f:
                for line in f:
                    m = re.match(r"\s*(\w+)\s*=\s*([-+0-9.eE]+)\s*(#.*)?$", line)
                    if m and m.group(1) in keys:
                        keys[m.group(1)] = float(m.group(2))
        except OSError as e:
            log.warning("cannot read selfplay config snapshot",
                        extra=kv(path=snapshots[-1], error=str(e)))
    p = min(1.0, max(0.0, keys["cheapSearchProb"]))
    return p * keys["cheapSearchVisits"] + (1.0 - p) * keys["maxVisits"]


def _count_sgfs(path: str) -> Tuple[int, int]:
    """(games, searched moves) of one .sgfs file."""
    games = moves = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            games += 1
            m = _START_TURN.search(line)
            moves += max(0, len(_MOVE.findall(line)) - (int(m.group(1)) if m else 0))
    return games, moves


@dataclass(frozen=True)
class SelfplayFile:
    mtime: float
    games: int
    visits: float


def scan_selfplay(base_dir: str) -> List[SelfplayFile]:
    """Every selfplay .sgfs file with its games and estimated visits, oldest first."""
    root = os.path.join(base_dir, "selfplay")
    cache_path = os.path.join(base_dir, records.RATINGS_DIR, "selfplay_counts.json")
    try:
        with open(cache_path, encoding="utf-8") as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
    fresh: dict = {}
    out: List[SelfplayFile] = []
    for model_dir in sorted(glob.glob(os.path.join(root, "*"))):
        if not os.path.isdir(model_dir):
            continue
        per_move = None
        for path in sorted(glob.glob(os.path.join(model_dir, "sgfs", "*.sgfs"))):
            try:
                st = os.stat(path)
                rel = os.path.relpath(path, base_dir)
                hit = cache.get(rel)
                if hit and hit[0] == st.st_size and hit[1] == st.st_mtime:
                    games, moves = hit[2], hit[3]
                else:
                    games, moves = _count_sgfs(path)
            except OSError as e:
                log.warning("skipping unreadable selfplay file", extra=kv(path=path, error=str(e)))
                continue
            fresh[rel] = [st.st_size, st.st_mtime, games, moves]
            if per_move is None:
                per_move = _expected_visits(model_dir)
            out.append(SelfplayFile(st.st_mtime, games, moves * per_move))
    if fresh != cache:
        try:
            os.makedirs(os.path.dirname(cache_path), exist_ok=True)
            with atomic_write(cache_path, "w", encoding="utf-8") as f:
                json.dump(fresh, f)
        except OSError as e:
            log.warning("cannot write the selfplay count cache",
                        extra=kv(path=cache_path, error=str(e)))
    return sorted(out, key=lambda f: f.mtime)


# ------------------------------------------------------------------------------------------------


def _iso(t: Optional[float]) -> Optional[str]:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_ladder(base_dir: str, prior_stdev: float = VIRTUAL_DRAW_STDEV_ELO) -> dict:
    """Everything ratings.json holds (see the module docstring)."""
    games = list(records.read_games(records.games_path(base_dir)))
    nets = scan_nets(base_dir)
    parents = parents_of(nets, games)
    fitted = fit_ratings(((g["black"], g["white"], 1.0 - float(g["white_points"])) for g in games),
                         parents, prior_stdev=prior_stdev)
    selfplay = scan_selfplay(base_dir)
    times = [f.mtime for f in selfplay] + [n.mtime for n in nets.values()]
    start = min(times) if times else None
    players = []
    for name, r in fitted.items():
        net = nets.get(name)
        entry = dict(name=name, elo=round(r.elo, 1), stdev=round(r.stdev, 1),
                     ci95=[round(r.low, 1), round(r.high, 1)], games=r.games,
                     points=r.points, parent=r.parent)
        if name == RANDOM_MODEL_NAME:
            entry.update(kind="random", wall_hours=0.0, selfplay_visits=0.0, selfplay_games=0)
        elif net is not None:
            done = [f for f in selfplay if f.mtime <= net.mtime]
            entry.update(kind=net.status, model_time=_iso(net.mtime),
                         wall_hours=round((net.mtime - start) / 3600.0, 4) if start else None,
                         selfplay_visits=float(sum(f.visits for f in done)),
                         selfplay_games=int(sum(f.games for f in done)))
        else:
            entry.update(kind="external")
        players.append(entry)
    anchor = next((name for name, r in fitted.items() if r.stdev == 0.0), None)
    return dict(generated=_iso(datetime.now(timezone.utc).timestamp()), anchor=anchor,
                prior_stdev_elo=round(prior_stdev, 1), games=len(games),
                run_start=_iso(start), players=players,
                x_axes=dict(wall_hours="hours from the run's first file to the model file's mtime",
                            selfplay_visits="estimated self-play search visits before the model "
                                            "(SGF moves x configured visits per move)"))


def plot_ladder(ladder: dict, path: str) -> None:
    """Elo with 95% intervals against self-play visits and against hours, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    nets = [p for p in ladder["players"]
            if p["kind"] in ("random", "accepted", "rejected", "pending")
            and p.get("wall_hours") is not None and (p["games"] or p["kind"] == "random")]
    for ax, key, label in ((axes[0], "selfplay_visits", "self-play search visits (estimated)"),
                           (axes[1], "wall_hours", "hours")):
        for kind, style in (("accepted", dict(fmt="o-", color="C0", label="accepted")),
                            ("rejected", dict(fmt="x", color="0.55", label="rejected")),
                            ("pending", dict(fmt="s", color="C1", label="untested"))):
            kinds = (kind, "random") if kind == "accepted" else (kind,)
            pts = sorted((p for p in nets if p["kind"] in kinds), key=lambda p: p[key])
            if not pts:
                continue
            ax.errorbar([p[key] for p in pts], [p["elo"] for p in pts],
                        yerr=[[p["elo"] - p["ci95"][0] for p in pts],
                              [p["ci95"][1] - p["elo"] for p in pts]],
                        capsize=2, markersize=4, **style)
        for i, p in enumerate(q for q in ladder["players"] if q["kind"] == "external"):
            ax.axhline(p["elo"], color=f"C{2 + i % 7}", linestyle="--", linewidth=1,
                       label=p["name"][:40])
        ax.set_xlabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(f"Elo (anchor {ladder['anchor']} = 0; bars: 95%)")
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(f"Bayesian Elo of the run ({ladder['games']} games)")
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)


def run_ratings(base_dir: str, output_dir: Optional[str] = None,
                prior_stdev: float = VIRTUAL_DRAW_STDEV_ELO, plot: bool = True) -> dict:
    """Fit, write ratings.json (and ratings.png) into BASEDIR/ratings (or output_dir)."""
    if not os.path.isdir(base_dir):
        raise FileNotFoundError(f"base directory {base_dir} does not exist")
    out_dir = output_dir or os.path.join(base_dir, records.RATINGS_DIR)
    os.makedirs(out_dir, exist_ok=True)
    ladder = build_ladder(base_dir, prior_stdev)
    with atomic_write(os.path.join(out_dir, "ratings.json"), "w", encoding="utf-8") as f:
        json.dump(ladder, f, indent=1)
        f.write("\n")
    if plot:
        plot_ladder(ladder, os.path.join(out_dir, "ratings.png"))
    best = max((p for p in ladder["players"] if math.isfinite(p["elo"])), key=lambda p: p["elo"],
               default=None)
    log.info("ratings written", extra=kv(dir=out_dir, players=len(ladder["players"]),
                                         games=ladder["games"],
                                         best=best["name"] if best else None))
    return ladder
