"""The sandbox account in a file, so that it lives on between processes (`clientary-mcp call --sandbox`).

JSON, with dates and times tagged so that they come back as the Python values the store holds. Whoever
loads, changes and saves holds an exclusive lock on the file meanwhile, so concurrent processes never
lose each other's writes; the file is replaced atomically, so a crash leaves the previous state.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..config import ConfigError

FORMAT = 1


class SavedStateError(ConfigError):
    """The file is unreadable; str() says where and how to start over."""


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot save a {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$datetime" in obj:
            return datetime.fromisoformat(obj["$datetime"])
        if "$date" in obj:
            return date.fromisoformat(obj["$date"])
    return obj


def dumps(app: Any) -> str:
    return json.dumps({"format": FORMAT, "account": app.state.store.export()}, default=_encode)


def loads(app: Any, text: str, where: Path) -> None:
    try:
        data = json.loads(text, object_hook=_decode)
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        app.state.store.restore(data["account"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SavedStateError(f"the saved sandbox at {where} is unreadable ({type(exc).__name__}); start over with "
                              "`clientary-mcp sandbox reset`") from None


@contextlib.contextmanager
def session(path: Path, *, token: str) -> Iterator[Any]:
    """The sandbox app with the saved account (a fresh seeded one the first time), saved again on exit."""
    from filelock import FileLock

    from .app import create_app

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        app = create_app(token=token)
        if path.exists():
            loads(app, path.read_text(encoding="utf-8"), path)
        try:
            yield app
        finally:
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(dumps(app), encoding="utf-8")
            os.replace(tmp, path)


def reset(path: Path) -> bool:
    """Forget the saved account; True if there was one."""
    from filelock import FileLock

    if not path.parent.exists():
        return False
    with FileLock(str(path) + ".lock"):
        existed = path.exists()
        path.unlink(missing_ok=True)
    return existed
