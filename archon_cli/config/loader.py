"""YAML in, validated pydantic models out; every error names the file and YAML path.

Input is bounded before it is trusted: a config must be a regular file of at most
`MAX_YAML_BYTES`, nested at most `MAX_DEPTH` deep, with at most `MAX_NODES` values once aliases
are expanded (a "billion laughs" file is refused, not expanded), and no key twice in a mapping.
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from archon_cli.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

MAX_YAML_BYTES = 256 << 10  # configs are a few KB; parsed in ~0.2 s (libyaml) or ~0.8 s (pure Python)
MAX_DEPTH = 100  # nesting of mappings and sequences (a space block is ~4 levels)
MAX_NODES = 200_000  # values after alias expansion: what validation would walk
# Tagged unions (config/space.py) put the member's tag in an error's location; it is not YAML.
TAG_PREFIX = "<tag>"
SUGGESTIONS = 50  # "did you mean" for the first problems only: an error shows 15 of them anyway


# libyaml when the wheel has it (5x faster), the pure-Python loader otherwise; same results.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoDuplicateKeys(_SafeLoader):  # type: ignore[valid-type, misc]
    """The safe loader, refusing a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, typing.Hashable) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1})", key_node.start_mark)
                if isinstance(key, typing.Hashable):
                    seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _check_depth(text: str) -> None:
    """Composing recurses once per level; the event stream does not, so count levels there first."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark: Any = event.start_mark  # a libyaml Mark is duck-typed like PyYAML's
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing what is not a small regular file. O_NONBLOCK: opening a FIFO
    whose writer never comes must not block; fstat then refuses it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{_short(path)}: cannot open: {_os_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise ConfigError(f"{path}: cannot read: {kind}")
        if info.st_size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {info.st_size} bytes; a config may have at most {MAX_YAML_BYTES}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {_os_reason(exc)}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_YAML_BYTES:  # grew while we read
        raise ConfigError(f"{path}: more than {MAX_YAML_BYTES} bytes; a config may have at most that")
    return data


def _os_reason(exc: OSError) -> str:
    names = {errno.ELOOP: "too many levels of symbolic links", errno.ENAMETOOLONG: "file name too long"}
    return names.get(exc.errno or 0, exc.strerror or str(exc))


def _short(path: Path, limit: int = 200) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors name the line and column."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    loader = None
    try:
        _check_depth(text)
        loader = _NoDuplicateKeys(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node, path)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    except RecursionError:  # belt and braces: MAX_DEPTH stops nesting long before this
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_expanded_size(root: yaml.Node, path: Path) -> None:
    """Count the values the document holds with every alias expanded, without expanding it:
    a node's size is memoised, so a shared subtree is counted once per reference, cheaply."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > MAX_NODES:
                raise ConfigError(f"{path}: invalid YAML: more than {MAX_NODES} values once aliases are "
                                  "expanded")
            continue
        if key in sizes:
            continue
        if key in on_path:
            mark = node.start_mark
            raise ConfigError(f"{path}: invalid YAML (line {mark.line + 1}): an alias refers to the value "
                              "that contains it")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def problems_from(exc: ValidationError, prefix: tuple[Any, ...] = (), model: type[BaseModel] | None = None
                  ) -> list[str]:
    """One line per pydantic error: `layers.1.0.top_k: Input should be ≥ 1`. Given the model, an
    unknown key gets a "did you mean" from the keys allowed where it stands."""
    lines = []
    for n, err in enumerate(exc.errors()):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(TAG_PREFIX)))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
            if model is not None and loc and n < SUGGESTIONS:
                msg += did_you_mean(str(loc[-1]), _keys_at(model, loc[:-1]))
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{dotted(prefix + loc)}: {msg}")
    return lines


def did_you_mean(word: str, options: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> set[str]:
    """The keys a mapping at `loc` (inside data for `model`) may have: the union over every model
    the annotations allow there (list indices and dict keys step into items and values)."""
    current: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for ann in _expand(current):
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                field = next((f for name, f in ann.model_fields.items() if part in (name, f.alias)), None)
                if field is not None:
                    nxt.append(field.annotation)
            elif typing.get_origin(ann) in (list, tuple, dict):
                nxt.extend(typing.get_args(ann)[-1:])
        current = nxt
    keys: set[str] = set()
    for ann in _expand(current):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys |= {f.alias or name for name, f in ann.model_fields.items()}
    return keys


def _expand(annotations: list[Any]) -> list[Any]:
    """Unwrap Optional / unions / Annotated into their member types."""
    out: list[Any] = []
    todo = list(annotations)
    while todo:
        ann = todo.pop()
        args = typing.get_args(ann)
        if typing.get_origin(ann) is typing.Annotated:
            todo.append(args[0])
        elif typing.get_origin(ann) in (typing.Union, types.UnionType):
            todo.extend(args)
        else:
            out.append(ann)
    return out


def validate(model: type[M], data: Any, source: str | Path) -> M:
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid {model.__name__}", problems_from(exc, model=model)) from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid {model.__name__}: nested too deeply") from None


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
