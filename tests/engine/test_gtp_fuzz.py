"""Seeded fuzz test of the GTP engine: thousands of random, malformed and hostile lines.

Whatever arrives, the engine must answer every command line with exactly one reply starting with
`=` or `?`, never a traceback or an internal error, and still be alive to answer
`protocol_version` at the end. Lines mix well-formed commands that change the position (so the
junk hits many different states) with random tokens, huge numbers, unicode, missing and extra
arguments, bad vertices and colours, bad rules JSON and raw bytes.
"""
from __future__ import annotations

import io
import random
import string

import pytest

from goloop.engine.gtp import GtpConfig, GtpEngine, run_gtp

SEED = 20261121
LINES = 3000

COMMANDS = sorted(GtpEngine(GtpConfig()).commands)
NO_QUIT = [c for c in COMMANDS if c != "quit"]
JUNK_COMMANDS = ["", "genmove", "PLAY", "play_", "kata-analyze", "boardsize:", "=", "?", "-1", "é"]

TOKENS = [
    "", "B", "W", "b", "white", "BLACK", "x", "pass", "PASS", "pss", "resign", "A1", "a1", "T19",
    "t19", "J9", "I5", "Z1", "A0", "A20", "AA1", "D4", "Q16", "(3,3)", "-", "0", "1", "2", "9", "19",
    "20", "-1", "+5", "7.5", "6.5", "-0.5", "7.25", "1e3", "1e999", "nan", "inf", "-inf", "0x10",
    "1_000", "99999999999999999999999999999999", "9" * 5000, "4294967297", "3:3", "9:", ":9",
    "19:19", "alive", "dead", "seki", "chinese", "japanese", "tromp-taylor", "aga", "new_zealand",
    "ko", "scoring", "tax", "suicide", "hasButton", "whiteHandicapBonus", "friendlyPassOk",
    "SIMPLE", "simple", "POSITIONAL", "TERRITORY", "AREA", "SEKI", "ALL", "true", "false", "N-1",
    "N", "{", "}", "{}", "[]", '{"ko":"SIMPLE"}', '{"ko":1}', '{"komi":7.5}', '{"ko":"SIMPLE",',
    '{"a":' + "[" * 3000, '{"ko":"SIMPLE","scoring":"TERRITORY","tax":"ALL","hasButton":true}',
    "koSIMPLEscoreAREAtaxNONEsui0", "koBOGUS", "komi7.5", "日本", "ñ", "\u202e", "\ufeff",
    "\U0001f600", "\x00", "\x7f", "#", "# comment", "\t", "\r", "\x0b\x0c",
]

SAFE_FILE_NAMES = ["g.sgf", "h.sgf", "nosuch.sgf", "-", "sub", "."]


def _vertex(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNOPQRST"
    return f"{rng.choice(letters)}{rng.randint(1, 19)}"


def _state_command(rng: random.Random) -> str:
    """A well-formed command that moves the engine to another state."""
    kind = rng.randrange(10)
    if kind == 0:
        return f"boardsize {rng.randint(2, 19)}"
    if kind == 1:
        return rng.choice(["clear_board", "undo", "undo", "final_score", "showboard", "printsgf"])
    if kind == 2:
        return f"{rng.choice(['fixed_handicap', 'place_free_handicap'])} {rng.randint(2, 12)}"
    if kind == 3:
        pairs = " ".join(f"{rng.choice('BW')} {_vertex(rng)}" for _ in range(rng.randint(0, 8)))
        return f"set_position {pairs}"
    if kind == 4:
        return f"kata-set-rules {rng.choice(['chinese', 'japanese', 'tromp-taylor', 'aga-button', 'stone-scoring'])}"
    if kind == 5:
        return f"printsgf {rng.choice(SAFE_FILE_NAMES[:2])}"
    if kind == 6:
        return f"loadsgf {rng.choice(SAFE_FILE_NAMES[:3])} {rng.randint(-1, 40)}"
    return f"play {rng.choice('BW')} {rng.choice([_vertex(rng), 'pass'])}"


def _random_command(rng: random.Random) -> str:
    name = rng.choice(NO_QUIT + JUNK_COMMANDS)
    if name == "printsgf":
        # Never let a random token become a path to write to.
        args = rng.sample(SAFE_FILE_NAMES, rng.randint(0, 2))
    else:
        args = [rng.choice(TOKENS) for _ in range(rng.choice([0, 0, 1, 1, 2, 2, 3, 5, 20]))]
    return " ".join([name] + args)


def _junk(rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:  # printable garbage
        return "".join(rng.choice(string.printable.replace("\n", "")) for _ in range(rng.randint(0, 60)))
    if kind == 1:  # any code point but newline (surrogates excluded: not encodable)
        return "".join(chr(rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF)]))
                       for _ in range(rng.randint(0, 30))).replace("\n", "")
    return "".join(chr(rng.randint(0, 255)) for _ in range(rng.randint(0, 80))).replace("\n", "")


def fuzz_lines(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.35:
            line = _state_command(rng)
        elif roll < 0.8:
            line = _random_command(rng)
        else:
            line = _junk(rng)
        if rng.random() < 0.15:
            line = f"{rng.choice(['1', '42', '007', '2147483647', '2147483648', '9' * 30])}{rng.choice(['', ' '])}{line}"
        if rng.random() < 0.05:
            line = line.replace(" ", rng.choice(["\t", "  ", " \r "]))
        lines.append(line)
    return lines + ["protocol_version"]


def _answered(line: str) -> bool:
    """Whether GTP must answer this line: not empty once control characters, non-ASCII and the
    comment are gone (written independently of the engine's own cleaning)."""
    kept = "".join(c for c in line if 32 <= ord(c) <= 126 or c == "\t")
    return kept.split("#", 1)[0].strip() != ""


def _check_replies(lines: list[str], output: str) -> None:
    assert output.endswith("\n\n")
    blocks = output[:-2].split("\n\n")
    assert len(blocks) == sum(map(_answered, lines))
    for line, block in zip([l for l in lines if _answered(l)], blocks):
        assert block[:1] in ("=", "?"), (line, block)
        assert "Traceback" not in block and "internal error" not in block, (line, block)
    assert blocks[-1] == "= 2"


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    """printsgf FILE writes files: keep them in a scratch directory (with a subdirectory named
    like one of the file names, so writing to it fails)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()


def test_fuzz_text_stream():
    lines = fuzz_lines(SEED, LINES)
    out = io.StringIO()
    status = run_gtp(GtpConfig(), io.StringIO("".join(line + "\n" for line in lines)), out)
    assert status == 0
    _check_replies(lines, out.getvalue())


def test_fuzz_byte_stream():
    """The real stdin path: bytes (invalid UTF-8 included) through a text wrapper."""
    lines = fuzz_lines(SEED + 1, LINES // 2)
    data = b"".join(line.encode("utf-8", "surrogatepass") + b"\n" for line in lines)
    raw = [chunk.decode("latin-1") for chunk in data.split(b"\n")[:-1]]
    out = io.StringIO()
    status = run_gtp(GtpConfig(), io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"), out)
    assert status == 0
    _check_replies(raw, out.getvalue())


def test_fuzz_generator_is_deterministic_and_varied():
    lines = fuzz_lines(SEED, LINES)
    assert lines == fuzz_lines(SEED, LINES)
    answered = [l for l in lines if _answered(l)]
    assert len(answered) > LINES // 2
    assert sum(l.startswith("play ") for l in answered) > 100


# ------------------------------------------------------------------------------------------------
# The search commands (genmove, analysis streaming, clocks, params), with a fake search

SEARCH_TOKENS = TOKENS + [
    "interval", "10", "0", "minmoves", "maxmoves", "avoid", "allow", "ownership", "ownershipStdev",
    "movesOwnership", "movesOwnershipStdev", "pvVisits", "pvEdgeVisits", "rootInfo", "noResultValue",
    "D4,Q16", "A1,pass", ",,", "maxVisits", "maxTime", "numSearchThreads", "wideRootNoise",
    "allowResignation", "analysisWideRootNoise", "playoutDoublingAdvantagePla", "none", "absolute",
    "byoyomi", "canadian", "fischer", "fischer-capped", "300", "30", "5", "-1", "1e25", "1e26",
    '{"maxVisits":3}', '{"maxVisits":"x"}',
]


def _search_line(rng: random.Random, names: list[str]) -> str:
    roll = rng.random()
    if roll < 0.3:
        return _state_command(rng)
    if roll < 0.85:
        name = rng.choice(names + JUNK_COMMANDS)
        if name == "printsgf":
            args = rng.sample(SAFE_FILE_NAMES, rng.randint(0, 2))
        else:
            args = [rng.choice(SEARCH_TOKENS) for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 6, 9]))]
        line = " ".join([name] + args)
    else:
        line = _junk(rng)
    if rng.random() < 0.1:
        line = f"{rng.choice(['1', '42', '2147483647'])} {line}"
    return line


def test_fuzz_search_commands():
    """Every line still gets exactly one reply when search commands stream and get interrupted;
    the whole session is time-bound (a hang fails the test instead of blocking the suite)."""
    import threading

    from test_gtp_search import FakeSearcher, fake_engine

    from goloop.engine.gtp import serve

    class CappedSearcher(FakeSearcher):
        def search(self, max_visits=None, max_time=None, **kw):
            cap = 40 if max_visits is None else min(max_visits, 40)
            return super().search(max_visits=cap, max_time=max_time, **kw)

    engine, _ = fake_engine(maxVisits=8, defaultBoardSize=9)
    engine.search.searcher = CappedSearcher(None, engine.search.params.genmove)
    engine.search.params_in_use = engine.search.params.genmove
    names = sorted(n for n in engine.commands if n != "quit")
    rng = random.Random(SEED + 7)
    lines = [_search_line(rng, names) for _ in range(1500)] + ["protocol_version"]
    assert sum(any(line.split()[:1] == [n] for n in ("kata-analyze", "lz-analyze", "analyze"))
               for line in lines if line.split()) > 20
    out = io.StringIO()
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault(
        "status", serve(engine, io.StringIO("".join(line + "\n" for line in lines)), out)), daemon=True)
    runner.start()
    runner.join(timeout=240)
    assert not runner.is_alive(), "the GTP loop hung"
    assert result["status"] == 0
    _check_replies(lines, out.getvalue())
    streamed = out.getvalue().count("\ninfo move ")
    assert streamed > 5  # analysis lines were really printed (and interrupted)
