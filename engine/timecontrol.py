"""Game clocks for genmove: the clock's kinds, the GTP time commands, and running the clock.

Why a faithful copy of KataGo's numbers: a controller (KGS, OGS, Sabaki, a tournament runner) that
works with KataGo must see goloop spend its clock the same way, neither flagging nor leaving half
its time unused. Everything here is pure: a `TimeControls` is a frozen value and every operation
returns a new one, so nothing can alias one colour's clock into the other's.

How the GTP engine uses this module (KataGo's behaviour, gtp.cpp):

* It keeps ONE `TimeControls` PER COLOUR. `time_settings`, `kgs-time_settings` and
  `kata-time_settings` build one value and store it for both colours; `time_left COLOR T S` replaces
  only that colour's value with `clock.apply_time_left(T, S)`.
* With no time command at all, both colours are unlimited (`TimeControls()`), except that a config
  setting none of `maxVisits`, `maxPlayouts`, `maxTime` starts both at `TimeControls.engine_default()`
  (1 s main time, 5 periods of 5 s byo-yomi) so that a bare engine still moves quickly.
* `genmove COLOR` hands that colour's clock to the search, which asks `search_time_limit` (at most
  every 0.1 s, and never for pondering) how long to think; that planning (the clock's per-move
  budget `get_time` and the search limit) is in timebudget.py. The clock itself is NOT advanced by
  genmove: KataGo never runs its own clock and relies on the controller's `time_left` before every
  move; without one, every move is planned from the last state it was told. `after_move` exists for
  places that do run a clock themselves (match/self-play harnesses, tests), not for the GTP loop.
* `kata-list_time_settings` replies `KATA_TIME_SETTINGS_REPLY`; `kata-debug-print-tc` replies
  `debug_print_tc(black, white, ...)`.

A parse error's message is exactly the text KataGo replies with after `? `, so the engine can
forward `str(err)`. Like KataGo, surplus arguments after the ones a command needs are ignored.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

from goloop.engine.timebudget import (
    UNLIMITED_TIME_THRESHOLD,
    TimeControlError,
    TimeControlsBudget,
)

# KataGo's magnitudes for "no limit" (UNLIMITED_TIME_THRESHOLD, above which the search treats a
# clock as unlimited, is in timebudget); user input above MAX_USER_INPUT_TIME is refused.
MAX_USER_INPUT_TIME = 1e25
UNLIMITED_TIME_DEFAULT = 1e30
UNLIMITED_TIME_DEFAULT_LARGE = 1e40

# time_left tolerates slightly negative reports (a controller's lag), down to this.
MIN_TIME_LEFT = -10.0
# Bounds KataGo puts on integer period/stone counts.
MAX_PERIODS_OR_STONES = 1_000_000
MAX_TIME_LEFT_STONES = 100_000

KATA_TIME_SETTINGS_KINDS = ("none", "absolute", "byoyomi", "canadian", "fischer", "fischer-capped")
KGS_TIME_SETTINGS_KINDS = ("none", "absolute", "byoyomi", "canadian")
# The engine's reply to kata-list_time_settings. (KataGo's extension document spells one kind
# "byo-yomi", but the engine replies "byoyomi", the word kata-time_settings actually accepts.)
KATA_TIME_SETTINGS_REPLY = " ".join(KATA_TIME_SETTINGS_KINDS)

BLACK, WHITE = 1, 2
_COLORS = {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}

# What C++'s `istream >> double` / `>> int` accept: no nan/inf/hex/underscores, and (checked after
# matching) no overflow.
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_INT = re.compile(r"[+-]?[0-9]+")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

Args = Union[str, Sequence[str]]


# ---------------------------------------------------------------------------------------------
# Number parsing with KataGo's acceptance rules


def _try_float(text: str) -> Optional[float]:
    text = text.strip()
    if not _FLOAT.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _try_int(text: str) -> Optional[int]:
    text = text.strip()
    if not _INT.fullmatch(text) or len(text.lstrip("+-").lstrip("0")) > 10:
        return None
    value = int(text)
    return value if _INT32_MIN <= value <= _INT32_MAX else None


def _time_arg(args: Sequence[str], idx: int, what: str, allow_negative: bool = False) -> float:
    value = _try_float(args[idx]) if idx < len(args) else None
    if value is None:
        raise TimeControlError(f"Expected float for {what} as argument {idx}")
    low = -MAX_USER_INPUT_TIME if allow_negative else 0.0
    if not low <= value <= MAX_USER_INPUT_TIME:
        raise TimeControlError(f"{what} is an invalid value: {args[idx]}")
    return value


def _count_arg(args: Sequence[str], idx: int, what: str) -> int:
    value = _try_int(args[idx]) if idx < len(args) else None
    if value is None:
        raise TimeControlError(f"Expected int for byo-yomi overtime {what} as argument {idx}")
    if not 0 <= value <= MAX_PERIODS_OR_STONES:
        raise TimeControlError(f"byo-yomi overtime {what} is an invalid value: {args[idx]}")
    return value


def _split(args: Args) -> Sequence[str]:
    return args.split() if isinstance(args, str) else args


def _fmt(value: float) -> str:
    """A number as C++'s default ostream prints it (6 significant digits, %g style)."""
    return format(value, "g")


# ---------------------------------------------------------------------------------------------
# The clock


@dataclass(frozen=True)
class TimeControls(TimeControlsBudget):
    """One player's clock: the time control in force plus what is left of it.

    One model covers every kind: absolute is Fischer with no increment; byo-yomi is periods of one
    stone; Canadian is one period of several stones. An increment together with periods is not a
    supported combination. The defaults are an unlimited clock. The per-move budget (`get_time`,
    `round_up_time_limit_if_needed`) is inherited from timebudget.TimeControlsBudget.
    """

    original_main_time: float = UNLIMITED_TIME_DEFAULT
    """Main time the game started with (seconds); kept for resetting periods on time_left."""
    increment: float = 0.0
    """Fischer increment added after each move (seconds); 0 for every other kind."""
    main_time_limit: float = UNLIMITED_TIME_DEFAULT_LARGE
    """Fischer-capped: main time never exceeds this after an increment is added."""
    max_time_per_move: float = UNLIMITED_TIME_DEFAULT_LARGE
    """Fischer-capped: the most time any single move may take; caps the budget's max time."""
    original_num_periods: int = 0
    """Byo-yomi periods at the start of overtime (1 for Canadian, 0 when there is no overtime)."""
    num_stones_per_period: int = 0
    """Moves to play within one period to keep it (1 for Japanese byo-yomi)."""
    per_period_time: float = 0.0
    """Length of one overtime period (seconds)."""

    main_time_left: float = UNLIMITED_TIME_DEFAULT
    """Main time remaining; may be slightly negative when a controller reports lag."""
    in_overtime: bool = False
    """Whether main time is used up and the clock is running in byo-yomi periods."""
    num_periods_left_including_current: int = 0
    """Periods left, counting the one now running (equals original_num_periods in main time)."""
    num_stones_left_in_period: int = 0
    """In overtime: moves still to play in the current period to keep it."""
    time_left_in_period: float = 0.0
    """In overtime: time remaining in the current period."""
    lost_on_time: bool = False
    """Set only by after_move when the simulated clock runs out (KataGo itself has no such state,
    since it never runs its own clock); cleared by apply_time_left."""

    # ---- constructors for each kind --------------------------------------------------------

    @classmethod
    def unlimited(cls) -> "TimeControls":
        """No time control: the search is bounded only by maxVisits/maxPlayouts/maxTime."""
        return cls()

    @classmethod
    def absolute(cls, main_time: float) -> "TimeControls":
        """Sudden death: main_time for the whole game."""
        return cls(original_main_time=main_time, main_time_left=main_time)

    @classmethod
    def fischer(cls, main_time: float, increment: float) -> "TimeControls":
        """main_time to start with, plus increment after every move, without a cap."""
        return cls(original_main_time=main_time, increment=increment, main_time_left=main_time)

    @classmethod
    def fischer_capped(
        cls, main_time: float, increment: float, main_time_limit: float, max_time_per_move: float
    ) -> "TimeControls":
        """Fischer where main time is capped at main_time_limit and each move at max_time_per_move."""
        if main_time_limit < main_time:
            raise TimeControlError("TimeControls: mainTimeLimit is smaller than mainTime")
        return cls(
            original_main_time=main_time,
            increment=increment,
            main_time_limit=main_time_limit,
            max_time_per_move=max_time_per_move,
            main_time_left=main_time,
        )

    @classmethod
    def canadian_or_byoyomi(
        cls, main_time: float, per_period_time: float, num_periods: int, num_stones_per_period: int
    ) -> "TimeControls":
        """Main time, then num_periods periods of per_period_time, each kept by playing
        num_stones_per_period moves in it (Japanese byo-yomi: stones 1; Canadian: periods 1)."""
        return cls(
            original_main_time=main_time,
            original_num_periods=num_periods,
            num_stones_per_period=num_stones_per_period,
            per_period_time=per_period_time,
            main_time_left=main_time,
            num_periods_left_including_current=num_periods,
        )

    @classmethod
    def engine_default(cls) -> "TimeControls":
        """Both colours' clock when the config sets none of maxVisits, maxPlayouts, maxTime."""
        return cls.canadian_or_byoyomi(1.0, 5.0, 5, 1)

    # ---- GTP commands -----------------------------------------------------------------------

    @classmethod
    def parse_time_settings(cls, args: Args) -> "TimeControls":
        """GTP `time_settings MAIN BYO STONES` (Canadian overtime: one period of BYO seconds).

        STONES 0 means no overtime: with BYO > 0 that is "no time limit" per the GTP spec, with BYO 0
        it is absolute time. KataGo accepts fractional seconds here too.
        """
        args = _split(args)
        main_time = _time_arg(args, 0, "main time")
        byo_time = _time_arg(args, 1, "byo-yomi per-period time")
        stones = _count_arg(args, 2, "stones")
        return cls._canadian_or_degenerate(main_time, byo_time, stones)

    @classmethod
    def parse_kgs_time_settings(cls, args: Args) -> "TimeControls":
        """`kgs-time_settings none | absolute M | byoyomi M P N | canadian M P N`."""
        return cls._parse_kind(_split(args), kata=False)

    @classmethod
    def parse_kata_time_settings(cls, args: Args) -> "TimeControls":
        """`kata-time_settings` = the KGS kinds plus `fischer M INC` and
        `fischer-capped M INC MAINLIMIT MAXPERMOVE` (a negative limit means no limit)."""
        return cls._parse_kind(_split(args), kata=True)

    @classmethod
    def _canadian_or_degenerate(cls, main_time: float, byo_time: float, stones: int) -> "TimeControls":
        if stones == 0 and byo_time > 0.0:
            return cls.unlimited()
        if stones == 0:
            return cls.absolute(main_time)
        return cls.canadian_or_byoyomi(main_time, byo_time, 1, stones)

    @classmethod
    def _parse_kind(cls, args: Sequence[str], kata: bool) -> "TimeControls":
        kinds = KATA_TIME_SETTINGS_KINDS if kata else KGS_TIME_SETTINGS_KINDS
        kind = args[0].strip().lower() if args else ""
        if kind not in kinds:
            quoted = [f"'{k}'" for k in kinds]
            command = "kata-time_settings" if kata else "kgs-time_settings"
            raise TimeControlError(
                f"Expected {', '.join(quoted[:-1])}, or {quoted[-1]} as first argument for {command}"
            )
        if kind == "none":
            return cls.unlimited()
        main_time = _time_arg(args, 1, "main time")
        if kind == "absolute":
            return cls.absolute(main_time)
        if kind == "canadian":
            byo_time = _time_arg(args, 2, "byo-yomi period time")
            return cls._canadian_or_degenerate(main_time, byo_time, _count_arg(args, 3, "stones"))
        if kind == "byoyomi":
            byo_time = _time_arg(args, 2, "byo-yomi per-period time")
            periods = _count_arg(args, 3, "periods")
            if periods == 0:
                return cls.absolute(main_time)
            return cls.canadian_or_byoyomi(main_time, byo_time, periods, 1)
        increment = _time_arg(args, 2, "increment time")
        if kind == "fischer":
            return cls.fischer(main_time, increment)
        limit = _time_arg(args, 3, "main time limit", allow_negative=True)
        per_move = _time_arg(args, 4, "max time per move", allow_negative=True)
        return cls.fischer_capped(
            main_time,
            increment,
            MAX_USER_INPUT_TIME if limit < 0 else limit,
            MAX_USER_INPUT_TIME if per_move < 0 else per_move,
        )

    def apply_time_left(self, time_left_s: float, stones: int) -> "TimeControls":
        """This clock after the controller's `time_left COLOR time_left_s stones`.

        stones 0: time_left_s is main time (periods untouched). stones > 0: we are in overtime with
        time_left_s left in the period; for Japanese byo-yomi with several periods (KGS's
        convention) `stones` is the number of periods left, otherwise it is the number of stones
        still to play in the (single) Canadian period.
        """
        if math.isnan(time_left_s) or not MIN_TIME_LEFT <= time_left_s <= MAX_USER_INPUT_TIME:
            raise TimeControlError("invalid time")
        if not 0 <= stones <= MAX_TIME_LEFT_STONES:
            raise TimeControlError("invalid stones")
        if stones > 0 and self.original_num_periods <= 0:
            raise TimeControlError(
                "stones left in period is > 0 but the time control used does not have any overtime periods"
            )
        if stones == 0:
            return dataclasses.replace(
                self,
                main_time_left=time_left_s,
                in_overtime=False,
                num_periods_left_including_current=self.original_num_periods,
                num_stones_left_in_period=0,
                time_left_in_period=0.0,
                lost_on_time=False,
            )
        kgs_byoyomi = self.original_num_periods > 1 and self.num_stones_per_period == 1
        return dataclasses.replace(
            self,
            main_time_left=0.0,
            in_overtime=True,
            num_periods_left_including_current=(
                min(stones, self.original_num_periods) if kgs_byoyomi else 1
            ),
            num_stones_left_in_period=1 if kgs_byoyomi else min(stones, self.num_stones_per_period),
            time_left_in_period=time_left_s,
            lost_on_time=False,
        )

    # ---- running the clock -------------------------------------------------------------------

    def after_move(self, elapsed_s: float) -> "TimeControls":
        """This clock after its owner took elapsed_s seconds for a move (a simulated clock).

        Fischer/absolute: main time drops by elapsed_s, then the increment is added and capped at
        main_time_limit. Byo-yomi/Canadian: main time first, the excess spills into the period;
        each period overrun (while more remain) is lost and the next starts; a move counts as a
        stone of the period it ends in, and playing the period's last stone restores it in full.
        Overrunning everything, or exceeding max_time_per_move, sets lost_on_time.

        KataGo's GTP engine does not do this itself (it waits for time_left); see the module notes.
        """
        if math.isnan(elapsed_s) or elapsed_s < 0:
            raise TimeControlError(f"elapsed time must be a non-negative number, got {elapsed_s}")
        lost = self.lost_on_time or elapsed_s > self.max_time_per_move
        if self._is_fischer_like:
            main = self.main_time_left - elapsed_s
            if main < 0:
                return dataclasses.replace(self, main_time_left=main, lost_on_time=True)
            main = min(main + self.increment, self.main_time_limit)
            return dataclasses.replace(self, main_time_left=main, lost_on_time=lost)

        if not self.in_overtime:
            main = self.main_time_left - elapsed_s
            if main >= 0:
                return dataclasses.replace(self, main_time_left=main, lost_on_time=lost)
            periods = self.original_num_periods
            period_left = self.per_period_time + main
            stones_left = self.num_stones_per_period
        else:
            periods = self.num_periods_left_including_current
            period_left = self.time_left_in_period - elapsed_s
            stones_left = self.num_stones_left_in_period
        while period_left < 0 and periods > 1:
            periods -= 1
            period_left += self.per_period_time
            stones_left = self.num_stones_per_period
        if period_left < 0:
            lost = True
        else:
            stones_left -= 1
            if stones_left <= 0:
                stones_left = self.num_stones_per_period
                period_left = self.per_period_time
        return dataclasses.replace(
            self,
            main_time_left=0.0,
            in_overtime=True,
            num_periods_left_including_current=periods,
            num_stones_left_in_period=stones_left,
            time_left_in_period=period_left,
            lost_on_time=lost,
        )

    # ---- display -------------------------------------------------------------------------------

    def describe(
        self, board_area: Optional[int] = None, stones_on_board: int = 0, lag_buffer: float = 0.0
    ) -> str:
        """The clock as KataGo's kata-debug-print-tc prints one colour.

        Fields at their default (0 / unlimited) are left out. Given a board_area, the budget is
        appended: `minRecMax MIN REC MAX` and the rounded-up recommendation at the start of the
        search (`rrec0`), just before reaching it (`rreclimit`), and just before reaching that
        (`rreclimit2`).
        """
        parts = [f"originalMainTime {_fmt(self.original_main_time)}"]
        if self.increment != 0:
            parts.append(f"increment {_fmt(self.increment)}")
        if self.main_time_limit < UNLIMITED_TIME_THRESHOLD:
            parts.append(f"mainTimeLimit {_fmt(self.main_time_limit)}")
        if self.max_time_per_move < UNLIMITED_TIME_THRESHOLD:
            parts.append(f"maxTimePerMove {_fmt(self.max_time_per_move)}")
        if self.original_num_periods != 0:
            parts.append(f"originalNumPeriods {self.original_num_periods}")
        if self.num_stones_per_period != 0:
            parts.append(f"numStonesPerPeriod {self.num_stones_per_period}")
        if self.per_period_time != 0:
            parts.append(f"perPeriodTime {_fmt(self.per_period_time)}")
        parts.append(f"mainTimeLeft {_fmt(self.main_time_left)}")
        parts.append(f"inOvertime {int(self.in_overtime)}")
        if self.num_periods_left_including_current != 0:
            parts.append(f"numPeriodsLeftIncludingCurrent {self.num_periods_left_including_current}")
        if self.num_stones_left_in_period != 0:
            parts.append(f"numStonesLeftInPeriod {self.num_stones_left_in_period}")
        if self.time_left_in_period != 0:
            parts.append(f"timeLeftInPeriod {_fmt(self.time_left_in_period)}")
        if board_area is not None:
            low, rec, high = self.get_time(board_area, stones_on_board, lag_buffer)
            parts.append(f"minRecMax {_fmt(low)} {_fmt(rec)} {_fmt(high)}")
            rrec0 = self.round_up_time_limit_if_needed(lag_buffer, 0.0, rec)
            rlimit = self.round_up_time_limit_if_needed(lag_buffer, rec - 0.000001, rec)
            rlimit2 = self.round_up_time_limit_if_needed(lag_buffer, rlimit - 0.000001, rlimit)
            parts.append(f"rrec0 {_fmt(rrec0)} rreclimit {_fmt(rlimit)} rreclimit2 {_fmt(rlimit2)}")
        return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# GTP helpers that are not about one clock


def parse_time_left(args: Args) -> Tuple[int, float, int]:
    """`time_left COLOR TIME STONES` -> (BLACK or WHITE, time, stones); syntax only.

    Range checks (the "invalid time"/"invalid stones" replies) happen in apply_time_left.
    """
    pieces = _split(args)
    color = _COLORS.get(pieces[0].lower()) if len(pieces) == 3 else None
    time = _try_float(pieces[1]) if color is not None else None
    stones = _try_int(pieces[2]) if time is not None else None
    if stones is None:
        raise TimeControlError(
            f"Expected player and float time and int stones for time_left but got '{' '.join(pieces)}'"
        )
    return color, time, stones


def debug_print_tc(
    black: TimeControls, white: TimeControls, board_area: int, stones_on_board: int, lag_buffer: float
) -> str:
    """The reply to `kata-debug-print-tc`: one line per colour, Black first."""
    return (
        f"Black {black.describe(board_area, stones_on_board, lag_buffer)}\n"
        f"White {white.describe(board_area, stones_on_board, lag_buffer)}"
    )
