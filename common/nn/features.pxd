# KataGo's neural-net input features, version 7 (shared/spec/input-features-v7.md): the C entry
# point that search and selfplay call per evaluation, without the GIL.

from goloop.common.go.history cimport History

cdef enum:
    NUM_SPATIAL_V7 = 22
    NUM_GLOBAL_V7 = 19

# The evaluator options that feature computation reads (KataGo's MiscNNInputParams).
cdef struct NNParams:
    # How many wins a draw is worth to white; shifts the komi input when draws are possible.
    double draw_equivalent_wins_for_white
    # Playout-doubling advantage already signed for the player to move (+ = pla searches more).
    double playout_doubling_advantage
    # KataGo's conservativePassAndIsRoot: set it only when encoding the search root.
    bint conservative_pass
    # Hide pass-ending history when ending now would not be a win for the player to move.
    bint enable_passing_hacks
    # Upper bound on the moves shown as history (KataGo default 1000, i.e. no bound beyond 5).
    int max_history
    # The model file's alwaysComputePassAliveUnderSuicideRules: pass-alive areas as if
    # multi-stone suicide were legal whatever the rules say.
    bint pass_alive_under_suicide_rules

cdef void nn_params_default(NNParams* params) noexcept nogil

# Write one row: spatial is [22, pos_y, pos_x] float32 (NCHW, board in the top-left corner,
# everything else zero), global_ is [19] float32. Both are overwritten entirely. The board must
# fit: x_size <= pos_x and y_size <= pos_y. next_pla is the player the row is for (normally
# the history's player to move).
cdef void fill_row_v7(History hist, int next_pla, NNParams* params, float* spatial,
                      float* global_, int pos_x, int pos_y) noexcept nogil
