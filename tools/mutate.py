#!/usr/bin/env python3
"""A small mutation tester: does any unit test notice a single change?

    python tools/mutate.py chatproto/session.py chatproto/names.py
    python tools/mutate.py --budget 1800 --json /tmp/mutants.json chatproto/*.py
    python tools/mutate.py --rerun /tmp/mutants.json     # only its survivors

Each mutant is one change to one module, made on its syntax tree:

* ``compare``: a comparison flipped at its boundary or negated
  (``<`` and ``<=``, ``>`` and ``>=``, ``==`` and ``!=``, ``in`` and
  ``not in``, ``is`` and ``is not``);
* ``constant``: a number one more, and one less;
* ``boolop``: ``and`` and ``or`` swapped;
* ``not``: a ``not`` removed;
* ``return``: a returned value replaced with ``None``;
* ``delete``: a statement in a function replaced with ``pass`` (not
  docstrings, and not log calls, whose effect no unit test reads).

The mutated module is written into a scratch copy of ``chatproto/`` and
``tests/``, and the unit tests (``--tests``; no end-to-end test, each run
stops at its first failure and is cut after ``--timeout`` seconds, which
counts as killed) run against it. Mutants run one at a time, in a random
order when ``--budget`` seconds cannot cover them all (``--seed``); the
report lists the survivors with their line, to be killed by a new test or
explained as equivalent. The working tree is never changed.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The unit tests of the server core: fast, in memory, no subprocess.
DEFAULT_TESTS = [
    "tests/test_protocol.py",
    "tests/test_session.py",
    "tests/test_hardening.py",
    "tests/test_history.py",
    "tests/test_room.py",
    "tests/test_rooms.py",
    "tests/test_fanout.py",
    "tests/test_moderation.py",
    "tests/test_nicknames.py",
    "tests/test_limits.py",
    "tests/test_motd.py",
    "tests/test_web_member.py",
    "tests/test_metrics.py",
    "tests/test_store.py",
    "tests/test_wire.py",
    "tests/test_fuzz.py",
    "tests/test_properties.py",
]
FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
LOGGERS = {"log", "_log", "logger"}
DELETABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise)


@dataclass
class Mutant:
    module: str
    site: int  # the n-th mutation site of the module, in tree order
    kind: str
    line: int
    what: str
    outcome: str = ""  # killed, survived, timeout
    seconds: float = 0.0


def is_log_call(node: ast.stmt) -> bool:
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    func = node.value.func
    if not isinstance(func, ast.Attribute):
        return False
    owner = func.value
    name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
    return name in LOGGERS


def is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def skipped(node: ast.AST) -> bool:
    """Parts of a module where a change means nothing at run time."""
    if isinstance(node, ast.If):
        test = node.test
        name = getattr(test, "id", getattr(test, "attr", ""))
        return name == "TYPE_CHECKING"
    return False


class Sites(ast.NodeTransformer):
    """
    Walks a tree counting mutation sites; with ``target`` set, applies that
    one mutation and leaves the rest alone.
    """

    def __init__(self, target: int | None = None) -> None:
        self.target = target
        self.found: list[tuple[str, int, str]] = []  # kind, line, what

    def _site(self, kind: str, node: ast.AST, what: str) -> bool:
        index = len(self.found)
        self.found.append((kind, getattr(node, "lineno", 0), what))
        return index == self.target

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if skipped(node):
            return node
        return super().generic_visit(node)

    # Annotations are not run (the modules use postponed evaluation).
    def visit_arg(self, node: ast.arg) -> ast.AST:
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.args = self.visit(node.args)
        node.body = self._body(node.body)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def _body(self, body: list[ast.stmt], top: bool = False) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for statement in body:
            # A module's or class's own assignment deleted only breaks the
            # import; an annotation alone does nothing.
            deletable = (
                not top
                and isinstance(statement, DELETABLE)
                and not (isinstance(statement, ast.AnnAssign) and not statement.value)
                and not is_docstring(statement)
                and not is_log_call(statement)
            )
            if deletable:
                text = ast.unparse(statement).splitlines()[0][:60]
                if self._site("delete", statement, f"delete `{text}`"):
                    out.append(ast.copy_location(ast.Pass(), statement))
                    continue
            out.append(self.visit(statement))
        return out

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node.body = self._body(node.body, top=True)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.body = self._body(node.body, top=True)
        return node

    def _bodies(self, node: ast.AST) -> ast.AST:
        for name in ("body", "orelse", "finalbody"):
            if isinstance(getattr(node, name, None), list):
                setattr(node, name, self._body(getattr(node, name)))
        for name, value in ast.iter_fields(node):
            if name in ("body", "orelse", "finalbody"):
                continue
            if isinstance(value, ast.AST):
                setattr(node, name, self.visit(value))
            elif isinstance(value, list):
                setattr(
                    node,
                    name,
                    [self.visit(v) if isinstance(v, ast.AST) else v for v in value],
                )
        return node

    def visit_If(self, node: ast.If) -> ast.AST:
        if skipped(node):
            return node
        return self._bodies(node)

    visit_For = visit_While = visit_With = visit_Try = _bodies  # type: ignore[assignment]

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        node.body = self._body(node.body)
        return node

    def visit_match_case(self, node: ast.match_case) -> ast.AST:
        if node.guard is not None:
            node.guard = self.visit(node.guard)
        node.body = self._body(node.body)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            flipped = FLIPS.get(type(op))
            if flipped is None:
                continue
            what = f"{type(op).__name__} -> {flipped.__name__}"
            if self._site("compare", node, what):
                node.ops[i] = flipped()
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return node
        for step in (1, -1):
            if self._site("constant", node, f"{value!r} -> {value + step!r}"):
                return ast.copy_location(ast.Constant(value + step), node)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._site("boolop", node, f"{type(node.op).__name__} -> {other.__name__}"):
            node.op = other()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._site("not", node, "not removed"):
            return node.operand
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        value = node.value
        if value is None or (isinstance(value, ast.Constant) and value.value is None):
            return node
        if self._site("return", node, "return None"):
            node.value = ast.Constant(None)
        return node


def sites_of(source: str) -> list[tuple[str, int, str]]:
    """Every single change the operators can make: (kind, line, what)."""
    sites = Sites()
    sites.visit(ast.parse(source))
    return sites.found


def mutate(source: str, site: int) -> str:
    """C{source} with the change at C{site} made, and no other."""
    tree = Sites(target=site).visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def mutants_of(module: str) -> list[Mutant]:
    found = sites_of((ROOT / module).read_text())
    return [Mutant(module, i, *site) for i, site in enumerate(found)]


def mutated_source(mutant: Mutant) -> str:
    return mutate((ROOT / mutant.module).read_text(), mutant.site)


def scratch_copy() -> Path:
    where = Path(tempfile.mkdtemp(prefix="mutate-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("chatproto", "tests", "docs"):  # tests check the docs
        shutil.copytree(ROOT / name, where / name, ignore=ignore)
    shutil.copy(ROOT / "setup.cfg", where / "setup.cfg")
    return where


def run_tests(where: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    env = dict(os.environ, PYTHONPATH=str(where), PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*command, *tests],
            cwd=where,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started
    outcome = "survived" if done.returncode == 0 else "killed"
    return outcome, time.monotonic() - started


def run_one(where: Path, mutant: Mutant, tests: list[str], timeout: float) -> None:
    target = where / mutant.module
    original = target.read_text()
    try:
        target.write_text(mutated_source(mutant))
        mutant.outcome, mutant.seconds = run_tests(where, tests, timeout)
    finally:
        target.write_text(original)


def chosen(
    mutants: list[Mutant], budget: float, per_run: float, seed: int
) -> Iterator[Mutant]:
    order = list(mutants)
    if len(order) * per_run > budget:
        random.Random(seed).shuffle(order)
    yield from order


def report(mutants: list[Mutant], skipped_count: int) -> str:
    done = [m for m in mutants if m.outcome]
    killed = sum(m.outcome in ("killed", "timeout") for m in done)
    lines = [
        f"{len(done)} mutants run ({skipped_count} not run: out of time), "
        f"{killed} killed, {len(done) - killed} survived"
    ]
    by_module: dict[str, list[Mutant]] = {}
    for m in done:
        by_module.setdefault(m.module, []).append(m)
    for module, ms in sorted(by_module.items()):
        k = sum(m.outcome != "survived" for m in ms)
        lines.append(f"  {module}: {len(ms)} run, {k} killed")
    lines.append("survivors:")
    for m in done:
        if m.outcome == "survived":
            source = (ROOT / m.module).read_text().splitlines()[m.line - 1].strip()
            lines.append(f"  {m.module}:{m.line} [{m.kind} #{m.site}] {m.what}")
            lines.append(f"      {source[:100]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules, e.g. chatproto/room.py")
    parser.add_argument("--tests", nargs="+", default=DEFAULT_TESTS)
    parser.add_argument("--budget", type=float, default=1800, help="seconds in all")
    parser.add_argument("--timeout", type=float, default=20, help="seconds a run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write every mutant's outcome")
    parser.add_argument("--rerun", type=Path, help="run a report's survivors again")
    parser.add_argument("--list", action="store_true", help="list, do not run")
    args = parser.parse_args(argv)

    if args.rerun:
        previous = [Mutant(**m) for m in json.loads(args.rerun.read_text())]
        mutants = [m for m in previous if m.outcome == "survived"]
        for m in mutants:  # the sites must still be the same changes
            now = mutants_of(m.module)[m.site]
            if (now.kind, now.what) != (m.kind, m.what):
                parser.error(f"{m.module} changed since {args.rerun}: site {m.site}")
    else:
        if not args.modules:
            parser.error("name the modules to mutate")
        mutants = [m for module in args.modules for m in mutants_of(module)]
    if args.list:
        for m in mutants:
            print(f"{m.module}:{m.line} [{m.kind} #{m.site}] {m.what}")
        print(f"{len(mutants)} mutants")
        return 0

    where = scratch_copy()
    try:
        outcome, per_run = run_tests(where, args.tests, args.timeout * 3)
        if outcome != "survived":
            print(f"the unmutated tests do not pass ({outcome}): stopping")
            return 2
        print(f"{len(mutants)} mutants; an unmutated run takes {per_run:.1f} s")
        deadline = time.monotonic() + args.budget
        for n, mutant in enumerate(chosen(mutants, args.budget, per_run, args.seed), 1):
            if time.monotonic() + per_run > deadline:
                break
            run_one(where, mutant, args.tests, args.timeout)
            mark = "SURVIVED" if mutant.outcome == "survived" else mutant.outcome
            print(
                f"[{n}] {mutant.module}:{mutant.line} {mutant.what}: {mark}",
                flush=True,
            )
    finally:
        shutil.rmtree(where, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in mutants], indent=1))
    unrun = sum(not m.outcome for m in mutants)
    print(report(mutants, unrun))
    return 0


if __name__ == "__main__":
    sys.exit(main())
