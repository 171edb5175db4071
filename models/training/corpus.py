"""The team-written text corpus: load, check, and split by site so no site is on both sides."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifiers.text_features import model_text

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
LABELS = ("benign", "drugs", "extremism", "fraud", "gambling", "pornography", "suicide", "weapons")
LANGS = ("ru", "kk", "en", "mixed")
OBFUSCATIONS = ("none", "leet", "lookalike", "spaced", "mixed")
FIELDS = ("id", "label", "lang", "genre", "site", "obfuscation", "hard_negative", "title", "text")


class CorpusError(ValueError):
    """A corpus line that cannot be used, with its file and line number."""


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    label: str
    lang: str
    genre: str
    site: str
    obfuscation: str
    hard_negative: bool
    title: str
    text: str
    round: int = 1  # the writing round: files named `r<N>_*.jsonl` hold round N's texts


def round_of(path: Path) -> int:
    """Round N for `rN_name.jsonl` (texts written later, by other writers), else 1."""
    head = path.name.split("_", 1)[0]
    return int(head[1:]) if head[:1] == "r" and head[1:].isdigit() else 1


def texts(samples: list[Sample]) -> list[str]:
    """What the model reads of each sample: its title, then its text."""
    return [model_text(s.text, s.title) for s in samples]


def load(directory: Path = CORPUS_DIR) -> list[Sample]:
    """Every sample of every `*.jsonl` file, checked; ids must be unique across files."""
    samples: list[Sample] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            sample = _parse(line, f"{path.name}:{number}", round_of(path))
            if sample.id in seen:
                raise CorpusError(f"{path.name}:{number}: id {sample.id!r} is used twice")
            seen.add(sample.id)
            samples.append(sample)
    if not samples:
        raise CorpusError(f"no samples in {directory}")
    return samples


def _parse(line: str, where: str, round: int = 1) -> Sample:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not JSON ({exc.msg})") from None
    missing = [f for f in FIELDS if f not in row]
    if missing:
        raise CorpusError(f"{where}: missing {', '.join(missing)}")
    if row["label"] not in LABELS:
        raise CorpusError(f"{where}: label {row['label']!r} is not one of {', '.join(LABELS)}")
    if row["lang"] not in LANGS:
        raise CorpusError(f"{where}: lang {row['lang']!r} is not one of {', '.join(LANGS)}")
    if row["obfuscation"] not in OBFUSCATIONS:
        raise CorpusError(f"{where}: obfuscation {row['obfuscation']!r} is not known")
    if not str(row["text"]).strip():
        raise CorpusError(f"{where}: empty text")
    if row["hard_negative"] and row["label"] != "benign":
        raise CorpusError(f"{where}: only benign samples are hard negatives")
    fields = {f: row[f] if f == "hard_negative" else str(row[f]) for f in FIELDS}
    return Sample(**fields, round=round)


def site_split(
    samples: list[Sample], test_share: float = 0.2, seed: int = 20261129
) -> tuple[list[Sample], list[Sample]]:
    """Train and held-out samples; every site's samples go to one side, chosen per label so each
    label keeps about `test_share` of its samples out."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, dict[str, list[Sample]]] = {}
    for sample in samples:
        by_label.setdefault(sample.label, {}).setdefault(sample.site, []).append(sample)
    train: list[Sample] = []
    test: list[Sample] = []
    for label in sorted(by_label):
        sites = sorted(by_label[label])
        rng.shuffle(sites)
        total = sum(len(by_label[label][s]) for s in sites)
        taken = 0
        for site in sites:
            group = by_label[label][site]
            if taken < test_share * total:
                test.extend(group)
                taken += len(group)
            else:
                train.extend(group)
    return train, test


# The latest round written by people who saw only the brief. Round 4 was written after reading
# the model's errors and the corpus, so it is trained on but never stands in for new writers.
BLIND_ROUND = 3


def writer_split(samples: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    """Texts of the rounds before the latest blind round, and that round's: how the model does on
    texts by writers it never read (the closest the corpus comes to an independent set)."""
    blind = min(BLIND_ROUND, max(s.round for s in samples))
    return [s for s in samples if s.round < blind], [s for s in samples if s.round == blind]


def site_groups(samples: list[Sample]) -> list[str]:
    """The group of each sample for grouped cross-validation: its label and site."""
    return [f"{s.label}/{s.site}" for s in samples]


def counts(samples: list[Sample]) -> dict[str, dict[str, int]]:
    """Samples per label and language, obfuscated ones and hard negatives: the data card's table."""
    table: dict[str, Counter[str]] = {}
    for s in samples:
        row = table.setdefault(s.label, Counter())
        row[s.lang] += 1
        row["total"] += 1
        row["obfuscated"] += s.obfuscation != "none"
        row["hard_negative"] += s.hard_negative
        row["sites"] += 0
    for label, row in table.items():
        row["sites"] = len({s.site for s in samples if s.label == label})
    return {label: dict(row) for label, row in sorted(table.items())}
