"""Game clocks for genmove: the GTP time commands, KataGo's per-move time budget, and its search limit.

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
  every 0.1 s, and never for pondering) how long to think. The clock itself is NOT advanced by
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
from typing import Callable, Optional, Sequence, Tuple, Union

# KataGo's magnitudes for "no limit". A clock whose remaining time exceeds the threshold is treated
# as unlimited by the search; user input above MAX_USER_INPUT_TIME is refused.
UNLIMITED_TIME_THRESHOLD = 1e20
MAX_USER_INPUT_TIME = 1e25
UNLIMITED_TIME_DEFAULT = 1e30
UNLIMITED_TIME_DEFAULT_LARGE = 1e40

# All but this many byo-yomi periods are budgeted as if they were main time.
NUM_RESERVED_PERIODS = 5
# time_left tolerates slightly negative reports (a controller's lag), down to this.
MIN_TIME_LEFT = -10.0
# Bounds KataGo puts on integer period/stone counts.
MAX_PERIODS_OR_STONES = 1_000_000
MAX_TIME_LEFT_STONES = 100_000
# A time limit (from the clock or from maxTime) never stops a search before this many playouts.
MIN_PLAYOUTS_BEFORE_TIME_STOP = 2
# The search re-plans its time limit at most this often (seconds).
SEARCH_LIMIT_RECOMPUTE_INTERVAL = 0.1
# maxTime / maxTimePondering at or above this count as "no limit".
MAX_TIME_UNLIMITED_AT = 1e12

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


class TimeControlError(ValueError):
    """A time command or clock state that cannot be used; the message is KataGo's GTP reply text."""


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


def apply_lag_buffer(time: float, lag_buffer: float) -> float:
    """Time left after reserving lag_buffer for network/GUI lag; small times are halved instead.

    Negative times pass through so that callers can still see how far over they are.
    """
    if time < 0:
        return time
    if time < 2.0 * lag_buffer:
        return time * 0.5
    return time - lag_buffer


# ---------------------------------------------------------------------------------------------
# The clock


@dataclass(frozen=True)
class TimeControls:
    """One player's clock: the time control in force plus what is left of it.

    One model covers every kind: absolute is Fischer with no increment; byo-yomi is periods of one
    stone; Canadian is one period of several stones. An increment together with periods is not a
    supported combination. The defaults are an unlimited clock.
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

    # ---- the per-move budget ------------------------------------------------------------------

    @property
    def _is_fischer_like(self) -> bool:
        # KataGo's test for "no usable periods": absolute, Fischer, and unlimited clocks.
        return self.increment > 0 or self.num_periods_left_including_current <= 0

    def is_effectively_unlimited(self) -> bool:
        """Whether the search should ignore this clock (it then has no time-based stop at all)."""
        time_is_huge = self.main_time_left > UNLIMITED_TIME_THRESHOLD or (
            self.in_overtime and self.time_left_in_period > UNLIMITED_TIME_THRESHOLD
        )
        return time_is_huge and self.max_time_per_move > UNLIMITED_TIME_THRESHOLD

    def get_time(
        self, board_area: int, stones_on_board: int, lag_buffer: float = 0.0
    ) -> Tuple[float, float, float]:
        """(min_time, recommended_time, max_time) in seconds for the move now to be played.

        min_time: thinking less than this wastes time that cannot be saved (e.g. the rest of the
        last stone's byo-yomi period). recommended_time: the mean time to aim for. max_time: going
        past this risks losing on time. All three already have lag_buffer (KataGo's `lagBuffer`
        config key, 0 when unset) taken off, and min <= max, recommended <= max, none negative.

        Game progress is estimated from stones_on_board (KataGo's Board::numStonesOnBoard), NOT the
        turn number: captures make a game look younger. board_area is x_size * y_size.
        """
        if board_area < 1:
            raise TimeControlError(f"board area must be positive, got {board_area}")
        turns = _TurnsLeft.estimate(board_area, stones_on_board)
        lag = lag_buffer

        if self._is_fischer_like:
            if self.in_overtime:
                raise TimeControlError(
                    "TimeControls: inOvertime with Fischer or absolute time, inconsistent time control?"
                )
            if self.num_periods_left_including_current != 0:
                raise TimeControlError(
                    "TimeControls: numPeriodsLeftIncludingCurrent != 0 with Fischer or absolute time, "
                    "inconsistent time control?"
                )
            if self.main_time_limit < self.original_main_time:
                raise TimeControlError("TimeControls: mainTimeLimit is smaller than original mainTime")
            main, inc = self.main_time_left, self.increment
            # Thinking less than this only loses time to the cap on main time.
            min_time = min(max(0.0, main * 0.5), max(0.0, main + inc - self.main_time_limit))
            if main <= inc:
                rec_time = apply_lag_buffer(main, lag)
                max_time = main
            else:
                # The lag buffer is deliberately taken twice: here and at the end.
                excess = apply_lag_buffer(main - inc, lag)
                rec_time = inc + self._spread_increment_time(excess, turns)
                max_time = min(main, inc + excess / 5.0)
        else:
            min_time, rec_time, max_time, lag = self._byoyomi_budget(turns, lag)

        max_time = min(max_time, self.max_time_per_move)
        min_time = max(0.0, apply_lag_buffer(min_time, lag))
        rec_time = max(0.0, apply_lag_buffer(rec_time, lag))
        max_time = max(0.0, apply_lag_buffer(max_time, lag))
        return min(min_time, max_time), min(rec_time, max_time), max_time

    def _spread_increment_time(self, time: float, turns: "_TurnsLeft") -> float:
        """Share of `time` (main time beyond the increment) to spend now with Fischer/absolute."""
        if time <= 0:
            return time
        # Never much more aggressive than absolute time would be, however small the increment.
        return min(time / turns.increment, time / turns.absolute + 2.0 * self.increment)

    def _spread_byoyomi_main_time(self, time: float, turns: "_TurnsLeft") -> float:
        """Per-move main time when byo-yomi follows.

        If strength grows like log(time per move), the best plan spends e times the byo-yomi
        time per move and so exhausts main time after 1/e of the moves a byo-yomi pace would take;
        KataGo stretches that somewhat because mid-game time matters more.
        """
        if self.per_period_time <= 0 or self.num_stones_per_period <= 0:
            return time / turns.absolute
        byo_per_move = self.per_period_time / self.num_stones_per_period
        optimal_turns = (time / byo_per_move) * math.exp(-1.0)
        turns_to_use = optimal_turns
        if turns.byoyomi > optimal_turns:
            turns_to_use = min(turns.byoyomi, optimal_turns * 1.75)
        turns_to_use = max(1.0, min(turns_to_use, turns.absolute))
        per_move = min(time / turns_to_use, time / turns.absolute + 3.0 * byo_per_move)
        per_move = max(per_move, byo_per_move)
        # Nearly out of main time anyway: use it up and dip into the first period.
        if per_move < byo_per_move * 1.5 and time < byo_per_move * 1.5:
            per_move = time + byo_per_move
        return per_move

    def _byoyomi_budget(self, turns: "_TurnsLeft", lag: float) -> Tuple[float, float, float, float]:
        if self.main_time_limit < UNLIMITED_TIME_THRESHOLD:
            raise TimeControlError(
                "TimeControls: mainTimeLimit is used with byo-yomiish periods, inconsistent time control?"
            )
        if self.num_stones_per_period <= 0:
            raise TimeControlError(
                "TimeControls: numStonesPerPeriod <= 0 with byo-yomiish periods, inconsistent time control?"
            )
        if not self.in_overtime and self.num_periods_left_including_current != self.original_num_periods:
            raise TimeControlError(
                "TimeControls: not in overtime, but numPeriodsLeftIncludingCurrent != originalNumPeriods"
            )
        if self.in_overtime and self.num_stones_left_in_period < 1:
            raise TimeControlError(
                "TimeControls: numStonesLeftInPeriod < 1 while in overtime, inconsistent time control?"
            )
        period = self.per_period_time
        main = self.main_time_left
        overtime = self.in_overtime
        periods = self.num_periods_left_including_current
        period_left = self.time_left_in_period
        stones_left = self.num_stones_left_in_period

        # A negative report means the clock already ran on: roll into and through periods.
        if main < 0 and not overtime:
            overtime = True
            period_left = main + period
            stones_left = self.num_stones_per_period
        if overtime:
            while period_left < 0 and periods > 1:
                periods -= 1
                period_left += period

        # Periods beyond the reserved few are budgeted as if they were main time.
        if periods > NUM_RESERVED_PERIODS:
            overtime = False
            if not self.in_overtime:
                main += period * (periods - NUM_RESERVED_PERIODS)
            else:
                main += period_left + period * (periods - NUM_RESERVED_PERIODS - 1)

        if not overtime:
            # The most we tolerate spending on one move in a period.
            large_per_move = period / (0.75 * self.num_stones_per_period + 0.25)
            min_time = 0.0
            rec_time = self._spread_byoyomi_main_time(main, turns)
            max_time = large_per_move + max(min(large_per_move * 1.75, main), main / 5.0)
            # Spilling into overtime anyway: may as well be allowed the whole first move's share.
            if main < max_time < main + large_per_move:
                max_time = main + large_per_move
            # Running out of the single last period would lose the game: buffer more.
            if max_time > main and periods <= 1 and self.num_stones_per_period <= 1:
                lag *= 2.0
            return min_time, rec_time, max_time, lag

        if stones_left < 1:
            raise TimeControlError(
                "TimeControls: effectiveNumStonesLeftInPeriod < 1 while in overtime, inconsistent time control?"
            )
        # Very little left of this period but periods to spare (lag, a reconnect): give this one up
        # and think with the next one.
        if periods > 1 and apply_lag_buffer(period_left, lag) < (
            apply_lag_buffer(0.5 * period, lag) * (periods - 1) / (NUM_RESERVED_PERIODS - 1)
        ):
            periods -= 1
            period_left += period
        min_time = period_left if stones_left <= 1 else 0.0
        rec_time = period_left / stones_left
        max_time = period_left / (0.75 * stones_left + 0.25)
        if periods <= 1 and stones_left <= 1:
            lag *= 2.0
        return min_time, rec_time, max_time, lag

    def round_up_time_limit_if_needed(self, lag_buffer: float, time_used: float, time_limit: float) -> float:
        """time_limit, raised when stopping at it would throw away time that cannot be saved.

        Only byo-yomi clocks have such time: the tail of main time just before a period starts, a
        Japanese period whose single stone is about to be played, or a Canadian period entered by a
        hair (the move must land inside it to count as one of its stones).
        """
        if self._is_fischer_like:
            return time_limit
        period = self.per_period_time
        main = self.main_time_left
        overtime = self.in_overtime
        periods = self.num_periods_left_including_current
        period_left = self.time_left_in_period
        stones_left = self.num_stones_left_in_period

        if not overtime:
            main -= time_used
        else:
            period_left -= time_used
        if main < 0 and not overtime:
            overtime = True
            period_left = main + period
            stones_left = self.num_stones_per_period
        if overtime:
            while period_left < 0 and periods > 1:
                periods -= 1
                period_left += period

        per_move = period / self.num_stones_per_period
        per_move_buffered = apply_lag_buffer(per_move, lag_buffer)
        # Like the lag buffer, but never ~0 and never more than a buffered move's share.
        bit_of_time = min(max(lag_buffer, per_move_buffered * 0.01), per_move_buffered)

        if not overtime:
            if main >= per_move * 0.5:
                return time_limit
            if self.num_stones_per_period <= 1:
                rounded = time_used + main + per_move_buffered
            else:
                rounded = time_used + main + bit_of_time
        else:
            if period_left <= 0:
                return time_limit  # probably lost on time already; plan as unrounded
            if stones_left > 1:
                spent_in_period = period - period_left
                if not self.in_overtime and spent_in_period < bit_of_time:
                    rounded = time_used + bit_of_time - spent_in_period
                else:
                    return time_limit
            else:
                rounded = apply_lag_buffer(time_used + period_left, lag_buffer)

        if rounded < time_used:
            return time_limit
        return max(time_limit, rounded)

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


@dataclass(frozen=True)
class _TurnsLeft:
    """KataGo's crude estimates of how many of OUR moves remain, for three planning styles."""

    absolute: float
    """Moves over which to spread time when nothing more will come."""
    increment: float
    """Moves over which to spread main time when an increment refills the clock."""
    byoyomi: float
    """Moves over which to spread main time when byo-yomi follows it."""

    @staticmethod
    def estimate(board_area: int, stones_on_board: int) -> "_TurnsLeft":
        def ours(typical_length: float, floor: float) -> float:
            # Half of the game's remaining moves are ours.
            return 0.5 * max(typical_length - stones_on_board, floor)

        return _TurnsLeft(
            absolute=ours(0.95 * board_area + 20.0, 0.15 * board_area + 30.0),
            increment=ours(0.75 * board_area + 15.0, 0.10 * board_area + 20.0),
            byoyomi=ours(0.50 * board_area + 10.0, 0.02 * board_area + 4.0),
        )


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


# ---------------------------------------------------------------------------------------------
# From the budget to a search time limit (KataGo's Search::recomputeSearchTimeLimit)


@dataclass(frozen=True)
class SearchTimeParams:
    """The config keys that shape how a clock's budget becomes a search time limit.

    Defaults are KataGo's values when a key is absent (note lagBuffer's default is 0, although the
    example GTP configs set 1.0). `searchFactor*` keys are not here: their product arrives as the
    search_factor argument of search_time_limit.
    """

    lag_buffer: float = 0.0
    """`lagBuffer`: seconds kept back for lag on every clock computation."""
    overallocate_time_factor: float = 1.0
    """`overallocateTimeFactor`: multiplies the recommended time."""
    midgame_time_factor: float = 1.0
    """`midgameTimeFactor`: extra time multiplier at the peak of the middle game."""
    midgame_turn_peak_time: float = 130.0
    """`midgameTurnPeakTime`: turn (scaled by area/361) where that multiplier peaks."""
    endgame_turn_time_decay: float = 100.0
    """`endgameTurnTimeDecay`: turns (scaled by area/361) for it to decay by e after the peak."""
    obvious_moves_time_factor: float = 1.0
    """`obviousMovesTimeFactor`: time multiplier for an obvious move (< 1 to save time)."""
    obvious_moves_policy_entropy_tolerance: float = 0.30
    """`obviousMovesPolicyEntropyTolerance`: policy entropy scale of 'obvious'."""
    obvious_moves_policy_surprise_tolerance: float = 0.15
    """`obviousMovesPolicySurpriseTolerance`: search-vs-policy surprise scale of 'obvious'."""


def uses_clock(clock: TimeControls, pondering: bool) -> bool:
    """Whether the search should consult the clock at all (never while pondering)."""
    return not pondering and not clock.is_effectively_unlimited()


def has_max_time(max_time: float) -> bool:
    """Whether a `maxTime`/`maxTimePondering` value (scaled by the search factor) is a real limit."""
    return max_time < MAX_TIME_UNLIMITED_AT


def midgame_weight(turn_number: int, board_area: int, peak_turn: float, decay_turns: float) -> float:
    """0..1: how 'middle game' the turn is; rises linearly to the peak, then decays exponentially.

    turn_number is KataGo's current turn number (initial turn number + moves played), unlike
    get_time, which looks at stones on the board.
    """
    scale = board_area / 361.0
    turn = max(0.0, float(turn_number))
    if turn < peak_turn * scale:
        weight = turn / (peak_turn * scale)
    else:
        weight = math.exp(-(turn - peak_turn * scale) / (decay_turns * scale))
    return min(1.0, max(0.0, weight))


def carried_over_factor(recommended: float, carried_over: float) -> float:
    """Multiplier on the recommended time for search effort already done on this position
    (pondering / tree reuse; zero unless treeReuseCarryOverTimeFactor > 0 or after pondering).

    A softplus rather than a plain subtraction, so some root search always happens.
    """
    if recommended <= 1e-20:
        return 1.0
    remaining_fraction = (recommended - carried_over) / recommended
    return min(1.0, math.log(1.0 + math.exp(remaining_fraction * 6.0)) / 6.0)


def upper_bound_visits_left(
    root_visits: int, time_used: float, planned_limit: float, carried_over: float, num_threads: int
) -> float:
    """How many more root visits could fit before planned_limit at the speed seen so far.

    1e30 (no bound) until there are 2 visits and 0.1 s of thinking to measure the speed on.
    """
    if root_visits <= 1:
        return 1e30
    thought = carried_over + time_used
    if thought < 0.1:
        return 1e30
    return math.ceil((planned_limit - time_used) / thought * root_visits + num_threads - 1)


def search_time_limit(
    clock: TimeControls,
    *,
    board_area: int,
    stones_on_board: int,
    turn_number: int,
    time_used: float,
    params: SearchTimeParams = SearchTimeParams(),
    search_factor: float = 1.0,
    carried_over: float = 0.0,
    policy_surprise_and_entropy: Optional[Tuple[float, float]] = None,
    stop_as_futile: Optional[Callable[[float], bool]] = None,
) -> float:
    """Seconds the search may run this move, re-planned as it goes (time_used seconds so far).

    Order of KataGo's steps: recommended time x overallocateTimeFactor x mid-game factor x
    obvious-move factor x carried-over factor; rounded up against wasted byo-yomi, capped at max;
    optionally cut to "stop now" when stop_as_futile(limit) says no other move can catch up
    within that limit (the caller owns the tree, see upper_bound_visits_left); rounded and capped
    again; raised to min; then multiplied by search_factor (which alone may undercut min) and
    capped at max once more.

    policy_surprise_and_entropy: (surprise, policy entropy) of the root, when the search could
    compute them; only used when obvious_moves_time_factor < 1.
    """
    low, rec, high = clock.get_time(board_area, stones_on_board, params.lag_buffer)
    rec *= params.overallocate_time_factor
    if params.midgame_time_factor != 1.0:
        weight = midgame_weight(
            turn_number, board_area, params.midgame_turn_peak_time, params.endgame_turn_time_decay
        )
        rec *= 1.0 + weight * (params.midgame_time_factor - 1.0)
    if params.obvious_moves_time_factor < 1.0 and policy_surprise_and_entropy is not None:
        surprise, entropy = policy_surprise_and_entropy
        obviousness = min(
            math.exp(-entropy / params.obvious_moves_policy_entropy_tolerance),
            math.exp(-surprise / params.obvious_moves_policy_surprise_tolerance),
        )
        rec *= 1.0 + obviousness * (params.obvious_moves_time_factor - 1.0)
    rec *= carried_over_factor(rec, carried_over)

    rec = min(clock.round_up_time_limit_if_needed(params.lag_buffer, time_used, rec), high)
    if stop_as_futile is not None and stop_as_futile(rec):
        rec = time_used * (1.0 - 1e-10)
    rec = min(clock.round_up_time_limit_if_needed(params.lag_buffer, time_used, rec), high)
    rec = max(rec, low)
    return min(rec * search_factor, high)
