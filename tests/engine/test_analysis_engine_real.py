"""The JSON analysis engine's real parts: the shared net, the config and CLI, the g170 net.

Beside the protocol tests (test_analysis_engine.py, with a scripted searcher): the evaluator the
search threads share, KaTrain's analysis config and the `goloop analysis` command line, the real
search next to KataGo v1.17.2's answers, and `python -m goloop analysis` with the g170 b6c96 net
at small maxVisits: real round trips, malformed lines, several queries in flight, terminate,
query_version and a time-bounded fuzz.
"""
from __future__ import annotations

import io
import json
import pathlib
import queue
import random
import subprocess
import sys
import threading
import time

import pytest
from test_analysis_engine import query

from goloop.engine.analysis_batching import SharedEvaluator

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
MODEL = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
REPO = pathlib.Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------------
# The shared network


class CountingEvaluator:
    def __init__(self):
        self.calls = []
        self.gate = threading.Event()

    def evaluate(self, requests, **options):
        self.gate.wait(5)
        if "explode" in requests:
            raise ValueError("bad row")
        self.calls.append((list(requests), options))
        return [f"out:{r}" for r in requests]


def test_shared_evaluator_merges_concurrent_calls_and_splits_results():
    ev = CountingEvaluator()
    shared = SharedEvaluator(ev, max_batch_rows=100)
    results = {}

    def call(name, rows, **options):
        results[name] = shared.evaluate(rows, **options)

    threads = [threading.Thread(target=call, args=(f"t{i}", [f"{i}a", f"{i}b"]))
               for i in range(5)]
    threads.append(threading.Thread(target=call, args=("opt", ["x"]),
                                    kwargs={"policy_optimism": 1.0}))
    for t in threads:
        t.start()
    time.sleep(0.1)  # everyone waits behind the first call, held at the gate
    ev.gate.set()
    for t in threads:
        t.join(5)
    for i in range(5):
        assert results[f"t{i}"] == [f"out:{i}a", f"out:{i}b"]
    assert results["opt"] == ["out:x"]
    assert len(ev.calls) <= 3  # the first call, then at most one merged call per option set
    assert ev.calls[-1][1] in ({}, {"policy_optimism": 1.0})
    with pytest.raises(ValueError, match="bad row"):
        shared.evaluate(["explode"])
    assert shared.evaluate(["after"]) == ["out:after"]
    shared.close()


# ------------------------------------------------------------------------------------------------
# Config


KATRAIN_CONFIG = """
reportAnalysisWinratesAs = BLACK
conservativePass = true
maxVisits = 500
numAnalysisThreads = 12
numSearchThreads = 8
nnMaxBatchSize = 96
nnCacheSizePowerOfTwo = 20
nnMutexPoolSizePowerOfTwo = 16
nnRandomize = true
"""


def test_katrains_analysis_config_loads(tmp_path):
    analysis_config = pytest.importorskip("goloop.engine.analysis_config")
    from goloop.common.config import ConfigError, load_config
    path = tmp_path / "analysis_config.cfg"
    path.write_text(KATRAIN_CONFIG)
    config = load_config(analysis_config.AnalysisConfig, [path], ["homeDataDir=/tmp/katrain"])
    settings = analysis_config.AnalysisSettings(config)
    params = settings.default_params
    assert (params.maxVisits, params.numSearchThreads) == (500, 8)
    assert params.wideRootNoise == 0.04 and params.ignorePreRootHistory and params.conservativePass
    assert settings.default_perspective == 1 and config.numAnalysisThreads == 12
    params, perspective, unknown = settings.override(
        {"reportAnalysisWinratesAs": "WHITE", "wideRootNoise": "0.0", "maxTime": "8.0",
         "antiMirror": "true"})
    assert (params.wideRootNoise, params.maxTime, params.maxVisits) == (0.0, 8.0, 500)
    assert perspective == 2 and unknown == ["antiMirror"]
    with pytest.raises(ValueError, match="wideRootNoise"):
        settings.override({"wideRootNoise": "lots"})
    both = load_config(analysis_config.AnalysisConfig, [path],
                       ["numSearchThreadsPerAnalysisThread=2"])
    with pytest.raises(ConfigError, match="not both"):
        analysis_config.AnalysisSettings(both)


def test_cli_lists_analysis_keys_and_needs_a_model():
    from click.testing import CliRunner

    from goloop import cli
    result = CliRunner().invoke(cli.main, ["analysis", "--help"])
    assert result.exit_code == 0
    for text in ("-config", "-model", "-analysis-threads", "-quit-without-waiting",
                 "numAnalysisThreads", "reportAnalysisWinratesAs", "wideRootNoise"):
        assert text in result.stdout, text
    done = subprocess.run([sys.executable, "-m", "goloop", "analysis"], input="", text=True,
                          capture_output=True, timeout=60)
    assert done.returncode == 1 and "no model" in done.stderr and done.stdout == ""


# ------------------------------------------------------------------------------------------------
# The real engine process with the g170 net


needs_net = pytest.mark.skipif(not MODEL.exists(), reason="needs ../shared/models (g170 net)")


@needs_net
def test_avoid_allow_and_play_selection_values_match_katago():
    """The real search in-process, next to real KataGo v1.17.2's analysis engine on the same
    queries (analysis_example.cfg's settings that matter here, nnRandomize=false, one thread,
    no wide root noise): the same rows and visits, avoided moves absent, allowMoves leaving only
    the allowed ones, and KataGo's playSelectionValue (LCB-adjusted: 5 for 15 visits), weight,
    edgeWeight, noResultValue and rawScoreSelfplayStdev."""
    pytest.importorskip("goloop.common.search.searcher")
    from goloop.common.config import load_config
    from goloop.common.nn.evaluator import Evaluator
    from goloop.engine.analysis_config import AnalysisConfig
    from goloop.engine.analysis_engine import build_engine
    config = load_config(AnalysisConfig, None, {
        "numAnalysisThreads": "1", "numSearchThreadsPerAnalysisThread": "1", "nnRandomize": "false",
        "reportAnalysisWinratesAs": "BLACK", "logSearchInfo": "false"})
    out = io.StringIO()
    engine = build_engine(config, Evaluator.from_file(MODEL), out)
    base = dict(moves=[["B", "E5"], ["W", "C5"]], rules="chinese", komi=7, maxVisits=50,
                overrideSettings={"wideRootNoise": 0.0})
    engine.handle_line(json.dumps(query("av", includeNoResultValue=True, avoidMoves=[
        {"player": "B", "moves": ["D5", "E3", "F5"], "untilDepth": 1}], **base)))
    engine.handle_line(json.dumps(query("al", allowMoves=[
        {"player": "B", "moves": ["D5", "E3", "F5", "pass"], "untilDepth": 1}], **base)))
    engine.finish()
    got = {r["id"]: r for r in map(json.loads, out.getvalue().splitlines())}

    def rows(r):
        return [(m["move"], m["visits"], m["playSelectionValue"], m["weight"], m["edgeWeight"])
                for m in r["moveInfos"]]

    assert rows(got["av"]) == [("D7", 27, 27.0, 27.0, 27.0), ("D3", 27, 27.0, 27.0, 27.0),
                               ("D6", 15, 5.0, 15.0, 15.0), ("D4", 15, 5.0, 15.0, 15.0),
                               ("E7", 6, 2.0, 6.0, 6.0), ("C6", 1, 1.0, 1.0, 1.0),
                               ("C4", 1, 1.0, 1.0, 1.0)]
    katago_no_result = [4.24384218e-05, 4.24384218e-05, 4.72423155e-05, 4.72423155e-05,
                        3.82602557e-05, 7.08720981e-05, 7.08720981e-05]
    assert [m["noResultValue"] for m in got["av"]["moveInfos"]] == \
        pytest.approx(katago_no_result, rel=1e-5)
    assert rows(got["al"]) == [("E3", 46, 46.0, 46.0, 46.0), ("D5", 1, 0.0, 1.0, 1.0),
                               ("F5", 1, 0.0, 1.0, 1.0), ("pass", 1, 0.0, 1.0, 1.0)]
    assert all("noResultValue" not in m for m in got["al"]["moveInfos"])  # not asked for
    for r in got.values():
        assert r["rootInfo"]["visits"] == 50
        assert r["rootInfo"]["rawScoreSelfplayStdev"] == pytest.approx(13.1041879, rel=1e-5)


class EngineProcess:
    """`python -m goloop analysis` on the g170 net; responses gathered by a reader thread."""

    def __init__(self, *overrides: str, threads: int = 2):
        cmd = [sys.executable, "-m", "goloop", "analysis", "-model", str(MODEL),
               "-override-config",
               ",".join([f"numAnalysisThreads={threads}", "maxVisits=8", "nnDevice=cpu",
                         "forDeterministicTesting=true", *overrides])]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1,
                                     encoding="utf-8", cwd=REPO)
        self.responses: "queue.Queue[dict]" = queue.Queue()
        self.raw: list = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.raw.append(line)
            self.responses.put(json.loads(line))

    def send(self, obj):
        self.proc.stdin.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        self.proc.stdin.flush()

    def collect(self, predicate, timeout=30.0) -> list:
        """Responses until one satisfies `predicate` (included)."""
        got = []
        end = time.monotonic() + timeout
        while True:
            try:
                r = self.responses.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no matching response in {timeout}s; got {got}") from None
            got.append(r)
            if predicate(r):
                return got

    def close(self, timeout=30.0) -> int:
        self.proc.stdin.close()
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


@pytest.fixture(scope="module")
def engine_process():
    if not MODEL.exists():
        pytest.skip("needs ../shared/models (g170 net)")
    pytest.importorskip("goloop.common.search.searcher")
    p = EngineProcess()
    p.send('{"id":"warmup","action":"query_version"}')
    p.collect(lambda r: r.get("id") == "warmup", timeout=120)
    yield p
    if p.proc.poll() is None:
        p.proc.kill()
        p.proc.wait()


@needs_net
def test_process_round_trip_with_the_net(engine_process):
    p = engine_process
    p.send(query("rt", boardXSize=9, boardYSize=9, rules="chinese", komi=7,
                 moves=[["B", "E5"], ["W", "C3"]], analyzeTurns=[1, 2], maxVisits=6,
                 includeOwnership=True, includePolicy=True, includePVVisits=True))
    got = p.collect(lambda r: r.get("id") == "rt" and r["turnNumber"] == 1)
    got += p.collect(lambda r: r.get("id") == "rt" and r["turnNumber"] == 2) \
        if not any(r.get("turnNumber") == 2 for r in got) else []
    by_turn = {r["turnNumber"]: r for r in got if r.get("id") == "rt"}
    for turn, pla in ((1, "W"), (2, "B")):
        r = by_turn[turn]
        root = r["rootInfo"]
        assert root["currentPlayer"] == pla and root["visits"] >= 6
        assert 0 <= root["winrate"] <= 1 and 0 <= root["rawWinrate"] <= 1
        assert len(r["ownership"]) == 81 and all(-1 <= o <= 1 for o in r["ownership"])
        assert len(r["policy"]) == 82 and sum(p for p in r["policy"] if p > 0) == \
            pytest.approx(1, abs=1e-4)
        moves = r["moveInfos"]
        assert moves and [m["order"] for m in moves] == list(range(len(moves)))
        assert sum(m["visits"] for m in moves) >= root["visits"] - 1 - len(moves)
        for m in moves:
            assert m["pv"][0] == m["move"] and len(m["pvVisits"]) == len(m["pv"])
            assert {"winrate", "scoreLead", "scoreMean", "scoreSelfplay", "scoreStdev", "prior",
                    "utility", "lcb", "utilityLcb", "weight", "edgeVisits"} <= set(m)
    # E5 and C3 are occupied in the turn-2 position
    assert not {"E5", "C3"} & {m["move"] for m in by_turn[2]["moveInfos"]}
    assert by_turn[2]["policy"][4 * 9 + 4] == -1


@needs_net
def test_process_answers_malformed_lines_and_stays_up(engine_process):
    p = engine_process
    bad = ["{", "null", "[]", '{"id":1}', '{"id":"m1","moves":[["B","J10"]],"rules":"chinese",'
           '"boardXSize":9,"boardYSize":9}', '{"id":"m2","moves":[],"rules":"chinese",'
           '"boardXSize":1000000,"boardYSize":1000000}', '{"id":"m3","moves":[],"rules":"x",'
           '"boardXSize":9,"boardYSize":9}', "\u00ff\u0000", '{"id":"m4","moves":[["B","A1"],'
           '["W","A1"]],"rules":"chinese","boardXSize":9,"boardYSize":9}']
    for line in bad:
        p.send(line)
    p.send('{"id":"alive","action":"query_version"}')
    got = p.collect(lambda r: r.get("id") == "alive")
    errors = [r for r in got if "error" in r]
    assert len(errors) == len(bad)
    assert p.proc.poll() is None


@needs_net
def test_process_terminate_and_several_in_flight(engine_process):
    p = engine_process
    p.send(query("big", boardXSize=19, boardYSize=19, maxVisits=1000000,
                 reportDuringSearchEvery=0.2))
    for i in range(3):
        p.send(query(f"f{i}", moves=[["B", "E5"]] * (i > 0), maxVisits=4))
    got = p.collect(lambda r: r.get("id") == "big" and r.get("isDuringSearch"), timeout=60)
    p.send('{"id":"stop","action":"terminate","terminateId":"big"}')
    got += p.collect(lambda r: r.get("id") == "big" and r.get("isDuringSearch") is False,
                     timeout=60)
    p.send('{"id":"sync","action":"query_version"}')
    got += p.collect(lambda r: r.get("id") == "sync")
    deadline = time.monotonic() + 60
    while {f"f{i}" for i in range(3)} - {r.get("id") for r in got} and time.monotonic() < deadline:
        got += [p.responses.get(timeout=60)]
    assert {f"f{i}" for i in range(3)} <= {r.get("id") for r in got}
    final = [r for r in got if r.get("id") == "big" and r.get("isDuringSearch") is False]
    assert len(final) == 1 and final[0]["rootInfo"]["visits"] < 1000000
    assert {"action": "terminate", "id": "stop", "terminateId": "big"} in got


@needs_net
def test_process_fuzz_random_and_malformed_lines(engine_process):
    p = engine_process
    rng = random.Random(20240607)
    pieces = ['"id"', '"moves"', '"rules"', "[", "]", "{", "}", ",", ":", '"B"', '"D4"', "1e999",
              "-1", "0", "7.5", "true", "null", '"chinese"', '"\\u0000"', '"pass"', "NaN", "'"]
    keys = ["id", "moves", "initialStones", "rules", "komi", "boardXSize", "boardYSize",
            "analyzeTurns", "maxVisits", "action", "terminateId", "turnNumbers", "priority",
            "priorities", "avoidMoves", "allowMoves", "overrideSettings", "includeOwnership",
            "reportDuringSearchEvery", "initialPlayer", "whiteHandicapBonus", "analysisPVLen"]
    values = [None, True, 0, -1, 2, 5, 9, 19, 20, 1 << 70, 7.5, 0.25, 1e308, "", "B", "W", "D4",
              "pass", "(1,1)", "chinese", "japanese", "terminate", "query_version", "clear_cache",
              [], [0], [["B", "C3"]], [["W", "C3"], ["B", "C3"]], [[1, 2]], {}, {"ko": "SIMPLE"},
              {"maxVisits": 2}, [{"player": "B", "moves": ["A1"], "untilDepth": 1}]]
    lines = []
    for i in range(400):
        kind = rng.random()
        if kind < 0.3:
            lines.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))))
        elif kind < 0.5:  # valid queries with random options, a few moves on a small board
            size = rng.choice([5, 7, 9])
            vertices = [f"{c}{r}" for c in "ABCDE" for r in range(1, 6)]
            points = rng.sample(vertices, rng.randint(0, 6))
            moves = [["BW"[j % 2], v] for j, v in enumerate(points)]
            obj = query(f"z{i}", boardXSize=size, boardYSize=size, moves=moves, maxVisits=2,
                        rules=rng.choice(["chinese", "japanese", "tromp-taylor", "aga"]),
                        komi=rng.choice([0, 5.5, 6.5, 7, -3.5]))
            if rng.random() < 0.5:
                obj["analyzeTurns"] = sorted(rng.sample(range(len(moves) + 1),
                                                        rng.randint(1, len(moves) + 1)))
            for flag in ("includeOwnership", "includePolicy", "includePVVisits",
                         "includeMovesOwnership", "includeOwnershipStdev"):
                if rng.random() < 0.3:
                    obj[flag] = True
            lines.append(json.dumps(obj))
        elif kind < 0.9:
            obj = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(1, 8))}
            if rng.random() < 0.7:
                obj["id"] = f"z{i}"
            if rng.random() < 0.5:  # mostly-valid queries, cheap to search
                obj.update(boardXSize=rng.choice([2, 5, 9]), boardYSize=rng.choice([3, 9]),
                           rules="tromp-taylor", maxVisits=2)
                obj.setdefault("moves", [])
                obj.pop("reportDuringSearchEvery", None)
            lines.append(json.dumps(obj))
        else:
            line = json.dumps(query(f"z{i}", maxVisits=2))
            cut = rng.randrange(len(line))
            lines.append(line[:cut] + rng.choice(["", "\x00", "}", "\u2028", "\\"]) + line[cut:])
    lines = [line.replace("\n", " ") for line in lines]

    def answered(line):
        # A query for no turns (analyzeTurns []) is valid and, as in KataGo, gets no answer.
        try:
            obj = json.loads(line)
        except ValueError:
            return bool(line.strip())
        return not (isinstance(obj, dict) and obj.get("analyzeTurns") == []
                    and isinstance(obj.get("id"), str) and not isinstance(obj.get("action"), str))

    expected = sum(answered(line) for line in lines)
    start = time.monotonic()
    for line in lines:
        p.send(line)
    # Every non-blank line ends in at least one response that is not a warning or a partial
    # report: an error, an action's echo, or one final response per analyzed turn.
    finals = []

    def count(r):
        if "warning" not in r and not r.get("isDuringSearch"):
            finals.append(r)
        return len(finals) >= expected

    p.collect(count, timeout=15)
    assert time.monotonic() - start < 15
    kinds = {"error": sum("error" in r for r in finals),
             "analysis": sum("moveInfos" in r for r in finals)}
    assert kinds["error"] > 100 and kinds["analysis"] > 60, kinds
    p.send('{"id":"fuzz-alive","action":"query_version"}')
    p.collect(lambda r: r.get("id") == "fuzz-alive", timeout=15)
    assert p.proc.poll() is None
    p.send(query("after-fuzz", maxVisits=2))
    (r,) = [x for x in p.collect(lambda r: r.get("id") == "after-fuzz", timeout=15)
            if x.get("id") == "after-fuzz"]
    assert r["rootInfo"]["visits"] >= 1


@needs_net
def test_process_exits_cleanly_after_finishing_queued_queries():
    pytest.importorskip("goloop.common.search.searcher")
    p = EngineProcess(threads=1)
    for i in range(3):
        p.send(query(f"e{i}", maxVisits=3))
    code = p.close(timeout=120)
    ids = []
    while not p.responses.empty():
        ids.append(p.responses.get().get("id"))
    assert code == 0 and sorted(ids) == ["e0", "e1", "e2"]
