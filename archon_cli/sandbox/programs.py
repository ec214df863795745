"""Pull runnable code out of model output and put a runnable program together (pure text work)."""

from __future__ import annotations

import ast
import builtins
import re

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PYTHON = ("", "python", "py", "python3")
# A line that starts top-level code after prose: a definition, an import, a decorator.
_CODE_START = re.compile(r"^(?:(?:async\s+)?def\s|class\s|import\s|from\s+[\w.]+\s+import\s|@)", re.MULTILINE)
_MAX_TRIM_LINES = 200  # trailing prose lines tried off an unfenced reply before giving up
_BUILTINS = frozenset(dir(builtins))


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code in `text`, leniently. Fenced replies: the *last* block that defines `entry_point`
    (a reply that corrects itself is scored on the correction), preceded by the other blocks that
    define what it uses (helpers, imports); without such a block the longest Python-looking one.
    An unclosed fence runs to the end. Unfenced replies: the text, or the code after a line of
    prose up to where it stops parsing."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    if not blocks:
        return _unfenced(text)
    if entry_point:
        defining = [i for i, (_, body) in enumerate(blocks) if _defines(body, entry_point)]
        if defining:
            return _with_helpers([body for _, body in blocks], defining[-1], entry_point)
    python = [body for lang, body in blocks if lang in _PYTHON] or [b for _, b in blocks]
    return max(python, key=len).rstrip()


def build_program(code: str, entry_point: str | None, prompt: str | None) -> str:
    """A complete module: `code` alone, or after the task's `prompt` (signature + docstring) so
    that a body-only completion continues it and a full definition gets the prompt's imports."""
    if not prompt:
        return code
    if entry_point and _defines(code, entry_point):
        return f"{prompt.rstrip()}\n    pass\n\n\n{code}\n"
    if code and not code[:1].isspace():  # a body the model did not indent
        code = "\n".join("    " + line for line in code.splitlines())
    return f"{prompt.rstrip()}\n{code}\n"


def _defines(code: str, entry_point: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE) is not None


def _with_helpers(bodies: list[str], chosen: int, entry_point: str) -> str:
    """The chosen block after the definitions (functions, classes, imports) of the other blocks
    that it uses, and that those use in turn, in reply order. Blocks defining the entry point
    (earlier attempts) are never drawn from, and nothing but definitions is taken from a block:
    its usage examples and tests would run before the chosen code exists."""
    trees = [_parse(body) for body in bodies]
    needed = _free_names(bodies[chosen], trees[chosen])
    taken: dict[tuple[int, int], str] = {}
    grew = True
    while grew:
        grew = False
        for i, tree in enumerate(trees):
            if i == chosen or tree is None or _defines(bodies[i], entry_point):
                continue
            for pos, node in enumerate(tree.body):
                names = _defined_by(node)
                if (i, pos) not in taken and names & needed:
                    taken[(i, pos)] = _source(bodies[i], node)
                    needed |= _free_names(taken[(i, pos)], _parse(taken[(i, pos)]))
                    grew = True
    parts = [taken[key] for key in sorted(taken)] + [bodies[chosen].rstrip()]
    return "\n\n\n".join(parts)


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def _defined_by(node: ast.stmt) -> set[str]:
    """The names a top-level definition or import binds (other statements: none)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    return set()


def _source(code: str, node: ast.stmt) -> str:
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(d.lineno for d in decorators)])
    return "\n".join(code.splitlines()[first - 1:node.end_lineno])


def _free_names(code: str, tree: ast.Module | None) -> set[str]:
    """Names `code` reads but never binds (nor are builtins)."""
    if tree is None:  # a fragment (e.g. a body): any identifier may be a use
        return set(re.findall(r"[A-Za-z_]\w*", code)) - _BUILTINS
    used: set[str] = set()
    bound: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            (used if isinstance(n.ctx, ast.Load) else bound).add(n.id)
        elif isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, ast.stmt):
            bound |= _defined_by(n)
    return used - bound - _BUILTINS


def _unfenced(text: str) -> str:
    """The whole text when it is code (or a body to continue the prompt); after a prose line,
    the code from the first definition/import to the last line that still parses."""
    code = text.strip("\n")
    if _parse(code) is not None or code[:1].isspace():
        return code
    start = _CODE_START.search(code)
    if start is None or _is_code(code[:start.start()]):
        return code
    lines = code[start.start():].splitlines()
    for end in range(len(lines), max(0, len(lines) - _MAX_TRIM_LINES), -1):
        candidate = "\n".join(lines[:end]).rstrip()
        if _parse(candidate) is not None:
            return candidate
    return "\n".join(lines).rstrip()


def _is_code(prefix: str) -> bool:
    """Whether the text before the first definition parses as statements (e.g. an unindented
    body), so it is not prose to drop."""
    body = "\n".join("    " + line for line in prefix.strip("\n").splitlines()) or "    pass"
    return _parse(f"def _f():\n{body}\n") is not None
