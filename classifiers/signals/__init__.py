"""The hash algorithms the hotline speaks, each one `SignalType`, found by name in `SIGNAL_TYPES`.

SignalType            name, bits, normalize(), distance(), matchable()
├── FileSignal        hash_bytes(data): sha256, sha1, md5
└── ImageSignal       hash_image(image): phash, dhash, pdq
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from classifiers.signals.base import FileSignal, ImageSignal, SignalType, SignalValue, shown
from classifiers.signals.exact import Md5, Sha1, Sha256
from classifiers.signals.perceptual import WORKING_SIDE, DHash, Pdq, PHash

__all__ = [
    "SIGNAL_TYPES",
    "WORKING_SIDE",
    "DHash",
    "FileSignal",
    "ImageSignal",
    "Md5",
    "PHash",
    "Pdq",
    "Sha1",
    "Sha256",
    "SignalRegistry",
    "SignalType",
    "SignalValue",
]


class SignalRegistry(Mapping[str, type[SignalType]]):
    """Signal types by name; built once at import, refusing two types with one name."""

    def __init__(self, types: Iterable[type[SignalType]]) -> None:
        self._types: dict[str, type[SignalType]] = {}
        for kind in types:
            if kind.name in self._types:
                raise ValueError(f"two signal types are named '{kind.name}'")
            self._types[kind.name] = kind

    def __getitem__(self, name: str) -> type[SignalType]:
        return self._types[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def get_type(self, name: str) -> type[SignalType]:
        """The type for `name` (any case), or ValueError listing the known names."""
        kind = self._types.get(name.strip().lower())
        if kind is None:
            raise ValueError(f"unknown hash type '{shown(name)}' (known: {', '.join(self._types)})")
        return kind

    def files(self) -> list[type[FileSignal]]:
        return [t for t in self._types.values() if issubclass(t, FileSignal)]

    def images(self) -> list[type[ImageSignal]]:
        return [t for t in self._types.values() if issubclass(t, ImageSignal)]


SIGNAL_TYPES = SignalRegistry([Sha256, Md5, Sha1, PHash, DHash, Pdq])
