"""
The shape of the package: which module may import which.
"""

from __future__ import annotations

import ast
from pathlib import Path

import chatproto

PACKAGE = Path(chatproto.__file__).parent


def _imports(path: Path) -> set[str]:
    """
    The chatproto modules C{path} imports when it runs: every import
    statement, at module level or in a function, except those under
    C{if TYPE_CHECKING:}, which never run.
    """
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if node.level:  # relative, within chatproto.client
                package = _module_name(path).rsplit(".", node.level)[0]
                module = f"{package}.{module}"
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    modules = set(_modules())
    return {name for name in found if name in modules}


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _graph() -> dict[str, set[str]]:
    return {name: _imports(path) - {name} for name, path in _modules().items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "visiting"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "visiting":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_back() -> None:
    assert _cycle(_graph()) is None


def test_events_import_nothing_of_the_project() -> None:
    assert _graph()["chatproto.events"] == set()


def test_the_chat_domain_knows_no_front_end_or_wiring() -> None:
    domain = {
        "chatproto.events",
        "chatproto.errors",
        "chatproto.names",
        "chatproto.nicknames",
        "chatproto.history",
        "chatproto.fanout",
        "chatproto.room",
        "chatproto.rooms",
    }
    outside = {
        "chatproto.protocol",
        "chatproto.factory",
        "chatproto.tap",
        "chatproto.prometheus",
        "chatproto.wire",
    }
    graph = _graph()
    for module in domain:
        assert not graph[module] & outside, module


def _code_like_literals(tree: ast.AST) -> set[str]:
    """
    Strings used the way error codes are: compared, put in sets, matched,
    or given to an error's constructor.
    """
    found: set[str] = set()

    def strings(nodes: list[ast.expr]) -> None:
        for node in nodes:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            strings([node.left, *node.comparators])
            for comparator in node.comparators:
                if isinstance(comparator, ast.Tuple | ast.List | ast.Set):
                    strings(comparator.elts)
        elif isinstance(node, ast.Set):
            strings(node.elts)
        elif isinstance(node, ast.MatchValue):
            strings([node.value])
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("Error"):
            strings(node.args[:1])
    return found


def test_error_codes_are_written_once() -> None:
    # Server and client take the codes from chatproto.errors.
    from chatproto.errors import Code

    codes = {code.value for code in Code}
    assert _code_like_literals(ast.parse('x == "nick-taken"')) & codes
    misplaced = {
        name: used & codes
        for name, path in _modules().items()
        if name != "chatproto.errors"
        and (used := _code_like_literals(ast.parse(path.read_text())))
    }
    assert {name: used for name, used in misplaced.items() if used} == {}
