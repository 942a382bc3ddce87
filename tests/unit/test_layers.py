"""The layer contracts (pyproject.toml, docs/architecture.md) hold, and cover every package.

`lint-imports` runs in `make lint` too; here the same contracts run inside pytest, so
`make check` catches an arrow pointing back up, and a new top-level package cannot escape them
by not being listed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LINTER = PYPROJECT["tool"]["importlinter"]
NOT_SHIPPED = {"tests", "bench"}


def top_level_packages() -> set[str]:
    return {
        init.parent.name
        for init in ROOT.glob("*/__init__.py")
        if init.parent.name not in NOT_SHIPPED
    }


def test_every_top_level_package_is_in_the_contracts() -> None:
    assert set(LINTER["root_packages"]) == top_level_packages()


def test_every_top_level_package_is_installed() -> None:
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {pattern.rstrip("*") for pattern in include} == top_level_packages()


def test_every_package_has_a_layer() -> None:
    (layers,) = (c for c in LINTER["contracts"] if c["type"] == "layers" and "containers" not in c)
    named = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    assert named == set(LINTER["root_packages"])


def test_the_contracts_are_kept() -> None:
    # In a process of its own: the linter configures logging, which later tests' caplog needs.
    linter = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run(
        [str(linter), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def package_edges() -> dict[str, set[str]]:
    """Which top-level package imports which, from the source (nothing is imported)."""
    packages = sorted(top_level_packages())
    graph = grimp.build_graph(*packages, cache_dir=None)
    edges: dict[str, set[str]] = {package: set() for package in packages}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            source, target = importer.split(".")[0], imported.split(".")[0]
            if source != target:
                edges[source].add(target)
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle among the packages, as a path that returns to its start, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_cycle_between_top_level_packages() -> None:
    assert cycle(package_edges()) is None


def test_a_cycle_is_found() -> None:
    # The check above would pass on anything if `cycle` could not see one.
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
