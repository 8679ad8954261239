"""
The page's own JavaScript (line parsing, catch-up by id, links, mentions,
reconnection), tested by Node's built-in test runner: tests/js/*.test.mjs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = sorted((Path(__file__).parent / "js").glob("*.test.mjs"))


def test_the_pages_javascript() -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install nodejs)")
    assert JS_TESTS, "no JavaScript tests found"
    result = subprocess.run(
        [node, "--test", *map(str, JS_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
