"""The package's import graph, checked: no cycles, no imports that run up the layering, and
first-party imports at module top (function-level imports are for heavy third-party modules).

    python scripts/check_imports.py [--graph]     # exit 1 and one line per problem; --graph prints the edges

Every `import` of an `archon_cli` module counts, wherever it stands (module top, a function or
`if TYPE_CHECKING:`), so a cycle hidden inside a function is still a cycle. The layers are the
ones ARCHITECTURE.md draws, lowest first; a module may import its own layer or lower ones.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = "archon_cli"
LAYERS = [
    {"errors", "fsutil", "stats", "registry", "answers", "redact"},
    {"config"},
    {"llm"},
    {"sandbox"},
    {"components"},
    {"pipeline", "tasks", "coverage", "trace"},
    {"evaluate", "runs"},
    {"search"},
    {"cluster", "serve"},
    {"cli", "__main__", "__init__"},
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise SystemExit(f"{module}: not in any layer of scripts/check_imports.py")


def imports(path: Path, module: str, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module top) for each first-party import in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top_level = {id(node) for node in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` blocks count as module top
        if isinstance(node, ast.If):
            top_level |= {id(n) for n in node.body}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: up `level - 1` packages from this one
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # `from pkg import mod` imports the submodule when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                while name not in known and "." in name:
                    name = name.rpartition(".")[0]
                if name in known and name != module:
                    out.append((name, node.lineno, id(node) in top_level))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", action="store_true", help="print every edge")
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    files = {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}
    graph: dict[str, set[str]] = {m: set() for m in files}
    problems = []
    for module, path in files.items():
        for target, line, at_top in imports(path, module, set(files)):
            graph[module].add(target)
            where = f"{path.relative_to(root)}:{line}"
            if layer(target) > layer(module):
                problems.append(f"{where}: {module} imports {target}, a higher layer")
            if not at_top and not target.startswith(module + "."):
                problems.append(f"{where}: first-party import of {target} inside a function (move it to the top)")
    for component in cycles(graph):
        problems.append("import cycle: " + " -> ".join(component))
    if args.graph:
        for module in sorted(graph):
            for target in sorted(graph[module]):
                print(f"{module} -> {target}")
    for p in problems:
        print(p)
    print(f"{len(files)} modules, {sum(map(len, graph.values()))} imports, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
