"""Build goloop: the repo's top-level folders install as subpackages of one `goloop` package.

The design card keeps `common/`, `selfplay/`, ... at the top of the repo, but bare names such as
`common` would collide with other distributions in site-packages. So each folder is mapped to
`goloop.<folder>` with `package_dir`; code always imports `goloop.common.go.board` and friends.
"""
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

FOLDERS = ["common", "engine", "loop", "selfplay", "shuffler", "trainer", "exporter", "gatekeeper"]
# Every folder holding an __init__.py under a mapped folder is a subpackage (common/go, ...).
SUBFOLDERS = sorted(root for f in FOLDERS for root, _, files in os.walk(f)
                    if "__init__.py" in files)
PACKAGES = ["goloop"] + [f"goloop.{d.replace(os.sep, '.')}" for d in SUBFOLDERS]
PACKAGE_DIR = {"goloop": "goloop", **{f"goloop.{f}": f for f in FOLDERS}}

# Every .pyx under a mapped folder becomes goloop.<folder>.<module>, compiled as C++ so that the
# Cython code can use libcpp containers (the board history keeps growable hash lists).
def cython_include_root():
    """A folder where goloop/<folder> resolves to the repo's <folder>, for `cimport goloop.x.y`.

    Cython finds a module's .pxd by its full dotted name, but the repo keeps `common/` at the top
    rather than under `goloop/`. A tree of symlinks in build/ mirrors the installed layout.
    """
    root = os.path.abspath(os.path.join("build", "cython_include"))
    pkg = os.path.join(root, "goloop")
    os.makedirs(pkg, exist_ok=True)
    open(os.path.join(pkg, "__init__.pxd"), "a").close()
    for folder in FOLDERS:
        link = os.path.join(pkg, folder)
        if not os.path.islink(link):
            os.symlink(os.path.abspath(folder), link)
    return root


extensions = []
# GOLOOP_ONLY=a,b limits a rebuild to those modules (handy while one .pyx is mid-edit).
only = [m for m in os.environ.get("GOLOOP_ONLY", "").split(",") if m]
for folder in SUBFOLDERS:
    for name in sorted(os.listdir(folder)):
        if name.endswith(".pyx") and (not only or name[:-4] in only):
            module = f"goloop.{folder.replace(os.sep, '.')}.{name[:-4]}"
            extensions.append(Extension(
                module, [os.path.join(folder, name)],
                include_dirs=[numpy.get_include(), folder],
                # Plain C++ headers next to the .pyx (winograd_rows.h): an edit rebuilds.
                depends=sorted(os.path.join(folder, h) for h in os.listdir(folder)
                               if h.endswith(".h")),
                language="c++",
                extra_compile_args=["-O3", "-std=c++17", "-Wno-unused-function"],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            ))

setup(
    name="goloop",
    version=open("goloop/VERSION").read().strip(),
    description="A Python-first reimplementation of KataGo's self-play training system",
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={"goloop": ["VERSION"], **{p: ["*.pxd"] for p in PACKAGES if ".common" in p}},
    ext_modules=cythonize(
        extensions,
        include_path=[cython_include_root()],
        # Bounds checks stay on by default: they guard Python-object indexing, where skipping
        # them turns bad input into a crash. C arrays are never checked anyway; modules whose
        # hot loops index memoryviews turn checks off locally (`# cython: boundscheck=False`).
        compiler_directives={"language_level": "3", "cdivision": True},
    ),
    python_requires=">=3.10",
    # torch: `make install` puts the CPU build in first when no torch is present (see Makefile).
    install_requires=["numpy", "click>=8", "sgfmill>=1.1", "torch>=2.1", "tqdm>=4", "watchdog>=3",
                      "zstandard>=0.21", "tensorboard>=2.10", "matplotlib>=3.5", "isal>=1.5"],
    extras_require={"test": ["pytest", "hypothesis"]},
    entry_points={"console_scripts": ["goloop = goloop.cli:main"]},
    zip_safe=False,
)
