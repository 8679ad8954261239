"""
tools/mutate.py's operators: each site is one change, and only that one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tools"))

from mutate import mutate, sites_of  # noqa: E402

SOURCE = '''
from __future__ import annotations

LIMIT = 3


def check(n: int, name: str) -> bool | None:
    """Whether n is small."""
    self.log.info("checking {n}", n=n)
    total = n + 1
    if not name or n < LIMIT:
        return total == 2
    return None
'''


def test_every_operator_finds_its_sites() -> None:
    found = [(kind, what) for kind, _, what in sites_of(SOURCE)]
    assert found == [
        ("constant", "3 -> 4"),
        ("constant", "3 -> 2"),
        ("delete", "delete `total = n + 1`"),
        ("constant", "1 -> 2"),
        ("constant", "1 -> 0"),
        ("constant", "2 -> 3"),
        ("constant", "2 -> 1"),
        ("compare", "Eq -> NotEq"),
        ("return", "return None"),
        ("not", "not removed"),
        ("compare", "Lt -> LtE"),
        ("boolop", "Or -> And"),
    ]
    # Not mutated: the docstring, the log call, the annotations, the
    # module's own assignment, and `return None`, which is already None.


def test_a_mutant_differs_from_the_original_by_its_one_change() -> None:
    original = ast.unparse(ast.parse(SOURCE))
    changed = {
        0: ("LIMIT = 3", "LIMIT = 4"),
        2: ("    total = n + 1", "    pass"),
        7: ("        return total == 2", "        return total != 2"),
        8: ("        return total == 2", "        return None"),
        9: ("    if not name or n < LIMIT:", "    if name or n < LIMIT:"),
        10: ("    if not name or n < LIMIT:", "    if not name or n <= LIMIT:"),
        11: ("    if not name or n < LIMIT:", "    if not name and n < LIMIT:"),
    }
    for site, (before, after) in changed.items():
        diff = [
            (a, b)
            for a, b in zip(
                original.splitlines(),
                mutate(SOURCE, site).splitlines(),
                strict=True,
            )
            if a != b
        ]
        assert diff == [(before, after)], site
