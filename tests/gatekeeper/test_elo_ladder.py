"""`goloop ratings` on a BASEDIR laid out as a run leaves it: who is whose parent, where the
x-values come from, ratings.json and the plot."""
from __future__ import annotations

import json
import os

from click.testing import CliRunner

from goloop import cli
from goloop.gatekeeper import records
from goloop.gatekeeper.ladder import run_ratings

T0 = 1_700_000_000.0


def _model(base, sub, name, t):
    d = base / sub / name
    d.mkdir(parents=True)
    (d / "model.bin.gz").write_bytes(b"not read by the ladder")
    os.utime(d / "model.bin.gz", (t, t))


def _sgfs(path, games, t):
    """`games`: (moves, startTurnIdx) per game."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for moves, start in games:
        body = "".join(";B[aa]" if i % 2 == 0 else ";W[bb]" for i in range(moves))
        lines.append(f"(;FF[4]GM[1]SZ[9]C[gameHash=00,startTurnIdx={start},extraBlack=0]{body})")
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (t, t))


def _gating(base, cand, baseline, cand_wins, cand_losses):
    for k in range(cand_wins + cand_losses):
        won = k < cand_wins
        black = cand if k % 2 == 0 else baseline
        cand_white = black != cand
        records.append_json(records.games_path(str(base)), dict(
            id=f"{cand}{k}", source="gating", candidate=cand, baseline=baseline, black=black,
            white=baseline if black == cand else cand,
            white_points=1.0 if won == cand_white else 0.0))


def _run(tmp_path):
    base = tmp_path
    _model(base, "models", "net1", T0 + 3600)
    _model(base, "rejectedmodels", "bad", T0 + 5400)
    _model(base, "models", "net2", T0 + 7200)
    _model(base, "modelstobetested", "next", T0 + 9000)
    _sgfs(base / "selfplay" / "random" / "sgfs" / "A.sgfs", [(30, 2), (20, 0)], T0 + 1800)
    (base / "selfplay" / "random" / "selfplay-0123.cfg").write_text(
        "maxVisits = 100  # default\ncheapSearchProb = 0.5\ncheapSearchVisits = 20\n")
    _sgfs(base / "selfplay" / "net1" / "sgfs" / "B.sgfs", [(40, 4)], T0 + 6000)
    _sgfs(base / "selfplay" / "net2" / "sgfs" / "C.sgfs", [(10, 0)], T0 + 9500)
    _gating(base, "net1", "random", 18, 2)
    _gating(base, "bad", "net1", 3, 17)
    _gating(base, "net2", "net1", 14, 6)
    for k in range(10):   # an outside engine, from `goloop match --base-dir`
        records.append_json(records.games_path(str(base)), dict(
            id=f"m{k}", source="match", black="gnugo", white="net2", white_points=float(k < 5)))
    return base


def test_parents_x_values_and_outputs(tmp_path):
    base = _run(tmp_path)
    ladder = run_ratings(str(base))
    players = {p["name"]: p for p in ladder["players"]}
    assert ladder["anchor"] == "random" and ladder["games"] == 70
    parents = {n: players[n]["parent"] for n in players}
    assert parents == dict(random=None, net1="random", bad="net1", net2="net1", next="net2",
                           gnugo=None)
    assert {n: players[n]["kind"] for n in players} == dict(
        random="random", net1="accepted", bad="rejected", net2="accepted", next="pending",
        gnugo="external")
    # visits: random's file (28 + 20 searched moves at 0.5*20 + 0.5*100 = 60 visits each)
    # is before every net; net1's (36 searched moves at selfplay1.cfg's 225) only before net2
    assert players["net1"]["selfplay_visits"] == 48 * 60
    assert players["bad"]["selfplay_visits"] == 48 * 60
    assert players["net2"]["selfplay_visits"] == 48 * 60 + 36 * 225
    assert players["next"]["selfplay_games"] == 3
    assert players["net1"]["wall_hours"] == 0.5 and players["net2"]["wall_hours"] == 1.5
    # the fit itself: net1 clearly above random, bad below net1; gnugo scored 5/10 against net2
    # and sits just below it (its wide prior centres on the anchor)
    assert players["net1"]["ci95"][0] > 0.0
    assert players["bad"]["elo"] < players["net1"]["elo"] < players["net2"]["elo"]
    assert 0.0 < players["net2"]["elo"] - players["gnugo"]["elo"] < 20.0
    saved = json.loads((base / "ratings" / "ratings.json").read_text())
    assert saved["players"] == ladder["players"]
    assert (base / "ratings" / "ratings.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_count_cache_notices_a_changed_file(tmp_path):
    base = _run(tmp_path)
    first = {p["name"]: p for p in run_ratings(str(base), plot=False)["players"]}
    assert json.loads((base / "ratings" / "selfplay_counts.json").read_text())
    _sgfs(base / "selfplay" / "random" / "sgfs" / "A.sgfs", [(30, 2), (20, 0), (10, 0)], T0 + 1900)
    again = {p["name"]: p for p in run_ratings(str(base), plot=False)["players"]}
    assert again["net1"]["selfplay_visits"] == first["net1"]["selfplay_visits"] + 10 * 60


def test_ratings_command(tmp_path):
    base = _run(tmp_path)
    out = tmp_path / "elsewhere"
    result = CliRunner().invoke(cli.main, ["ratings", "-base-dir", str(base), "--output-dir",
                                           str(out), "--no-plot", "--prior-stdev", "200"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "ratings.json").read_text())["prior_stdev_elo"] == 200.0
    assert not (out / "ratings.png").exists()
    missing = CliRunner().invoke(cli.main, ["ratings", "--base-dir", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
