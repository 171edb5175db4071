"""Train the hotline's text classifier from the team's corpus, evaluate it, export it to ONNX.

    python models/train_text_classifier.py            # the shipped model, card and figures
    python models/train_text_classifier.py --quick --out /tmp/m/text_classifier.onnx

Steps: split the corpus by site (20 % of each label's sites held out), fit on the rest, measure
on the held-out part with scikit-learn and with the exported ONNX graph (and their largest
difference), cross-validate by site, then refit on every text and export that model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifiers.text_model import TextClassifier
from models.training import card, corpus, evaluate
from models.training.fit import Recipe, fit
from models.training.onnx_export import export

MODELS = Path(__file__).resolve().parent
NAME = "hotline-text"
# Cyrillic, every Kazakh-specific letter, mixed scripts, obfuscations: the export must agree here.
PARITY_TEXTS = [
    "Әділет, ғылым, қала, таң, өнер, ұлт, үй, һәм, білім: қазақ тілінің әріптері.",
    "Закладки в Алмате, быстрая доставка, пиши в телеграм",
    "zаkладкi тут, k0ka1n, с т а в к и, ка3ино бонус 100%",
    "Mixed текст with English and қазақша сөздер, 18+ only",
    "Qazaqstan — úlken el, ýaqyt jetti; Qūrmetti dos, üyden şyqpay-aq; qazir kerek emes",
    "",
    "!!! ... 123 456",
]


def parity(model: object, texts: list[str], directory: Path) -> float:
    """Largest |ONNX − scikit-learn| probability over `texts`, with the model exported to a file."""
    path = directory / "parity.onnx"
    export(model, path, name=NAME, version="parity")  # type: ignore[arg-type]
    served = TextClassifier(path)
    ours = served.probabilities(texts)
    theirs = model.predict_proba(texts)  # type: ignore[attr-defined]
    order = [list(model.classes_).index(label) for label in served.labels]  # type: ignore[attr-defined]
    return float(np.max(np.abs(ours - theirs[:, order])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=corpus.CORPUS_DIR)
    parser.add_argument("--out", type=Path, default=MODELS / "text_classifier.onnx")
    parser.add_argument("--version", default=time.strftime("%Y.%m.%d"))
    parser.add_argument("--quick", action="store_true", help="no cross-validation, 3 folds")
    parser.add_argument("--c", type=float, default=Recipe.c, help="SVM regularization")
    parser.add_argument("--min-df", type=int, default=Recipe.min_df)
    parser.add_argument(
        "--hard-negative-weight",
        type=float,
        default=Recipe.hard_negative_weight,
        help="how many times a benign hard negative counts in the fit",
    )
    args = parser.parse_args(argv)
    recipe = Recipe(
        min_df=args.min_df,
        c=args.c,
        folds=3 if args.quick else 5,
        hard_negative_weight=args.hard_negative_weight,
    )

    samples = corpus.load(args.corpus)
    train, test = corpus.site_split(samples, seed=recipe.seed)
    print(f"corpus: {len(samples)} texts; train {len(train)}, held out {len(test)}")
    started = time.perf_counter()
    model = fit(
        corpus.texts(train),
        [s.label for s in train],
        corpus.site_groups(train),
        recipe,
        [s.hard_negative for s in train],
    )
    print(f"fit in {time.perf_counter() - started:.1f} s")
    held_out = evaluate.report(test, list(model.predict(corpus.texts(test))), corpus.LABELS)
    with tempfile.TemporaryDirectory() as tmp:
        held_out["onnx_max_abs_diff"] = parity(model, corpus.texts(test) + PARITY_TEXTS, Path(tmp))
    print(evaluate.markdown(held_out))
    print(
        f"ONNX vs scikit-learn, largest probability difference: {held_out['onnx_max_abs_diff']:.2e}"
    )
    new_writers = None
    earlier, latest = corpus.writer_split(samples)
    if earlier and not args.quick:
        by_earlier = fit(
            corpus.texts(earlier),
            [s.label for s in earlier],
            corpus.site_groups(earlier),
            recipe,
            [s.hard_negative for s in earlier],
        )
        new_writers = evaluate.report(
            latest, list(by_earlier.predict(corpus.texts(latest))), corpus.LABELS
        )
        new_writers["round"] = latest[0].round
        print(f"\nTrained on rounds before {latest[0].round}, tested on its texts:")
        print(evaluate.markdown(new_writers))
    cv = [] if args.quick else evaluate.cross_validate(samples, recipe, 5)
    if cv:
        print(f"5-fold by site macro-F1: {np.mean(cv):.4f} ± {np.std(cv):.4f} {cv}")

    final = fit(
        corpus.texts(samples),
        [s.label for s in samples],
        corpus.site_groups(samples),
        recipe,
        [s.hard_negative for s in samples],
    )
    export(final, args.out, name=NAME, version=args.version)
    figures = {
        "name": NAME,
        "version": args.version,
        "recipe": {
            "min_df": recipe.min_df,
            "c": recipe.c,
            "folds": recipe.folds,
            "hard_negative_weight": recipe.hard_negative_weight,
        },
        "corpus": corpus.counts(samples),
        "held_out": held_out,
        "new_writers": new_writers,
        "cross_validation_macro_f1": cv,
        "vocabulary": len(final.named_steps["counts"].vocabulary_),
    }
    metrics_path = args.out.with_suffix(".metrics.json")
    metrics_path.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n")
    args.out.with_suffix(".card.md").write_text(card.model_card(figures))
    if args.corpus == corpus.CORPUS_DIR:
        (args.corpus / "DATA_CARD.md").write_text(card.data_card(figures["corpus"]))
    print(f"wrote {args.out}, {metrics_path.name} and the model card")
    return 0


if __name__ == "__main__":
    sys.exit(main())
