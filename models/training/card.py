"""The model card and the data card, written from the figures of the run that made the model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from classifiers.text_features import CHAR_SIZES
from models.training.corpus import LANGS
from models.training.evaluate import markdown


def model_card(figures: dict[str, Any]) -> str:
    held = figures["held_out"]
    cv = figures["cross_validation_macro_f1"]
    cv_line = (
        f"- 5-fold cross-validation grouped by site: macro-F1 {sum(cv) / len(cv):.4f} "
        f"(folds: {', '.join(f'{v:.3f}' for v in cv)})"
        if cv
        else "- cross-validation not run (quick training)"
    )
    return f"""# Model card: {figures["name"]} {figures["version"]}

Text classifier that pre-scores captured pages for the analysts' queue. Written by
`models/train_text_classifier.py` on {datetime.now(UTC):%Y-%m-%d}; served by
`classifiers/text_model.py` with onnxruntime (`text_classifier.onnx`, vocabulary in
`text_classifier.vocab.npz`).

## What it does
- Input: a page's title and visible text (first 20,000 characters), in Russian, Kazakh,
  English or a mix, obfuscated spellings included.
- Output: a probability for each of {", ".join(held["labels"])};
  the label is the most probable one; the explanation names the words that pushed the most
  likely harmful category up.
- `csam` is never a text label: it is established only by hash matches and analysts.
- Use: ordering the queue. It never decides a case; an analyst does.

## How it works
Normalization undoes obfuscation (NFKC, casefold, look-alike letters folded to the word's
script, leet digits to letters, spaced-out letters joined) and reads Kazakh written in Latin
letters (2017, 2018 and 2021 alphabets, chat spellings) and Russian in Latin letters as Cyrillic,
leaving English clauses alone; features are words, word pairs and
character {_grams()} seen in at least {figures["recipe"]["min_df"]} training texts
({figures["vocabulary"]:,} in the shipped vocabulary); sublinear TF-IDF; linear SVM
(C={figures["recipe"]["c"]}, balanced class weights, each hard negative counted
{figures["recipe"].get("hard_negative_weight", 1.0):g} times); sigmoid calibration per class on
folds grouped by site. The ONNX graph holds everything after counting; counting is shared Python
code (`classifiers/text_features.py`) used by training and serving alike.

## Figures (held-out sites, never seen in training)
The split model was trained on 80 % of each label's sites and tested on the rest; the shipped
model is the same recipe refit on every text.

{markdown(held)}

- Targets of issue 5 on this split: macro-F1 ≥ 0.90 **{_met(held["macro_f1"] >= 0.90)}**,
  hard negatives called harmful ≤ 5 % **{_met((held["hard_negative_fpr"] or 0) <= 0.05)}**.
- C, the class weights and the hard-negative weight were chosen by 5-fold site-grouped
  cross-validation over the whole corpus (macro-F1 against hard-negative false positives) and on
  this split, so the split is not perfectly blind to that choice; no other setting was tuned on it.

{_new_writers(figures.get("new_writers"))}
- ONNX against scikit-learn on the held-out texts and the Kazakh/Cyrillic/mixed parity texts:
  largest probability difference {held["onnx_max_abs_diff"]:.2e} (the test requires ≤ 1e-4).
{cv_line}

## Known limits
- The corpus is small and written by the team in three rounds: invented sites, a few writing
  styles per category. Figures on it are optimistic; a held-out set written by other people
  will be lower (see the round the model never read). Real pages (long, menus, several topics)
  differ from the short samples.
- Fraud pages read like the banks' and police's own warnings about them; round 3 added 110 of
  each, which lifted fraud, but the two are still called for each other.
- Kazakh in Latin script is transliterated to Cyrillic by rule: which alphabet a text uses is
  guessed from its marked letters, chat spellings (`u`, `y`, `i` stand for several letters) are
  read approximately, and a page needs two marked words or two hint words before anything is
  rewritten. Unmarked Latin words in a clause without English function words are rewritten too,
  so a brand or an English phrase without them can come out in Cyrillic letters.
  Drugs vocabulary is over-called on pages in a style the model has not read.
- Leet digits are ambiguous (`3` is `з` in Cyrillic words, `e` in Latin ones); a fully
  transliterated word (`zakladki`) is learned, not folded.
- Hard negatives share words with harmful pages; a page that reports on a harmful one (news,
  prevention) can still score as harmful when it quotes it at length.
- Probabilities are calibrated on the corpus' label mix, not on the hotline's real intake.
"""


def _new_writers(held: dict[str, Any] | None) -> str:
    if not held:
        return ""
    return f"""## Figures on texts by writers the model never read
The corpus was written in rounds by different writers; a model trained on the rounds before
round {held["round"]} was tested on round {held["round"]}'s {held["n"]} texts (other people,
other sites, written after the earlier model existed). This is the closest the corpus comes to
the independent set the hotline will judge the model by.

{markdown(held)}
"""


def _grams() -> str:
    """`CHAR_SIZES` as the card says it: `4-grams`, `3-5-grams`."""
    low, high = CHAR_SIZES[0], CHAR_SIZES[-1]
    return f"{low}-grams" if low == high else f"{low}-{high}-grams"


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def data_card(counts: dict[str, dict[str, int]]) -> str:
    header = "| label | " + " | ".join(LANGS) + " | total | obfuscated | hard negatives | sites |"
    lines = [header, "|---" * (len(LANGS) + 5) + "|"]
    totals: dict[str, int] = {}
    for label, row in counts.items():
        cells = [row.get(k, 0) for k in (*LANGS, "total", "obfuscated", "hard_negative", "sites")]
        for key, value in zip(
            (*LANGS, "total", "obfuscated", "hard_negative"), cells, strict=False
        ):
            totals[key] = totals.get(key, 0) + value
        lines.append(f"| {label} | " + " | ".join(str(c) for c in cells) + " |")
    lines.append(
        "| all | "
        + " | ".join(
            str(totals.get(k, 0)) for k in (*LANGS, "total", "obfuscated", "hard_negative")
        )
        + " | |"
    )
    return DATA_CARD.format(table="\n".join(lines))


DATA_CARD = """# Data card: the hotline text corpus

Files: `models/corpus/<category>.jsonl` (harmful texts of one category and the benign hard
negatives that share its vocabulary), `benign_general.jsonl` (everyday pages) and
`hard_negatives_a.jsonl`/`_b.jsonl` (more lawful pages with harmful words, 40 per category or
group, written after the first model showed where it erred): round 1. Files `r2_*.jsonl`:
round 2, 980 texts written later by seven other writers who saw only the brief (not round 1's
texts beyond its format), leaning to Kazakh, English and mixed texts and to fraud, gambling and
suicide; their benign half is everyday pages (`r2_benign`) and 210 new hard negatives, 30 per
harmful category (`r2_hard_negatives`, the category at the start of `genre`). Files `r3_*.jsonl`:
round 3, fraud pages beside the warnings that read like them, Kazakh in Latin script (2018 and
2021 alphabets, chat spellings) and mixed texts. `r4_hard_negatives_latin.jsonl`: round 4, 98
texts written for issue 5 by one writer, half hard negatives (7 per harmful category) and 7
harmful texts per category, in Russian, Kazakh (Cyrillic and Latin), English and mixes, Russian
in Latin letters among them, written after reading the model's errors. The training script also
trains on rounds 1-2 and tests on round 3, the latest written by people who saw only the brief
(the model card's "writers the model never read"). One JSON object per
line: `id, label, lang (ru|kk|en|mixed), genre, site, obfuscation (none|leet|lookalike|spaced|
mixed), hard_negative, title, text`.

## How it was written
By the team, text by text, not generated from templates: each category was written by one
writer following one brief (`models/corpus/BRIEF.md`), imitating how such pages, ads, channel
descriptions, forum posts and comments read in the Kazakhstani internet, in Russian, Kazakh,
English and code-switched mixes, with obfuscated spellings written by hand. Every site, brand,
group, person, phone number and price is invented.

Safety rules: texts are ad-style or descriptive, never instructions (no recipes, doses,
methods, weapon making, scam steps); nothing sexual involves minors, and pornography texts are
non-graphic teasers for adults-only sites; no real extremist organisation or person is named.
There is no `csam` text: that category is never a text label.

Hard negatives are benign pages that share a harmful category's words: news of drug arrests,
prevention and helpline pages, pharmacies, a bank's anti-phishing warning, the licensed lottery,
a licensed hunting shop, sex education, war history, film reviews and more.

## Counts (regenerated by `models/train_text_classifier.py`)

{table}

## Use
Training and evaluation of `models/text_classifier.onnx` only. Evaluation holds out whole
sites, so no page of a held-out site is seen in training.
"""
