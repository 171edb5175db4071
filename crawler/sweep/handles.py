"""Objects a sweep hands to its Scrapy components (the sink, the stop check): Scrapy deep-copies
its settings, so they carry a key and the component looks the object up here."""

from __future__ import annotations

from typing import Any

_HANDED: dict[str, Any] = {}


def hand(thing: Any) -> str:
    """The key the settings carry for `thing`."""
    key = f"{type(thing).__name__}:{id(thing)}"
    _HANDED[key] = thing
    return key


def handed(key: str) -> Any:
    return _HANDED[key]
