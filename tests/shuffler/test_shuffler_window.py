"""shuffler/window.py against KataGo: the window table of the spec, shuffle.py's own formula (run
from KataGo's source when it is beside the repo), and the file-selection rules of §2.4-§5."""
from __future__ import annotations

import ast
import pathlib
import random

import pytest

from goloop.shuffler import window
from goloop.shuffler.window import DataFile

KATAGO_SHUFFLE = pathlib.Path(__file__).resolve().parents[3] / "katago" / "src" / "python" / "shuffle.py"

# shuffler-and-window.md §3, reference values (a = 0, no max_rows): N -> (shuffle.py defaults,
# async shuffle.sh, sync loop); None = undefined in KataGo (we return min_rows there).
TABLE = {
    1_000: (250_000, 250_000, None),
    10_000: (250_000, 250_000, None),
    50_000: (250_000, 250_000, 100_000),
    100_000: (250_000, 250_000, 100_000),
    250_000: (250_000, 250_000, 144_993),
    1_000_000: (1_000_000, 474_967, 277_827),
    10_000_000: (10_000_000, 1_788_252, 1_029_451),
    100_000_000: (100_000_000, 7_654_480, 4_370_978),
}
PARAMS = [dict(min_rows=250_000, taper_window_exponent=1.0, expand_window_per_row=1.0),
          dict(min_rows=250_000, taper_window_exponent=0.65, expand_window_per_row=0.4),
          dict(min_rows=100_000, taper_window_exponent=0.65, expand_window_per_row=0.4,
               taper_window_scale=50_000)]


@pytest.mark.parametrize("n", sorted(TABLE))
def test_window_matches_the_spec_table(n):
    for params, expected in zip(PARAMS, TABLE[n]):
        got = window.window_size(n, **params)
        assert got == (expected if expected is not None else params["min_rows"])


def _katago_formula():
    """shuffle.py's compute_desired_num_rows, compiled from KataGo's file (not copied here)."""
    if not KATAGO_SHUFFLE.exists():
        pytest.skip("KataGo's shuffle.py is not beside the repo")
    tree = ast.parse(KATAGO_SHUFFLE.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "compute_desired_num_rows")
    namespace: dict = {}
    exec(compile(ast.Module([fn], []), str(KATAGO_SHUFFLE), "exec"), namespace)
    return namespace["compute_desired_num_rows"]


def test_window_equals_katago_on_random_parameters():
    katago = _katago_formula()
    rng = random.Random(7)
    for _ in range(3000):
        m = rng.choice([1000, 50_000, 100_000, 250_000, rng.randrange(1, 10 ** 6)])
        s = rng.choice([None, float(rng.randrange(1, 10 ** 6))])
        e = rng.choice([1.0, 0.65, 0.675, rng.uniform(0.1, 1.5)])
        r = rng.choice([0.0, 0.4, 1.0, rng.uniform(0, 2)])
        a = rng.choice([0.0, 1e6, float(rng.randrange(0, 10 ** 7))])
        max_rows = rng.choice([None, rng.randrange(1, 10 ** 8)])
        n = rng.randrange(m, 10 ** 9)        # a real run: usable >= min_rows
        expected = katago(n, m, a, e, r, s, max_rows)
        assert window.window_size(n, m, e, r, s, a, max_rows) == expected, (n, m, e, r, s, a, max_rows)


def test_window_clamps_and_domain():
    # max_rows wins over min_rows (clamp order), and the crash domain of KataGo returns m.
    assert window.window_size(10 ** 6, 6000, 1.0, 1.0, max_rows=3000) == 3000
    assert window.window_size(10, 100_000, 0.65, 0.4, taper_window_scale=50_000) == 100_000
    with pytest.raises(ValueError):
        window.window_size(10 ** 6, 1000, 0.0, 1.0)


def _f(i, rows, random_=False, mtime=None):
    return DataFile(f"/b/selfplay/{'random' if random_ else 'm'}/tdata/{i:016X}.npz",
                    float(i if mtime is None else mtime), rows, random_, 9)


def test_random_rows_are_capped_for_the_window_only():
    files = [_f(0, 400, True), _f(1, 300, True), _f(2, 500), _f(3, 0)]
    c = window.count_rows(files, min_rows=600)
    assert (c.total, c.random_capped, c.postrandom, c.usable) == (1200, 600, 500, 1100)
    # Random files stay ordinary candidates: a big window takes them all.
    sel = window.select_window(files, 10 ** 6, c.total)
    assert [f.num_rows for f in sel.files] == [500, 300, 400]
    assert (sel.start_row, sel.end_row, sel.num_rows_used) == (0, 1200, 1200)


def test_random_is_the_exact_model_dir_name():
    assert window.is_random_path("/x/selfplay/random/tdata/AB.npz")
    assert not window.is_random_path("/x/selfplay/b6c96-xrandom/tdata/AB.npz")   # KataGo: yes
    assert not window.is_random_path("/x/selfplay/random/AB.npz")
    assert not window.is_random_path("/x/selfplay/random/other/AB.npz")


def test_selection_takes_whole_files_newest_first():
    files = [_f(i, 100 + i) for i in range(10)]          # mtime = i
    sel = window.select_window(list(reversed(files)), 250, sum(f.num_rows for f in files))
    assert [f.mtime for f in sel.files] == [9, 8, 7]      # 109 + 108 < 250 <= + 107
    assert sel.num_rows_used == 324
    assert (sel.start_row, sel.end_row) == (1045 - 324, 1045)
    # add-to-data-rows shifts the range by int(a); the mtime-skip range uses no row positions.
    sel = window.select_window(files, 250, 1045, add_to_data_rows=1e6 + 0.7, skip_mtime_range=(8, 8))
    assert [f.mtime for f in sel.files] == [9, 7, 6]
    assert (sel.start_row, sel.end_row) == (1_001_045 - 322, 1_001_045)


def test_keep_buckets_groups_and_split():
    assert window.keep_probability(1000, 600) == 0.6
    assert window.keep_probability(1000, None) == 1.0
    assert window.keep_probability(500, 600) == 1.0
    assert window.num_buckets(5000, 2000) == 2          # 2.5 rounds half to even
    assert window.num_buckets(7000, 2000) == 4          # 3.5 -> 4
    assert window.num_buckets(10, 70_000) == 1
    groups = window.group_files([_f(i, r) for i, r in enumerate([50, 0, 40, 30, 90, 5])], 80)
    assert [[f.num_rows for f in g] for g in groups] == [[50, 40], [30, 90], [5]]
    assert window.rows_kept_in_group(1000, 0.3333) == 333
    assert window.rows_kept_in_group(3, 0.5) == 2       # round(1.5) = 2
    # The md5 split is a partition, decided by the basename only.
    files = [_f(i, 10) for i in range(400)]
    val = window.split_by_md5(files, 0.95, 1.0)
    train = window.split_by_md5(files, 0.0, 0.95)
    assert len(val) + len(train) == 400 and not set(val) & set(train)
    assert 5 <= len(val) <= 40
    moved = DataFile("/elsewhere/" + files[0].path.rsplit("/", 1)[1], 0.0, 10, False)
    assert window.md5_split_value(moved.path) == window.md5_split_value(files[0].path)
    assert 0.0 <= window.md5_split_value("C7321CC007B37E14.npz") < 1.0
