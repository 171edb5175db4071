"""Exact digests used by hash lists: sha256 (evidence addresses), md5 and sha1 (older lists)."""

from __future__ import annotations

import hashlib

from classifiers.signals.base import FileSignal, SignalValue


class Sha256(FileSignal):
    name = "sha256"
    bits = 256

    @classmethod
    def hash_bytes(cls, data: bytes) -> SignalValue:
        return SignalValue(hashlib.sha256(data).hexdigest())


class Sha1(FileSignal):
    name = "sha1"
    bits = 160

    @classmethod
    def hash_bytes(cls, data: bytes) -> SignalValue:
        return SignalValue(hashlib.sha1(data, usedforsecurity=False).hexdigest())


class Md5(FileSignal):
    name = "md5"
    bits = 128

    @classmethod
    def hash_bytes(cls, data: bytes) -> SignalValue:
        return SignalValue(hashlib.md5(data, usedforsecurity=False).hexdigest())
