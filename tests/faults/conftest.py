"""The fault suite: every test under tests/faults carries the `faults` marker, so
`pytest -m "not faults"` is the quick suite and plain `pytest` (hence .ci/run) runs it all."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)
