"""engine.timecontrol and timebudget: GTP time commands, KataGo's per-move budget, search limit.

Expected budgets are worked out by hand from KataGo's formula (timecontrols.cpp getTime) and
written as the arithmetic that produces them, so a failure points at the step that differs. Where
the real KataGo engine printed the same scenario (its `kata-debug-print-tc` GTP regression run, 19x19
empty board, lagBuffer 1.0, 6 significant digits) that printed text is checked too.

Reminders used throughout (stones = stones on the board, area = x_size * y_size):
  turns_abs  = 0.5 * max(0.95*area + 20 - stones, 0.15*area + 30)
  turns_inc  = 0.5 * max(0.75*area + 15 - stones, 0.10*area + 20)
  turns_byo  = 0.5 * max(0.50*area + 10 - stones, 0.02*area + 4)
  lag(t, L)  = t if t < 0; t/2 if t < 2L; else t - L     (applied to min, rec and max at the end)
"""
from __future__ import annotations

import dataclasses
import math

import pytest

from goloop.engine.timebudget import (
    SearchTimeParams,
    TimeControlError,
    apply_lag_buffer,
    carried_over_factor,
    has_max_time,
    midgame_weight,
    search_time_limit,
    upper_bound_visits_left,
    uses_clock,
)
from goloop.engine.timecontrol import (
    BLACK,
    KATA_TIME_SETTINGS_REPLY,
    MAX_USER_INPUT_TIME,
    UNLIMITED_TIME_DEFAULT,
    WHITE,
    TimeControls,
    debug_print_tc,
    parse_time_left,
)

E = math.e
# 19x19, empty board
TA19 = 0.5 * (0.95 * 361 + 20)  # 181.475
TI19 = 0.5 * (0.75 * 361 + 15)  # 142.875
TB19 = 0.5 * (0.50 * 361 + 10)  # 95.25
# 9x9, empty board
TA9 = 0.5 * (0.95 * 81 + 20)  # 48.475
TB9 = 0.5 * (0.50 * 81 + 10)  # 25.25
# 9x9 with 70 stones: 0.95*81 + 20 - 70 = 26.95 is below the floor 0.15*81 + 30 = 42.15
TA9_LATE = 0.5 * (0.15 * 81 + 30)  # 21.075


def kgs(text):
    return TimeControls.parse_kgs_time_settings(text.split())


def kata(text):
    return TimeControls.parse_kata_time_settings(text.split())


def gtp(text):
    return TimeControls.parse_time_settings(text.split())


def error_of(fn, *args):
    with pytest.raises(TimeControlError) as info:
        fn(*args)
    return str(info.value)


# ------------------------------------------------------------------------------------------------
# time_settings MAIN BYO STONES


def test_time_settings_kinds():
    assert gtp("60 0 0") == TimeControls.absolute(60.0)
    assert gtp("60 10 3") == TimeControls.canadian_or_byoyomi(60.0, 10.0, 1, 3)
    # GTP spec: BYO > 0 with STONES 0 means no time limit at all.
    assert gtp("60 10 0") == TimeControls.unlimited()
    # BYO 0 with stones is a Canadian period of zero length, kept as such.
    assert gtp("60 0 5") == TimeControls.canadian_or_byoyomi(60.0, 0.0, 1, 5)
    # KataGo accepts what C++ stream extraction accepts: fractions, exponents, a sign.
    assert gtp("+60.5 .25 3").main_time_left == 60.5
    assert gtp("6e1 5. 3").per_period_time == 5.0
    assert gtp("1e25 0 0").main_time_left == 1e25
    # Surplus arguments are ignored, as in KataGo.
    assert gtp("60 10 3 extra") == gtp("60 10 3")
    # A single string is split on whitespace.
    assert TimeControls.parse_time_settings("60 10 3") == gtp("60 10 3")


@pytest.mark.parametrize(
    "args, message",
    [
        ("", "Expected float for main time as argument 0"),
        ("60", "Expected float for byo-yomi per-period time as argument 1"),
        ("60 10", "Expected int for byo-yomi overtime stones as argument 2"),
        ("abc 10 3", "Expected float for main time as argument 0"),
        ("nan 10 3", "Expected float for main time as argument 0"),
        ("inf 10 3", "Expected float for main time as argument 0"),
        ("0x10 10 3", "Expected float for main time as argument 0"),
        ("1_000 10 3", "Expected float for main time as argument 0"),
        ("1e400 10 3", "Expected float for main time as argument 0"),  # overflows a double
        ("1e 10 3", "Expected float for main time as argument 0"),
        ("-1 10 3", "main time is an invalid value: -1"),
        ("1e26 10 3", "main time is an invalid value: 1e26"),
        ("60 -5 3", "byo-yomi per-period time is an invalid value: -5"),
        ("60 10 2.5", "Expected int for byo-yomi overtime stones as argument 2"),
        ("60 10 99999999999", "Expected int for byo-yomi overtime stones as argument 2"),
        ("60 10 -1", "byo-yomi overtime stones is an invalid value: -1"),
        ("60 10 1000001", "byo-yomi overtime stones is an invalid value: 1000001"),
    ],
)
def test_time_settings_malformed(args, message):
    assert error_of(TimeControls.parse_time_settings, args.split()) == message


def test_time_settings_bounds_are_inclusive():
    assert gtp("0 0 1000000").num_stones_per_period == 1000000
    assert gtp("-0 0 0").main_time_left == 0.0


# ------------------------------------------------------------------------------------------------
# kgs-time_settings and kata-time_settings

KGS_KINDS_ERROR = "Expected 'none', 'absolute', 'byoyomi', or 'canadian' as first argument for kgs-time_settings"
KATA_KINDS_ERROR = (
    "Expected 'none', 'absolute', 'byoyomi', 'canadian', 'fischer', or 'fischer-capped' "
    "as first argument for kata-time_settings"
)


@pytest.mark.parametrize("parse", [kgs, kata])
def test_kgs_kinds_on_both_commands(parse):
    assert parse("none") == TimeControls.unlimited()
    assert parse("NoNe") == TimeControls.unlimited()  # the kind is case-insensitive
    assert parse("none 1 2 3") == TimeControls.unlimited()
    assert parse("absolute 60") == TimeControls.absolute(60.0)
    assert parse("canadian 5 10 3") == TimeControls.canadian_or_byoyomi(5.0, 10.0, 1, 3)
    assert parse("canadian 5 10 0") == TimeControls.unlimited()  # same hack as time_settings
    assert parse("canadian 5 0 0") == TimeControls.absolute(5.0)
    assert parse("byoyomi 20 5 5") == TimeControls.canadian_or_byoyomi(20.0, 5.0, 5, 1)
    assert parse("byoyomi 20 5 0") == TimeControls.absolute(20.0)
    assert parse("byoyomi 20.5 5.8 5").per_period_time == 5.8


def test_kata_only_kinds():
    assert kata("fischer 60 5") == TimeControls.fischer(60.0, 5.0)
    capped = kata("fischer-capped 60 10 60 7")
    assert (capped.main_time_limit, capped.max_time_per_move, capped.increment) == (60.0, 7.0, 10.0)
    # A negative limit means "none", stored as the largest accepted input, which the search
    # treats as unlimited (above the 1e20 threshold).
    uncapped = kata("fischer-capped 60 10 -1 -0.5")
    assert uncapped.main_time_limit == MAX_USER_INPUT_TIME
    assert uncapped.max_time_per_move == MAX_USER_INPUT_TIME
    assert kata("fischer-capped 60 10 60 1e15").max_time_per_move == 1e15


@pytest.mark.parametrize(
    "parse, args, message",
    [
        (kgs, "", KGS_KINDS_ERROR),
        (kgs, "fischer 60 5", KGS_KINDS_ERROR),
        (kgs, "fischer-capped 60 5 -1 -1", KGS_KINDS_ERROR),
        (kgs, "sudden-death 60", KGS_KINDS_ERROR),
        (kata, "", KATA_KINDS_ERROR),
        (kata, "byo-yomi 20 5 5", KATA_KINDS_ERROR),
        (kata, "absolute", "Expected float for main time as argument 1"),
        (kgs, "absolute -3", "main time is an invalid value: -3"),
        (kgs, "canadian 5 x 3", "Expected float for byo-yomi period time as argument 2"),
        (kgs, "canadian 5 10", "Expected int for byo-yomi overtime stones as argument 3"),
        (kgs, "canadian 5 -10 3", "byo-yomi period time is an invalid value: -10"),
        (kgs, "byoyomi 20 x 5", "Expected float for byo-yomi per-period time as argument 2"),
        (kgs, "byoyomi 20 5", "Expected int for byo-yomi overtime periods as argument 3"),
        (kgs, "byoyomi 20 5 -2", "byo-yomi overtime periods is an invalid value: -2"),
        (kata, "fischer 60", "Expected float for increment time as argument 2"),
        (kata, "fischer 60 -1", "increment time is an invalid value: -1"),
        (kata, "fischer-capped 60 10", "Expected float for main time limit as argument 3"),
        (kata, "fischer-capped 60 10 -1", "Expected float for max time per move as argument 4"),
        (kata, "fischer-capped 60 10 -1e26 -1", "main time limit is an invalid value: -1e26"),
        (kata, "fischer-capped 60 10 -1 2e25", "max time per move is an invalid value: 2e25"),
        (kata, "fischer-capped 60 10 50 -1", "TimeControls: mainTimeLimit is smaller than mainTime"),
    ],
)
def test_kind_commands_malformed(parse, args, message):
    assert error_of(parse, args) == message


def test_list_time_settings_reply():
    # The engine's reply (its extension document lists "byo-yomi", but the engine and the parser
    # use "byoyomi"); every listed kind must be accepted by kata-time_settings.
    assert KATA_TIME_SETTINGS_REPLY == "none absolute byoyomi canadian fischer fischer-capped"
    samples = {"none": "", "absolute": "60", "byoyomi": "20 5 5", "canadian": "5 10 3",
               "fischer": "60 5", "fischer-capped": "60 5 -1 -1"}
    for kind in KATA_TIME_SETTINGS_REPLY.split():
        kata(f"{kind} {samples[kind]}")


def test_engine_default_clock():
    # Used when the config sets none of maxVisits / maxPlayouts / maxTime.
    assert TimeControls.engine_default() == kgs("byoyomi 1 5 5")


# ------------------------------------------------------------------------------------------------
# time_left COLOR TIME STONES


def test_parse_time_left():
    assert parse_time_left("black 30 0".split()) == (BLACK, 30.0, 0)
    assert parse_time_left(["W", "5.5", "3"]) == (WHITE, 5.5, 3)
    assert parse_time_left("b -5 1") == (BLACK, -5.0, 1)
    # Range is not checked here: that is apply_time_left's "invalid time" reply.
    assert parse_time_left("white 1e30 0") == (WHITE, 1e30, 0)


@pytest.mark.parametrize(
    "args", ["", "black 30", "black 30 0 x", "red 30 0", "black abc 0", "black nan 0", "black 30 1.5"]
)
def test_parse_time_left_malformed(args):
    assert error_of(parse_time_left, args.split()) == (
        f"Expected player and float time and int stones for time_left but got '{args}'"
    )


@pytest.mark.parametrize(
    "clock, time, stones, message",
    [
        (TimeControls.absolute(60), -10.5, 0, "invalid time"),
        (TimeControls.absolute(60), float("nan"), 0, "invalid time"),
        (TimeControls.absolute(60), 1.1e25, 0, "invalid time"),
        (TimeControls.absolute(60), 30, -1, "invalid stones"),
        (gtp("0 300 25"), 30, 100001, "invalid stones"),
        (TimeControls.absolute(60), 30, 1,
         "stones left in period is > 0 but the time control used does not have any overtime periods"),
        (TimeControls.fischer(60, 5), 30, 2,
         "stones left in period is > 0 but the time control used does not have any overtime periods"),
    ],
)
def test_apply_time_left_rejects(clock, time, stones, message):
    assert error_of(clock.apply_time_left, time, stones) == message


def test_apply_time_left_main_time():
    clock = kgs("byoyomi 20 5 5").apply_time_left(3, 2).apply_time_left(12.5, 0)
    # stones 0: back in main time with all periods, whatever the clock said before.
    assert clock == dataclasses.replace(kgs("byoyomi 20 5 5"), main_time_left=12.5)
    # Slightly negative reports are tolerated (controller lag), down to -10.
    assert TimeControls.absolute(60).apply_time_left(-10, 0).main_time_left == -10
    # Quirk kept from KataGo: time_left on an unlimited clock makes it an absolute one.
    assert TimeControls.unlimited().apply_time_left(30, 0).get_time(361, 0, 0.0)[1] < 30


def test_apply_time_left_overtime_interpretations():
    # Several one-stone periods: KGS's convention, STONES is the number of periods left (capped).
    japanese = kgs("byoyomi 20 5 5")
    assert japanese.apply_time_left(4, 3) == dataclasses.replace(
        japanese, main_time_left=0.0, in_overtime=True, num_periods_left_including_current=3,
        num_stones_left_in_period=1, time_left_in_period=4.0)
    assert japanese.apply_time_left(4, 7).num_periods_left_including_current == 5
    # Otherwise the normal GTP reading: stones left in the single Canadian period (capped).
    canadian = gtp("60 300 25")
    assert canadian.apply_time_left(200, 10) == dataclasses.replace(
        canadian, main_time_left=0.0, in_overtime=True, num_periods_left_including_current=1,
        num_stones_left_in_period=10, time_left_in_period=200.0)
    assert canadian.apply_time_left(200, 100000).num_stones_left_in_period == 25
    # A single one-stone period takes the Canadian reading too.
    assert gtp("0 10 1").apply_time_left(6, 3).num_stones_left_in_period == 1


def test_apply_time_left_returns_new_value():
    clock = TimeControls.absolute(60)
    updated = clock.apply_time_left(40, 0)
    assert clock.main_time_left == 60 and updated.main_time_left == 40
    with pytest.raises(dataclasses.FrozenInstanceError):
        clock.main_time_left = 1  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------
# The budget: (min, recommended, max)

BUDGETS = [
    # id, clock, area, stones, lag, expected (min, rec, max), KataGo's printed "min rec max" or None
    (
        # main = 1e30: excess 1e30 - 1; rec = min(x/TI19, x/TA19 + 0) = x/TA19, then - lag;
        # max = min(main, x/5) - lag.
        "unlimited", TimeControls.unlimited(), 361, 0, 1.0,
        (0.0, 1e30 / TA19 - 1, 1e30 / 5 - 1), "0 5.5104e+27 2e+29",
    ),
    (
        # excess = 60 - 1 = 59; rec = 59/TA19 = 0.325 < 2*lag so it is halved; max = 59/5 - 1.
        "absolute 60", gtp("60 0 0"), 361, 0, 1.0,
        (0.0, 59 / TA19 * 0.5, 59 / 5 - 1), "0 0.162557 10.8",
    ),
    (
        "absolute 40 left", gtp("60 0 0").apply_time_left(40, 0), 361, 0, 1.0,
        (0.0, 39 / TA19 * 0.5, 39 / 5 - 1), "0 0.107453 6.8",
    ),
    (
        # 9x9: excess = 299.5; rec = 299.5/TA9 - 0.5; max = 299.5/5 - 0.5.
        "absolute 9x9 empty", kata("absolute 300"), 81, 0, 0.5,
        (0.0, 299.5 / TA9 - 0.5, 299.5 / 5 - 0.5), None,
    ),
    (
        # 70 stones on 9x9: the turns-left floor applies; no lag.
        "absolute 9x9 late", kata("absolute 300"), 81, 70, 0.0,
        (0.0, 300 / TA9_LATE, 60.0), None,
    ),
    (
        # main <= increment (0): rec = lag(-1) = -1 and max = -1, both clamped to 0.
        "absolute overdue", kata("absolute 60").apply_time_left(-1, 0), 361, 0, 1.0,
        (0.0, 0.0, 0.0), None,
    ),
    (
        # excess = lag(60 - 5) = 54; rec = 5 + min(54/TI19, 54/TA19 + 2*5) - 1; max = min(60, 5 + 54/5) - 1.
        "fischer 60+5", kata("fischer 60 5"), 361, 0, 1.0,
        (0.0, 5 + 54 / TI19 - 1, 5 + 54 / 5 - 1), "0 4.37795 14.8",
    ),
    (
        # excess = 58; rec = 1 + 58/TI19 = 1.406 < 2 so halved; max = 1 + 58/5 - 1.
        "fischer 60+1", kata("fischer 60 1"), 361, 0, 1.0,
        (0.0, (1 + 58 / TI19) * 0.5, 1 + 58 / 5 - 1), "0 0.702975 11.6",
    ),
    (
        # A tiny increment: 3599.9/TI19 = 25.2 exceeds 3599.9/TA19 + 2*0.1 = 20.04, which caps it.
        "fischer tiny increment", kata("fischer 3600 0.1"), 361, 0, 0.0,
        (0.0, 0.1 + 3599.9 / TA19 + 0.2, 0.1 + 3599.9 / 5), None,
    ),
    (
        # main 3 <= increment 5: rec = lag(3) = 2, then lag again at the end: 2 is not < 2, so 1;
        # max = main = 3 -> 2.
        "fischer main below increment", kata("fischer 60 5").apply_time_left(3, 0), 361, 0, 1.0,
        (0.0, 1.0, 2.0), None,
    ),
    (
        # Cap 60: min = min(60/2, 60 + 10 - 60) = 10 -> 9 (thinking less only loses time to the cap);
        # excess = 49; rec = 10 + 49/TI19 - 1; max = min(60, 10 + 49/5) - 1.
        "fischer capped full", kata("fischer-capped 60 10 60 -1"), 361, 0, 1.0,
        (9.0, 10 + 49 / TI19 - 1, 10 + 49 / 5 - 1), "9 9.34296 18.8",
    ),
    (
        # main 30: min = min(15, max(0, 30 + 10 - 60)) = 0; excess = 19; max = min(30, 10 + 19/5) - 1.
        "fischer capped half", kata("fischer-capped 60 10 60 -1").apply_time_left(30, 0), 361, 0, 1.0,
        (0.0, 10 + 19 / TI19 - 1, 10 + 19 / 5 - 1), "0 9.13298 12.8",
    ),
    (
        # max time per move 7 caps max before the lag: 7 - 1 = 6, and min and rec are clamped to it.
        "fischer capped per move", kata("fischer-capped 60 10 60 7"), 361, 0, 1.0,
        (6.0, 6.0, 6.0), "6 6 6",
    ),
    (
        # Canadian 10 s / 3 stones: per move b = 10/3; optimal turns = (60/b)/e = 18/e; TB19 > that,
        # so stretch to min(TB19, 1.75 * 18/e) = 31.5/e; rec = 60/(31.5/e) - 1.
        # max: large = 10/(0.75*3 + 0.25) = 4; 4 + max(min(1.75*4, 60), 60/5) = 16 -> 15.
        "canadian main time", gtp("60 10 3"), 361, 0, 1.0,
        (0.0, 60 * E / 31.5 - 1, 15.0), "0 4.17768 15",
    ),
    (
        # In overtime: 15 s for 2 stones: rec = 15/2 - 1; max = 15/(0.75*2 + 0.25) - 1.
        "canadian overtime", gtp("60 10 3").apply_time_left(15, 2), 361, 0, 1.0,
        (0.0, 15 / 2 - 1, 15 / 1.75 - 1), "0 6.5 7.57143",
    ),
    (
        # Last stone of the last period: the lag buffer doubles to 2; min = rec = max = 2 -> 2/2.
        "canadian last stone", kgs("canadian 5 10 3").apply_time_left(2, 1), 361, 0, 1.0,
        (1.0, 1.0, 1.0), "1 1 1",
    ),
    (
        # Main time -5 rolls into the period: 10 - 5 = 5 s for 3 stones: rec = 5/3 (< 2, halved);
        # max = 5/(0.75*3 + 0.25) = 2 (not < 2, so - 1).
        "canadian negative main", gtp("60 10 3").apply_time_left(-5, 0), 361, 0, 1.0,
        (0.0, 5 / 3 * 0.5, 1.0), "0 0.833333 1",
    ),
    (
        # Single Japanese period, no main time: optimal turns 0 -> clamped to 1, per move 0 -> raised to
        # b = 10, then "dip in": 0 + 10. max: large = 10; 10 + max(min(17.5, 0), 0) = 10. Entering the
        # only period with one stone doubles the lag: 10 - 2 = 8.
        "japanese no main time", gtp("0 10 1"), 361, 0, 1.0,
        (0.0, 8.0, 8.0), "0 8 8",
    ),
    (
        # b = 5; optimal turns = 4/e, stretched to 1.75 * 4/e = 7/e; rec = 20/(7/e) - 1.
        # max: large = 5; 5 + max(min(8.75, 20), 4) = 13.75 -> 12.75.
        "byoyomi 5x5 main", kgs("byoyomi 20 5 5"), 361, 0, 1.0,
        (0.0, 20 * E / 7 - 1, 12.75), "0 6.76652 12.75",
    ),
    (
        # 7 periods: the 2 beyond the reserved 5 count as main time: 20 + 2*7 = 34. b = 7;
        # turns = 1.75 * (34/7)/e, so per move = 7e/1.75 = 4e; max: 7 + max(min(12.25, 34), 6.8) - 1.
        "byoyomi 7x7 main", kgs("byoyomi 20 7 7"), 361, 0, 1.0,
        (0.0, 4 * E - 1, 18.25), "0 9.87313 18.25",
    ),
    (
        # In overtime with 7 periods: main = 10 (this period) + 7 * (7 - 5 - 1) = 17; per move 4e again.
        # max: 7 + max(min(12.25, 17), 3.4) = 19.25 lies between 17 and 17 + 7, so it becomes 24 -> 23.
        "byoyomi 7 periods in overtime", kgs("byoyomi 20 7 7").apply_time_left(10, 7), 361, 0, 1.0,
        (0.0, 4 * E - 1, 23.0), "0 9.87313 23",
    ),
    (
        # 5 periods, 10 s in the current one: no "give up this period" (lag(10) = 9 is not below
        # lag(2.5) * 4/4 = 1.5); one stone: min = rec = max = 10 -> 9.
        "byoyomi 5 periods overtime", kgs("byoyomi 20 5 5").apply_time_left(10, 7), 361, 0, 1.0,
        (9.0, 9.0, 9.0), "9 9 9",
    ),
    (
        # 0 s left in the period with 5 periods: 0 < 1.5, so use up this period and think with the
        # next: 4 periods, 5 s -> 4.
        "byoyomi give up a period", kgs("byoyomi 20 5 5").apply_time_left(0, 7), 361, 0, 1.0,
        (4.0, 4.0, 4.0), "4 4 4",
    ),
    (
        # Last period, last stone: lag doubles to 2: 10 - 2.
        "byoyomi last period", kgs("byoyomi 20 7 7").apply_time_left(10, 1), 361, 0, 1.0,
        (8.0, 8.0, 8.0), "8 8 8",
    ),
    (
        # 9x9, 1 period of 5 s, main 600, no lag: optimal turns = 120/e = 44.1 >= TB9 = 25.25, so no
        # stretch, and below TA9; per move = 600/(120/e) = 5e. max: 5 + max(min(8.75, 600), 120).
        "byoyomi 9x9 long main", kgs("byoyomi 600 5 1"), 81, 0, 0.0,
        (0.0, 5 * E, 125.0), None,
    ),
    (
        # Main 44.9 < 1.5 * b (b = 30): optimal turns ~0.55 -> 1, per move 44.9 < 45, so dip into
        # byo-yomi: 44.9 + 30 = 74.9. max: 30 + max(min(52.5, 44.9), 8.98) = 74.9. Max goes past main
        # time into the only one-stone period, so the lag doubles: both 74.9 - 2.
        "byoyomi dip into overtime", gtp("44.9 30 1"), 361, 0, 1.0,
        (0.0, 72.9, 72.9), None,
    ),
]


@pytest.mark.parametrize(
    "clock, area, stones, lag, expected, printed",
    [row[1:] for row in BUDGETS],
    ids=[row[0] for row in BUDGETS],
)
def test_budget_table(clock, area, stones, lag, expected, printed):
    got = clock.get_time(area, stones, lag)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    if printed is not None:
        assert " ".join(format(x, "g") for x in got) == printed


def test_budget_uses_stones_on_board_not_turn_number():
    # Same clock, more stones -> fewer turns expected -> more time now (until the floor).
    clock = kata("absolute 600")
    recs = [clock.get_time(361, stones, 0.0)[1] for stones in range(0, 400, 20)]
    assert recs == sorted(recs)
    # Past 0.95*361 + 20 - (0.15*361 + 30) = 279 stones the floor holds the estimate still.
    assert clock.get_time(361, 280, 0.0) == clock.get_time(361, 360, 0.0)


def test_budget_rejects_bad_board_area():
    assert "board area" in error_of(TimeControls.absolute(60).get_time, 0, 0, 0.0)


@pytest.mark.parametrize(
    "clock, message",
    [
        (TimeControls(increment=1.0, in_overtime=True),
         "TimeControls: inOvertime with Fischer or absolute time, inconsistent time control?"),
        (TimeControls(num_periods_left_including_current=-1),
         "TimeControls: numPeriodsLeftIncludingCurrent != 0 with Fischer or absolute time, "
         "inconsistent time control?"),
        (TimeControls(original_main_time=60, main_time_limit=30),
         "TimeControls: mainTimeLimit is smaller than original mainTime"),
        (dataclasses.replace(gtp("60 10 3"), main_time_limit=100.0),
         "TimeControls: mainTimeLimit is used with byo-yomiish periods, inconsistent time control?"),
        (dataclasses.replace(gtp("60 10 3"), num_stones_per_period=0),
         "TimeControls: numStonesPerPeriod <= 0 with byo-yomiish periods, inconsistent time control?"),
        (dataclasses.replace(kgs("byoyomi 20 5 5"), num_periods_left_including_current=4),
         "TimeControls: not in overtime, but numPeriodsLeftIncludingCurrent != originalNumPeriods"),
        (dataclasses.replace(gtp("60 10 3").apply_time_left(5, 2), num_stones_left_in_period=0),
         "TimeControls: numStonesLeftInPeriod < 1 while in overtime, inconsistent time control?"),
    ],
)
def test_budget_rejects_inconsistent_clocks(clock, message):
    assert error_of(clock.get_time, 361, 0, 1.0) == message


def test_budget_invariants():
    clocks = [row[1] for row in BUDGETS]
    for clock in clocks:
        for area, stones in [(81, 0), (81, 60), (361, 0), (361, 250)]:
            for lag in (0.0, 0.5, 3.0):
                low, rec, high = clock.get_time(area, stones, lag)
                assert 0.0 <= low <= high and 0.0 <= rec <= high


# ------------------------------------------------------------------------------------------------
# Monotonicity: more time on the clock never lowers the recommendation ...


def _recs(make, times, area=361, stones=0, lag=1.0):
    return [make(t).get_time(area, stones, lag) for t in times]


@pytest.mark.parametrize(
    "make",
    [
        lambda t: kata("absolute 60").apply_time_left(t, 0),
        lambda t: kata("fischer 60 5").apply_time_left(t, 0),
        lambda t: kata("fischer 60 0.5").apply_time_left(t, 0),
        lambda t: kata("fischer-capped 0 10 10000 30").apply_time_left(t, 0),
        lambda t: gtp("0 300 25").apply_time_left(min(t, 300), 5),  # Canadian period time
        lambda t: kgs("byoyomi 0 30 1").apply_time_left(min(t, 30), 1),  # last Japanese period
    ],
    ids=["absolute", "fischer", "fischer small inc", "fischer capped", "canadian overtime", "byoyomi overtime"],
)
def test_more_time_never_less_recommended(make):
    times = [i * 0.25 for i in range(0, 16001)]
    budgets = _recs(make, times)
    for field in range(3):  # min, rec and max are all non-decreasing here
        series = [b[field] for b in budgets]
        assert _non_decreasing(series), field


def _non_decreasing(values):
    return all(a <= b + 1e-12 for a, b in zip(values, values[1:]))


def test_byoyomi_main_time_monotone_except_the_dip():
    # With byo-yomi after main time the recommendation is non-decreasing in main time EXCEPT at
    # 1.5 * (period / stones): just below it KataGo spends all main time plus one move's share of
    # the period ("dip in"), just above it only the main time. KataGo behaves the same way and
    # round_up_time_limit_if_needed covers the gap during the search.
    make = lambda t: gtp("0 30 1").apply_time_left(t, 0)  # noqa: E731
    below, above = _recs(make, [44.9, 45.0])
    # Both sides plan past main time into the single one-stone period, so the lag doubles to 2.
    assert below[1] == pytest.approx(44.9 + 30 - 2) and above[1] == pytest.approx(45 - 2)
    assert _non_decreasing([b[1] for b in _recs(make, [45 + i * 0.25 for i in range(0, 12000)])])
    assert _non_decreasing([b[1] for b in _recs(make, [i * 0.25 for i in range(0, 180)])])


def test_byoyomi_overtime_monotone_except_giving_up_a_period():
    # In overtime with periods to spare, a period nearly gone is abandoned for the next one when
    # lag(left) < lag(period/2) * (periods - 1) / 4: here lag(15, 1) * 1/4 = 3.5, i.e. below 4.5 s
    # left the move gets 4.4 + 30 s (and, now on its last period and stone, a doubled lag of 2),
    # above it only what is left.
    make = lambda t: kgs("byoyomi 0 30 3").apply_time_left(t, 2)  # noqa: E731
    below, above = _recs(make, [4.4, 4.5])
    assert below == pytest.approx((34.4 - 2,) * 3) and above == pytest.approx((4.5 - 1,) * 3)
    assert _non_decreasing([b[1] for b in _recs(make, [4.5 + i * 0.25 for i in range(0, 102)])])


# ------------------------------------------------------------------------------------------------
# Rounding a limit up so byo-yomi time is not wasted


def test_round_up_only_for_byoyomi_clocks():
    for clock in (kata("absolute 60"), kata("fischer 60 5"), TimeControls.unlimited()):
        assert clock.round_up_time_limit_if_needed(1.0, 5.0, 3.0) == 3.0


def test_round_up_japanese():
    clock = gtp("0 10 1")
    # Main time 0 < half a move's share (5): use it all plus the buffered period, lag(10) = 9.
    assert clock.round_up_time_limit_if_needed(1.0, 0.0, 8.0) == 9.0
    # byoyomi 20 7 7 with 10 s main: planning 9.87 s leaves 0.127 s main (< 3.5), so go on to
    # 9.873 + 0.127 + lag(7) = 16 (KataGo prints rreclimit 16 for this).
    main10 = kgs("byoyomi 20 7 7").apply_time_left(10, 0)
    rec = main10.get_time(361, 0, 1.0)[1]
    assert main10.round_up_time_limit_if_needed(1.0, rec - 1e-6, rec) == pytest.approx(16.0)
    # Plenty of main time left: no change.
    assert main10.round_up_time_limit_if_needed(1.0, 0.0, rec) == rec
    # Last stone in overtime: lag(time used + time left in period) = lag(0 + 10).
    overtime = kgs("byoyomi 20 7 7").apply_time_left(10, 1)
    assert overtime.round_up_time_limit_if_needed(1.0, 0.0, 8.0) == 9.0


def test_round_up_canadian():
    clock = gtp("60 300 25").apply_time_left(1.0, 0)  # 1 s of main time, then 300 s / 25 stones
    # b = 12; lag(12, 1) = 11; bit of time = min(max(1, 0.11), 11) = 1.
    # Main time 1 < 6: use it and get a bit into the period: 0 + 1 + 1 = 2.
    assert clock.round_up_time_limit_if_needed(1.0, 0.0, 0.5) == 2.0
    # Having just entered the period by 0.5 s (< bit of time 1): make it 1 s: 1.5 + 1 - 0.5.
    assert clock.round_up_time_limit_if_needed(1.0, 1.5, 1.5) == 2.0
    # Already in overtime with stones to spare: nothing is wasted by stopping.
    assert gtp("60 300 25").apply_time_left(100, 5).round_up_time_limit_if_needed(1.0, 3.0, 4.0) == 4.0
    # Period already overrun: leave the limit alone.
    assert gtp("60 300 25").apply_time_left(2, 1).round_up_time_limit_if_needed(1.0, 5.0, 4.0) == 4.0


# ------------------------------------------------------------------------------------------------
# after_move: a simulated clock


def test_absolute_time_runs_out():
    clock = kata("absolute 60")
    clock = clock.after_move(20.0)
    assert (clock.main_time_left, clock.lost_on_time) == (40.0, False)
    clock = clock.after_move(40.0)  # exactly used up is still alive
    assert (clock.main_time_left, clock.lost_on_time) == (0.0, False)
    clock = clock.after_move(0.5)
    assert (clock.main_time_left, clock.lost_on_time) == (-0.5, True)
    # The budget on an exhausted clock is nothing at all.
    assert clock.get_time(361, 100, 1.0) == (0.0, 0.0, 0.0)
    # The controller's report is authoritative and clears the flag.
    assert clock.apply_time_left(30, 0).lost_on_time is False


def test_fischer_increments():
    clock = kata("fischer 60 5").after_move(10.0)
    assert clock.main_time_left == 55.0  # 60 - 10 + 5
    clock = clock.after_move(0.0)
    assert clock.main_time_left == 60.0  # uncapped: may exceed the starting time
    clock = clock.after_move(0.0)
    assert clock.main_time_left == 65.0
    # Out of time before the increment arrives: no increment.
    late = kata("fischer 60 5").apply_time_left(3, 0).after_move(4.0)
    assert (late.main_time_left, late.lost_on_time) == (-1.0, True)


def test_fischer_capped_limits():
    clock = kata("fischer-capped 60 10 60 30")
    assert clock.after_move(5.0).main_time_left == 60.0  # 65 capped at 60
    assert clock.after_move(25.0).main_time_left == 45.0
    over = clock.after_move(31.0)  # more than max time per move: lost even with main time left
    assert over.lost_on_time and over.main_time_left == 39.0


def test_byoyomi_periods():
    clock = kgs("byoyomi 20 5 5").after_move(15.0)
    assert (clock.main_time_left, clock.in_overtime) == (5.0, False)
    # 8 s with 5 s of main time: 3 s into the first period; the move is its stone, so the period
    # starts over in full.
    clock = clock.after_move(8.0)
    assert (clock.in_overtime, clock.num_periods_left_including_current) == (True, 5)
    assert (clock.time_left_in_period, clock.num_stones_left_in_period) == (5.0, 1)
    assert clock.main_time_left == 0.0
    # Exactly the period: kept.
    clock = clock.after_move(5.0)
    assert (clock.num_periods_left_including_current, clock.time_left_in_period) == (5, 5.0)
    # 7 s: one period is lost, the move ends 2 s into the next.
    clock = clock.after_move(7.0)
    assert (clock.num_periods_left_including_current, clock.time_left_in_period) == (4, 5.0)
    # 12 s: two more periods lost.
    clock = clock.after_move(12.0)
    assert (clock.num_periods_left_including_current, clock.lost_on_time) == (2, False)
    # 10.5 s with 2 periods of 5 s: everything overrun.
    clock = clock.after_move(10.5)
    assert clock.lost_on_time and clock.num_periods_left_including_current == 1
    assert clock.time_left_in_period == -0.5
    # The state stays usable by the budget (it is what KataGo would hear from time_left).
    assert kgs("byoyomi 20 5 5").after_move(30.0).get_time(361, 0, 1.0) == (4.0, 4.0, 4.0)


def test_canadian_stones_and_period_reset():
    clock = gtp("60 300 25").after_move(70.0)  # 10 s into the period, first stone played
    assert (clock.time_left_in_period, clock.num_stones_left_in_period) == (290.0, 24)
    for _ in range(23):
        clock = clock.after_move(10.0)
    assert (clock.time_left_in_period, clock.num_stones_left_in_period) == (60.0, 1)
    clock = clock.after_move(10.0)  # the 25th stone: a fresh period
    assert (clock.time_left_in_period, clock.num_stones_left_in_period) == (300.0, 25)
    assert clock.num_periods_left_including_current == 1 and not clock.lost_on_time
    lost = gtp("60 300 25").apply_time_left(50, 5).after_move(51.0)
    assert lost.lost_on_time and lost.time_left_in_period == -1.0


def test_after_move_unlimited_and_bad_input():
    clock = TimeControls.unlimited().after_move(1e6)
    assert not clock.lost_on_time and clock.is_effectively_unlimited()
    assert "elapsed" in error_of(TimeControls.absolute(60).after_move, -1.0)
    assert "elapsed" in error_of(TimeControls.absolute(60).after_move, float("nan"))


# ------------------------------------------------------------------------------------------------
# describe / kata-debug-print-tc


def test_describe_matches_katago_debug_print():
    # Lines as KataGo's engine printed them (19x19 empty board, lagBuffer 1).
    assert TimeControls.unlimited().describe(361, 0, 1.0) == (
        "originalMainTime 1e+30 mainTimeLeft 1e+30 inOvertime 0 minRecMax 0 5.5104e+27 2e+29 "
        "rrec0 5.5104e+27 rreclimit 5.5104e+27 rreclimit2 5.5104e+27"
    )
    assert kgs("byoyomi 20 7 7").apply_time_left(10, 0).describe(361, 0, 1.0) == (
        "originalMainTime 20 originalNumPeriods 7 numStonesPerPeriod 1 perPeriodTime 7 mainTimeLeft 10 "
        "inOvertime 0 numPeriodsLeftIncludingCurrent 7 minRecMax 0 9.87313 18.25 rrec0 9.87313 "
        "rreclimit 16 rreclimit2 16"
    )
    assert kata("fischer-capped 60 10 60 1e15").describe(361, 0, 1.0) == (
        "originalMainTime 60 increment 10 mainTimeLimit 60 maxTimePerMove 1e+15 mainTimeLeft 60 "
        "inOvertime 0 minRecMax 9 9.34296 18.8 rrec0 9.34296 rreclimit 9.34296 rreclimit2 9.34296"
    )
    black = gtp("60 10 3").apply_time_left(40, 0)
    white = gtp("60 10 3").apply_time_left(15, 2)
    assert debug_print_tc(black, white, 361, 0, 1.0) == (
        "Black originalMainTime 60 originalNumPeriods 1 numStonesPerPeriod 3 perPeriodTime 10 "
        "mainTimeLeft 40 inOvertime 0 numPeriodsLeftIncludingCurrent 1 minRecMax 0 4.17768 11 "
        "rrec0 4.17768 rreclimit 4.17768 rreclimit2 4.17768\n"
        "White originalMainTime 60 originalNumPeriods 1 numStonesPerPeriod 3 perPeriodTime 10 "
        "mainTimeLeft 0 inOvertime 1 numPeriodsLeftIncludingCurrent 1 numStonesLeftInPeriod 2 "
        "timeLeftInPeriod 15 minRecMax 0 6.5 7.57143 rrec0 6.5 rreclimit 6.5 rreclimit2 6.5"
    )


def test_describe_without_board():
    assert kata("fischer 62.5 2.5").describe() == (
        "originalMainTime 62.5 increment 2.5 mainTimeLeft 62.5 inOvertime 0"
    )


# ------------------------------------------------------------------------------------------------
# From budget to search limit


ABS60 = gtp("60 0 0")  # (0, 59/TA19/2, 10.8) with lag 1
CAPPED = kata("fischer-capped 60 10 60 -1")  # (9, 10 + 49/TI19 - 1, 18.8) with lag 1
LAG1 = SearchTimeParams(lag_buffer=1.0)


def limit(clock, **kw):
    args = dict(board_area=361, stones_on_board=0, turn_number=0, time_used=0.0, params=LAG1)
    args.update(kw)
    return search_time_limit(clock, **args)


def test_search_limit_defaults_are_the_recommendation():
    assert limit(ABS60) == pytest.approx(59 / TA19 * 0.5)
    assert limit(CAPPED) == pytest.approx(10 + 49 / TI19 - 1)
    # Japanese byo-yomi: rec 8 is rounded up to 9 (waste nothing) but capped at max 8.
    assert limit(gtp("0 10 1")) == 8.0


def test_search_limit_factors():
    rec = 59 / TA19 * 0.5
    assert limit(ABS60, params=dataclasses.replace(LAG1, overallocate_time_factor=2.0)) == pytest.approx(2 * rec)
    mid = dataclasses.replace(LAG1, midgame_time_factor=2.0)
    # Weight rises linearly to turn 130 (19x19): turn 65 -> 0.5 -> x1.5; then decays: turn 230 -> e^-1.
    assert limit(ABS60, params=mid, turn_number=65) == pytest.approx(1.5 * rec)
    assert limit(ABS60, params=mid, turn_number=230) == pytest.approx((1 + math.exp(-1)) * rec)
    obvious = dataclasses.replace(LAG1, obvious_moves_time_factor=0.5)
    # Obviousness = min(exp(-entropy/0.30), exp(-surprise/0.15)).
    assert limit(ABS60, params=obvious, policy_surprise_and_entropy=(0.0, 0.0)) == pytest.approx(0.5 * rec)
    assert limit(ABS60, params=obvious, policy_surprise_and_entropy=(0.0, 0.3)) == pytest.approx(
        (1 - 0.5 * math.exp(-1)) * rec)
    assert limit(ABS60, params=obvious) == pytest.approx(rec)  # no policy stats: no effect
    # Half the recommendation already searched (pondering): softplus(0.5 * 6) / 6.
    assert limit(ABS60, carried_over=rec / 2) == pytest.approx(rec * math.log(1 + math.exp(3)) / 6)


def test_search_limit_min_max_and_search_factor():
    low, rec, high = CAPPED.get_time(361, 0, 1.0)
    # The search factor (passes, winning) alone may undercut min ...
    assert limit(CAPPED, search_factor=0.5) == pytest.approx(rec * 0.5)
    # ... but never exceeds max.
    assert limit(CAPPED, search_factor=3.0) == high
    # Overallocation is capped at max before the search factor.
    assert limit(CAPPED, params=dataclasses.replace(LAG1, overallocate_time_factor=5.0)) == high
    # An obvious move's shortened time is raised back to min (9) before the search factor.
    obvious = dataclasses.replace(LAG1, obvious_moves_time_factor=0.01)
    assert limit(CAPPED, params=obvious, policy_surprise_and_entropy=(0.0, 0.0)) == low


def test_search_limit_futile_stop():
    seen = []

    def futile(planned):
        seen.append(planned)
        return True

    assert limit(ABS60, time_used=0.1, stop_as_futile=futile) == pytest.approx(0.1 * (1 - 1e-10))
    assert seen == [pytest.approx(59 / TA19 * 0.5)]
    assert limit(ABS60, time_used=0.1, stop_as_futile=lambda planned: False) == pytest.approx(59 / TA19 * 0.5)


def test_search_time_helpers():
    assert apply_lag_buffer(-3.0, 1.0) == -3.0
    assert apply_lag_buffer(1.5, 1.0) == 0.75
    assert apply_lag_buffer(2.0, 1.0) == 1.0
    assert apply_lag_buffer(5.0, 0.0) == 5.0
    assert uses_clock(ABS60, pondering=False)
    assert not uses_clock(ABS60, pondering=True)
    assert not uses_clock(TimeControls.unlimited(), pondering=False)
    # An unlimited clock with a per-move cap is a real limit.
    assert uses_clock(kata("fischer-capped 1e24 0 -1 30"), pondering=False)
    assert has_max_time(10.0) and not has_max_time(1e20)
    assert midgame_weight(0, 361, 130, 100) == 0.0
    assert midgame_weight(130, 361, 130, 100) == 1.0
    assert midgame_weight(15, 81, 130, 100) == pytest.approx(15 / (130 * 81 / 361))
    assert carried_over_factor(10.0, 0.0) == 1.0
    assert carried_over_factor(0.0, 5.0) == 1.0
    # Needs 2 visits and 0.1 s of thought; then visits scale with the remaining time.
    assert upper_bound_visits_left(1, 5.0, 10.0, 0.0, 1) == 1e30
    assert upper_bound_visits_left(100, 0.05, 10.0, 0.0, 1) == 1e30
    assert upper_bound_visits_left(100, 2.0, 10.0, 0.0, 4) == math.ceil(8 / 2 * 100 + 3)
    assert upper_bound_visits_left(100, 2.0, 10.0, 2.0, 1) == math.ceil(8 / 4 * 100)


def test_unlimited_default_magnitudes():
    assert TimeControls().main_time_left == UNLIMITED_TIME_DEFAULT
    assert TimeControls().is_effectively_unlimited()
    assert not TimeControls.absolute(1e19).is_effectively_unlimited()
