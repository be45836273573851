"""Golden test: `kata-raw-nn all` through our GTP engine equals the real KataGo's, per symmetry.

Each shared/reference/rawnn_*.json holds the exact GTP session KataGo was given and its parsed
output for all 8 symmetries. We replay the session through goloop's engine with the same net
(g170 b6c96 v8, or KaTrain's b10c384 v15 hybrid with GTP's root policy optimism 0.2) and compare
every number: this pins down features, model loading, the forward pass, symmetries and the
post-processing together.
"""
import json
import math
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from goloop.engine.gtp import GtpConfig, GtpEngine  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
FILES = sorted((SHARED / "reference").glob("rawnn_*.json"))
G170 = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
B10 = SHARED / "models" / "b10c384h6nbttflrs.bin.gz"

TOLERANCE = {"whiteWin": 1e-4, "whiteLoss": 1e-4, "noResult": 1e-4, "policy": 1e-4,
             "policyPass": 1e-4, "whiteOwnership": 1e-3, "whiteLead": 0.01,
             "whiteScoreSelfplay": 0.01, "whiteScoreSelfplaySq": 0.05, "varTimeLeft": 0.01,
             "shorttermWinlossError": 0.01, "shorttermScoreError": 0.01}


def parse_raw_nn(text):
    """KataGo's kata-raw-nn reply -> {symmetry: {key: value or list}} (whitespace-agnostic)."""
    tokens = text.split()
    out, cur, i = {}, None, 0
    while i < len(tokens):
        key = tokens[i]
        if key == "symmetry":
            cur = out.setdefault(int(tokens[i + 1]), {})
            i += 2
            continue
        if key in ("policy", "whiteOwnership"):
            j = i + 1
            vals = []
            while j < len(tokens) and (tokens[j] == "NAN" or not tokens[j][0].isalpha()):
                vals.append(None if tokens[j] == "NAN" else float(tokens[j]))
                j += 1
            cur[key] = vals
            i = j
            continue
        cur[key] = None if tokens[i + 1] == "NAN" else float(tokens[i + 1])
        i += 2
    return out


@pytest.fixture(scope="module")
def engines():
    cache = {}

    def get(model):
        if model not in cache:
            cache[model] = GtpEngine(GtpConfig(model=str(model), nnDevice="cpu"))
        return cache[model]
    return get


def _compare(reference, ours, where):
    for key, tol in TOLERANCE.items():
        ref, got = reference[key], ours[key]
        if isinstance(ref, list):
            assert len(ref) == len(got), f"{where} {key}: length"
            for i, (r, g) in enumerate(zip(ref, got)):
                if r is None or g is None:
                    assert r is None and g is None, f"{where} {key}[{i}]: NAN mismatch {r} vs {g}"
                else:
                    assert abs(r - g) <= tol, f"{where} {key}[{i}]: KataGo {r}, goloop {g}"
        else:
            assert abs(ref - got) <= tol, f"{where} {key}: KataGo {ref}, goloop {got}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_kata_raw_nn_matches_katago_for_every_symmetry(path, engines):
    data = json.loads(path.read_text())
    engine = engines(B10 if "b10c384" in path.name else G170)
    for line in data["gtp_commands"][:-1]:
        reply = engine.execute(line)
        assert reply.startswith("="), f"{line!r} -> {reply!r}"
    reply = engine.execute("kata-raw-nn all")
    assert reply.startswith("= ") and reply.endswith("\n\n")
    assert "\n\n" not in reply[:-2], "one GTP reply must not contain blank lines"
    ours = parse_raw_nn(reply[2:])
    assert sorted(ours) == list(range(8))
    for k, reference in enumerate(data["outputs_all_symmetries"]):
        _compare(reference, ours[k], f"{path.stem} symmetry {k}")


def test_raw_nn_arguments(engines):
    engine = engines(G170)
    engine.execute("boardsize 9")
    engine.execute("clear_board")
    for bad in ("kata-raw-nn", "kata-raw-nn 8", "kata-raw-nn x", "kata-raw-nn 0 1.5",
                "kata-raw-nn 0 0.1 extra", "kata-raw-nn b"):
        assert engine.execute(bad).startswith("?"), bad
    white = parse_raw_nn(engine.execute("kata-raw-nn w 0")[2:])[0]
    black = parse_raw_nn(engine.execute("kata-raw-nn 0")[2:])[0]
    # Same empty board, other side to move: the komi input flips, so the values differ.
    assert white["whiteWin"] != black["whiteWin"]
    assert math.isclose(sum(p for p in black["policy"] if p) + black["policyPass"], 1.0,
                        abs_tol=1e-4)


def test_gtp_binary_loads_a_model_and_answers(tmp_path):
    exe = pathlib.Path(sys.executable).with_name("goloop")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "goloop"]
    session = "boardsize 9\nkata-raw-nn 0\nquit\n"
    result = subprocess.run(command + ["gtp", "--model", str(G170)], input=session,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "whiteWin" in result.stdout and "policyPass" in result.stdout
    bad = tmp_path / "broken.bin.gz"
    bad.write_bytes(G170.read_bytes()[:5000])
    result = subprocess.run(command + ["gtp", "--model", str(bad)], input="quit\n",
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "broken.bin.gz" in result.stderr
