"""What every CLI command shares: settings, the store, logging, and one-line errors."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from veille.settings import Settings, load_settings

SourcesOption = Annotated[
    Path | None,
    typer.Option("--sources", help="Sources file (default: VEILLE_SOURCES or ./feeds.yaml)."),
]


class State:
    """Built once per invocation by the root callback, shared by the commands."""

    def __init__(self, overrides: dict[str, object] | None = None) -> None:
        self.overrides = overrides or {}

    @cached_property
    def settings(self) -> Settings:
        return load_settings(**self.overrides)

    @cached_property
    def engine(self) -> Engine:
        from veille.store import open_store

        return open_store(self.settings.db_url)

    def sources_path(self, option: Path | None) -> Path:
        return option if option is not None else self.settings.sources


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the fixed keys passed as `extra`."""

    # uvicorn adds an ANSI-coloured copy of its message: noise in a log file.
    _skip = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
        "message",
        "color_message",
    }

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in self._skip})
        if record.exc_info:  # a bug keeps its traceback, as one JSON string
            out["exception"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
            out["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger msg key=value …`: greppable, with the same keys as JSON."""

    _skip = JsonFormatter._skip

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}" for k, v in vars(record).items() if k not in self._skip and v is not None
        )
        base = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
        text = f"{base} {extras}".rstrip()
        if record.exc_info:  # a bug keeps its traceback, under its one line
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


def configure_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries chatter at INFO; keep their warnings only.
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "courlan", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_leased(
    engine: Engine, job: str, work: Callable[[datetime], dict[str, int]], *, busy: str
) -> str:
    """Run `work` under the scheduler's lease and history for `job` (two at once would race)
    and return the runner's outcome: a lease held elsewhere is `busy` on one line, and a
    VeilleError inside is re-raised as is (a bug's traceback is logged by the runner)."""
    from veille.errors import VeilleError
    from veille.scheduler.runner import JobRunner

    runner = JobRunner(engine)
    outcome = runner.run(job, work)
    if outcome == "busy":
        raise VeilleError(f"{busy}: try again when it ends; `veille status` shows it")
    if isinstance(runner.error, VeilleError):
        raise runner.error
    return outcome
