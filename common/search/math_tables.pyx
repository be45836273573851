# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The two lookup tables of KataGo's search, built exactly as KataGo builds them.

Why tables and not closed forms: KataGo evaluates the expected score utility and the Student-t
CDF of value weighting through interpolated tables, and the interpolation error (~1e-4 in
utility) is large enough to change which child PUCT picks. Reproducing KataGo's visit counts
therefore needs the same grid, the same summation order and the same interpolation
(spec selfplay-and-search.md §4b).
"""
from libc.math cimport atan, exp, sqrt, round, floor, M_PI
from libc.stdlib cimport malloc

# The table assumes the largest board (19) and covers |mean| and stdev up to 19^2 + 60 points.
cdef int SV_BSIZE = 19
cdef int SV_MEAN_RADIUS = 19 * 19 + 60
cdef int SV_MEAN_LEN = 2 * (19 * 19 + 60)
cdef int SV_STDEV_LEN = 19 * 19 + 60
cdef double TWO_OVER_PI = 0.63661977236758134308

cdef double* _sv_table = NULL

cdef int T3_SIZE = 2000
cdef double T3_MIN = -50.0
cdef double T3_MAX = 50.0
cdef double _t3_table[2000]


cdef void _init_sv_table() noexcept nogil:
    """Normal-weighted averages of (2/pi)atan(x/19) on a 0.1-point grid, +-5 stdevs in 0.1 steps."""
    global _sv_table
    cdef int steps_per_unit = 10, bound_stdevs = 5
    cdef int min_sd = -bound_stdevs * steps_per_unit, max_sd = bound_stdevs * steps_per_unit
    cdef double normal_pdf[101]
    cdef int i, mean_idx, sd_idx, mean_steps, x_steps
    cdef double x, w_sum, wsv_sum
    cdef int min_sv = -(SV_MEAN_RADIUS * steps_per_unit + steps_per_unit // 2
                        + bound_stdevs * SV_STDEV_LEN * steps_per_unit)
    cdef int max_sv = -min_sv
    cdef double* sv = <double*>malloc(sizeof(double) * (max_sv - min_sv + 1))
    for i in range(min_sd, max_sd + 1):
        x = <double>i / steps_per_unit
        normal_pdf[i - min_sd] = exp(-0.5 * x * x)
    for i in range(min_sv, max_sv + 1):
        x = <double>i / steps_per_unit
        sv[i - min_sv] = atan(x / (1.0 * SV_BSIZE)) * TWO_OVER_PI
    _sv_table = <double*>malloc(sizeof(double) * SV_MEAN_LEN * SV_STDEV_LEN)
    for mean_idx in range(SV_MEAN_LEN):
        mean_steps = (mean_idx - SV_MEAN_RADIUS) * steps_per_unit - steps_per_unit // 2
        for sd_idx in range(SV_STDEV_LEN):
            w_sum = 0.0
            wsv_sum = 0.0
            for i in range(min_sd, max_sd + 1):
                x_steps = mean_steps + sd_idx * i
                w_sum += normal_pdf[i - min_sd]
                wsv_sum += normal_pdf[i - min_sd] * sv[x_steps - min_sv]
            _sv_table[mean_idx * SV_STDEV_LEN + sd_idx] = wsv_sum / w_sum
    # sv is a few hundred KB, needed only here; kept (freed at exit) to stay nogil-simple.


cdef double _t3_cdf_exact(double t) noexcept nogil:
    # Closed form of the 3-dof Student-t CDF (KataGo uses an incomplete beta; same to ~1e-15).
    cdef double u = t / sqrt(3.0)
    return 0.5 + (atan(u) + u / (1.0 + u * u)) / M_PI


cdef void _init_t3_table() noexcept nogil:
    cdef int i
    for i in range(T3_SIZE):
        if i == 0:
            _t3_table[i] = 0.0
        elif i == T3_SIZE - 1:
            _t3_table[i] = 1.0
        else:
            _t3_table[i] = _t3_cdf_exact(T3_MIN + i * (T3_MAX - T3_MIN) / <double>(T3_SIZE - 1))


cdef double expected_white_score_value(double mean, double stdev, double center, double scale,
                                       double sqrt_area) noexcept nogil:
    cdef double f = <double>SV_BSIZE / (scale * sqrt_area)
    cdef double m = (mean - center) * f
    cdef double s = stdev * f
    cdef double m_round = round(m)
    cdef double s_floor = floor(s)
    cdef int mi0 = <int>m_round + SV_MEAN_RADIUS
    cdef int si0 = <int>s_floor
    cdef int mi1 = mi0 + 1, si1 = si0 + 1
    if mi0 < 0:
        mi0 = 0
        mi1 = 0
    if mi1 >= SV_MEAN_LEN:
        mi0 = SV_MEAN_LEN - 1
        mi1 = SV_MEAN_LEN - 1
    if si0 < 0:
        si0 = 0
        si1 = 0
    if si1 >= SV_STDEV_LEN:
        si0 = SV_STDEV_LEN - 1
        si1 = SV_STDEV_LEN - 1
    cdef double lam_m = m - m_round + 0.5
    cdef double lam_s = s - s_floor
    cdef double a00 = _sv_table[mi0 * SV_STDEV_LEN + si0]
    cdef double a01 = _sv_table[mi0 * SV_STDEV_LEN + si1]
    cdef double a10 = _sv_table[mi1 * SV_STDEV_LEN + si0]
    cdef double a11 = _sv_table[mi1 * SV_STDEV_LEN + si1]
    cdef double b0 = a00 + lam_s * (a01 - a00)
    cdef double b1 = a10 + lam_s * (a11 - a10)
    return b0 + lam_m * (b1 - b0)


cdef double d_score_value_d_score(double score, double center, double scale,
                                  double sqrt_area) noexcept nogil:
    cdef double adj = score - center
    cdef double k = scale * sqrt_area
    return k / (k * k + adj * adj) * TWO_OVER_PI


cdef double score_stdev(double mean, double mean_sq) noexcept nogil:
    cdef double v = mean_sq - mean * mean
    if v <= 0.0:
        return 0.0
    return sqrt(v)


cdef double t3_cdf_table(double z) noexcept nogil:
    cdef double d = (T3_SIZE - 1) * (z - T3_MIN) / (T3_MAX - T3_MIN)
    if d <= 0:
        return 0.0
    cdef int idx = <int>d
    if idx >= T3_SIZE - 1:
        return 1.0
    cdef double lam = d - idx
    return _t3_table[idx] + lam * (_t3_table[idx + 1] - _t3_table[idx])


_init_sv_table()
_init_t3_table()


# Python views for tests and for code that reports utilities outside the search.

def expected_score_value(double mean, double stdev, double center, double scale, double sqrt_area):
    """KataGo's table-based E[(2/pi)atan((s-center)/(scale*sqrt_area))], s ~ N(mean, stdev)."""
    return expected_white_score_value(mean, stdev, center, scale, sqrt_area)


def t3_cdf(double z):
    """KataGo's interpolated Student-t(3) CDF."""
    return t3_cdf_table(z)


def t3_cdf_closed_form(double z):
    """The exact Student-t(3) CDF (for checking the table)."""
    return _t3_cdf_exact(z)
