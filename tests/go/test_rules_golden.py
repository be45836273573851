"""Golden test: legality and exact scores of KataGo's recorded random games (rules_games.json).

For every attempted move goloop must accept exactly what KataGo's GTP `play` accepted and call
strictly legal exactly what KataGo's legality mask did; final scores must equal KataGo's exact
figures (see shared/reference/README.md for how each kind of score was produced).
"""
import json
import pathlib

import pytest

from goloop.common.go.coords import gtp_to_point
from goloop.common.go.history import History, format_score
from goloop.common.go.rules import parse_rules

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
GAMES = json.loads((SHARED / "reference" / "rules_games.json").read_text())["games"]


def _replay(game, prevent_encore):
    size = game["board_size"]
    rules = parse_rules(game["rules"], komi=game["komi"])
    hist = History(rules, size, prevent_encore=prevent_encore)
    labels = []
    for (color, vertex, accepted), strict in zip(game["attempts"], game["attempts_strict_legal"]):
        move = gtp_to_point(vertex, size, size)
        labels.append((hist.is_playable(move, color), hist.is_legal(move, color),
                       accepted, strict, vertex))
        if accepted:
            hist.play(move, color)
    return hist, labels


@pytest.mark.parametrize("game", GAMES, ids=lambda g: f"{g['rules']}-{g['game_index']}")
def test_play_and_strict_legality_match_katago(game):
    hist, labels = _replay(game, prevent_encore=True)
    wrong = [(i, v, ours_play, ours_legal, acc, strict)
             for i, (ours_play, ours_legal, acc, strict, v) in enumerate(labels)
             if ours_play != acc or ours_legal != strict]
    assert not wrong, f"{len(wrong)} attempts differ, first: {wrong[:5]}"
    played = [(("B", "W")[c - 1], m) for c, m in hist.moves]
    expected = [(c, gtp_to_point(v, hist.x_size, hist.y_size)) for c, v in game["moves"]]
    assert played == expected
    # showboard rows: a 3-character row label, then 2 characters a point (stone, last-move mark).
    theirs = [line[3::2][:hist.x_size] for line in game["final_showboard"][2:2 + hist.y_size]]
    assert hist.board.to_ascii().splitlines() == theirs


def _score(text):
    """'W+13.0' / 'B+2' / '0' as white minus black."""
    if text in ("0", "Draw"):
        return 0.0
    value = float(text[2:])
    return value if text[0] == "W" else -value


@pytest.mark.parametrize("game", GAMES, ids=lambda g: f"{g['rules']}-{g['game_index']}")
def test_exact_final_score_matches_katago(game):
    if game["rules"] == "japanese":
        hist, _ = _replay(game, prevent_encore=False)
        for _ in range(4):
            hist.play(None, hist.next_player)
        assert hist.is_finished
        assert hist.final_score == _score(game["exact_territory_score_after_encore"])
    elif game["rules"] == "chinese":
        hist, _ = _replay(game, prevent_encore=True)
        assert hist.is_finished
        assert hist.final_score == _score(game["exact_area_score_strict"])
    else:
        hist, _ = _replay(game, prevent_encore=True)
        assert hist.is_finished
        assert hist.final_score == _score(game["final_score"])
        assert format_score(hist.final_score) == game["final_score"].replace(".0", "")
