"""The one table: rows with a value, a target and whether it is met; text, Markdown and JSON."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Row:
    section: str
    metric: str
    value: float | int | None  # None = n/a, and `note` says why
    unit: str = ""
    target: str = ""
    met: bool | None = None  # None when the row has no target or no value
    note: str = ""

    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        if isinstance(self.value, int):
            return f"{self.value:,}".replace(",", " ") + (f" {self.unit}" if self.unit else "")
        digits = 3 if abs(self.value) < 1 else 2 if abs(self.value) < 10 else 1
        text = f"{self.value:,.{digits}f}".replace(",", " ")
        return f"{text} {self.unit}" if self.unit else text

    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.met]


def na(section: str, metric: str, why: str, target: str = "") -> Row:
    return Row(section, metric, None, target=target, note=why)


def check(
    section: str,
    metric: str,
    value: float | None,
    unit: str,
    target: str,
    ok: bool | None,
    note: str = "",
) -> Row:
    """A row with a target; `ok` is ignored (met=None) when there is no value."""
    return Row(section, metric, value, unit, target, None if value is None else ok, note)


def machine() -> dict[str, object]:
    mem_kb = 0
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def text_table(rows: list[Row]) -> str:
    cells = [("section", "metric", "value", "target", "", "note")]
    cells += [(r.section, r.metric, r.shown(), r.target, r.verdict(), r.note) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    lines = []
    for i, c in enumerate(cells):
        lines.append("  ".join(c[j].ljust(widths[j]) for j in range(5)) + "  " + c[5])
        if i == 0:
            lines.append("-" * (sum(widths) + 12))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| section | metric | value | target | met? | note |", "|---|---|---:|---|---|---|"]
    for r in rows:
        note = r.note.replace("|", "\\|")
        lines.append(
            f"| {r.section} | {r.metric} | {r.shown()} | {r.target} | {r.verdict()} | {note} |"
        )
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], meta: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**meta, "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
