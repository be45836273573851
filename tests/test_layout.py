"""The shape of the house (issue 10): layers import downward only, no import loops between
files, no source file longer than a reader can hold, and the README's layout table matches the
tree.

Imports are read from the source text (`import`, `from ... import`, `cimport`, also inside
functions), so a lazy import counts as much as a top-level one.
"""
from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ["goloop", "common", "engine", "loop", "selfplay", "shuffler", "trainer", "exporter",
            "gatekeeper"]
MAX_LINES = 800

# A layer may import the layers listed for it (and itself); common's plumbing is open to all.
PLUMBING = {"common.config", "common.logs", "common.runtime", "common.atomicfile"}
LAYERS = {
    "common.go": set(),
    "common.nn": {"common.go"},
    "common.search": {"common.go", "common.nn"},
    "common.files": {"common.go", "common.nn"},
    "common.play": {"common.go", "common.nn", "common.search"},
}
DAEMONS = {"selfplay", "shuffler", "trainer", "exporter", "gatekeeper"}
FRONTENDS = {"engine", "loop"}     # for people: may import common/, not the daemons

IMPORT = re.compile(r"^\s*(?:from\s+goloop\.([\w.]+)\s+c?import\s+([\w, ()]+)|"
                    r"c?import\s+goloop\.([\w.]+))", re.M)


def source_files():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*")):
            if path.suffix in (".py", ".pyx", ".pxd") and "build" not in path.parts:
                yield path


def module_of(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "goloop":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "goloop"


def known_modules() -> set:
    return {module_of(p) for p in source_files()}


def imports_of(path: pathlib.Path, known: set) -> set:
    """Modules (dotted, without `goloop.`) that the file imports."""
    out = set()
    for m in IMPORT.finditer(path.read_text()):
        base = m.group(1) or m.group(3)
        names = [n.strip().split(" as ")[0] for n in (m.group(2) or "").strip("()").split(",")]
        hit = False
        for n in names:                     # `from goloop.common.search import core`
            if n and f"{base}.{n}" in known:
                out.add(f"{base}.{n}")
                hit = True
        if not hit:
            while base and base not in known:
                base = base.rpartition(".")[0]
            if base:
                out.add(base)
    return out


def graph() -> dict:
    known = known_modules()
    g: dict = {}
    for path in source_files():
        mod = module_of(path)
        # a .pyx and its .pxd are one module
        g.setdefault(mod, set()).update(imports_of(path, known) - {mod})
    # importing a package runs its __init__, not its submodules: drop edges a package has to
    # itself through its own children's names (none expected, kept simple)
    return g


def layer_of(mod: str) -> str:
    for layer in LAYERS:
        if mod == layer or mod.startswith(layer + "."):
            return layer
    return mod.split(".")[0]


def test_no_import_loops_between_files():
    g = graph()
    state: dict = {}
    stack: list = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(g.get(m, ())):
            if state.get(n) == 1:
                loop = stack[stack.index(n):] + [n]
                raise AssertionError("import loop: " + " -> ".join(loop))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)


def test_layers_import_downward_only():
    bad = []
    for mod, deps in graph().items():
        layer = layer_of(mod)
        for d in deps:
            if d in PLUMBING or layer_of(d) == layer:
                continue
            if layer in LAYERS:
                ok = layer_of(d) in LAYERS[layer]
            elif mod in PLUMBING or mod == "common":
                ok = d in PLUMBING
            elif layer in DAEMONS or layer in FRONTENDS:   # never another daemon or front-end
                ok = d.startswith("common")
            else:
                ok = True
            if not ok:
                bad.append(f"{mod} imports {d}")
    assert not bad, "\n".join(sorted(bad))


def test_no_source_file_is_too_long():
    files = list(source_files()) + sorted((ROOT / "tests").rglob("*.py"))
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in files
            if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, "\n".join(long)


def test_every_subpackage_says_what_it_may_import():
    for layer in LAYERS:
        init = ROOT / layer.replace(".", "/") / "__init__.py"
        text = init.read_text()
        assert text.startswith('"""') and "import" in text.split('"""')[1].lower(), init


def test_readme_layout_table_matches_the_tree():
    """Every top-level folder and every subpackage has a row (a row may name several)."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = set()
    for row in re.findall(r"^\| ([^|]+) \|", table, re.M):
        listed.update(re.findall(r"`([\w/]+/)`", row))
    ignored = {"build", "dist", "runs", "__pycache__"}
    actual = {p.name + "/" for p in ROOT.iterdir()
              if p.is_dir() and not p.name.startswith(".") and p.name not in ignored
              and not p.name.endswith(".egg-info")}
    actual |= {str(p.parent.relative_to(ROOT)) + "/" for pkg in PACKAGES
               for p in (ROOT / pkg).rglob("__init__.py") if p.parent.parent != ROOT}
    assert listed == actual, (sorted(listed - actual), sorted(actual - listed))


def test_test_modules_have_unique_names():
    """tests/ has no __init__.py files, so pytest imports each test module by its bare name: two
    files of one name in different folders stop the whole collection."""
    names = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {n: p for n, p in names.items() if len(p) > 1 and n != "conftest.py"} == {}
