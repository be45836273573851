"""How much of its clock a move may spend: KataGo's per-move time budget and the search limit.

Split from timecontrol.py, which keeps the clock itself (its kinds, the GTP time commands,
time_left, running and printing it). This module is the planning, which reads a clock and never
changes one: `TimeControlsBudget`, mixed into `timecontrol.TimeControls`, is KataGo's
TimeControls::getTime and roundUpTimeLimitIfNeeded, and `search_time_limit` is KataGo's
Search::recomputeSearchTimeLimit built on them. Everything is pure, with KataGo's numbers, so a
controller sees goloop spend its clock as KataGo would.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

# KataGo's magnitude for "no limit": a clock whose remaining time exceeds this is treated as
# unlimited by the search.
UNLIMITED_TIME_THRESHOLD = 1e20
# All but this many byo-yomi periods are budgeted as if they were main time.
NUM_RESERVED_PERIODS = 5
# A time limit (from the clock or from maxTime) never stops a search before this many playouts.
MIN_PLAYOUTS_BEFORE_TIME_STOP = 2
# The search re-plans its time limit at most this often (seconds).
SEARCH_LIMIT_RECOMPUTE_INTERVAL = 0.1
# maxTime / maxTimePondering at or above this count as "no limit".
MAX_TIME_UNLIMITED_AT = 1e12


class TimeControlError(ValueError):
    """A time command or clock state that cannot be used; the message is KataGo's GTP reply text."""


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
# The per-move budget of one clock (KataGo's TimeControls::getTime)


class TimeControlsBudget:
    """The planning half of `timecontrol.TimeControls`, which inherits it: these methods read the
    clock's fields (declared there) and return numbers; they never change the clock."""

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


def uses_clock(clock: TimeControlsBudget, pondering: bool) -> bool:
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
    clock: TimeControlsBudget,
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
