# Exact numeric helpers of KataGo's search (shared/spec/selfplay-and-search.md §4b): the tables
# whose values decide visit counts, exported for any Cython module that reproduces utilities.

# E[(2/pi) atan((s - center) / (scale * sqrt_area))] for s ~ N(mean, stdev), by KataGo's
# interpolated table (the closed form differs at 1e-4, enough to flip visit counts).
cdef double expected_white_score_value(double mean, double stdev, double center, double scale,
                                       double sqrt_area) noexcept nogil

# d/ds of (2/pi) atan((s - center) / (scale * sqrt_area)): the score-utility slope that turns
# the net's short-term score error into utility uncertainty.
cdef double d_score_value_d_score(double score, double center, double scale,
                                  double sqrt_area) noexcept nogil

# sqrt(max(0, meanSq - mean^2)).
cdef double score_stdev(double mean, double mean_sq) noexcept nogil

# Student-t (3 degrees of freedom) CDF by KataGo's 2000-entry interpolated table on [-50, 50].
cdef double t3_cdf_table(double z) noexcept nogil
