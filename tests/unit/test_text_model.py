"""The served text model: ONNX equal to its scikit-learn source, explained, and refusing files
it cannot trust. Trains a small model from the corpus for the equality check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from classifiers.text_features import batch, model_text, token_codes, tokens
from classifiers.text_model import ModelUnavailable, TextClassifier, default_path
from models.training import corpus
from models.training.fit import Recipe, fit
from models.training.onnx_export import export

KAZAKH = "ә ғ қ ң ө ұ ү һ і"
PARITY = [
    "Әділет, ғылым, қала, таң, өнер, ұлт, үй, һәм, білім: қазақ тілінің әріптері",
    f"Барлық әріптер: {KAZAKH} {KAZAKH.upper()}",
    "Закладки в Алмате, быстрая доставка, пиши в телеграм",
    "ЗАКЛАДКИ ОПТОМ — МЕФ, СОЛЬ, ШИШКИ",
    "Mixed текст with English and қазақша сөздер, 18+ only",
    "zаkладкi тут, k0ka1n, с т а в к и, ка3ино бонус 100%",
    "Қазақша мәтін with English: ставки на спорт, бонус 200%!",
    "Qazaqstan — úlken el, ýaqyt jetti; Qūrmetti dos, üyden şyqpay-aq; qazir kerek emes",
    "prodam velosiped, cena dogovornaya, pishite v lichku",
    "",
    "!!! ... 123 456 ₸ € 😀",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, TextClassifier, list[str]]:
    samples = corpus.load()
    rng = np.random.default_rng(3)
    picked = [s for s in samples if rng.random() < 0.4 or s.lang == "kk"]
    texts = [model_text(s.text, s.title) for s in picked]
    model = fit(
        texts,
        [s.label for s in picked],
        corpus.site_groups(picked),
        Recipe(folds=3),
        [s.hard_negative for s in picked],
    )
    path = tmp_path_factory.mktemp("model") / "text_classifier.onnx"
    export(model, path, name="test", version="t1")
    kazakh = [model_text(s.text, s.title) for s in samples if s.lang in ("kk", "mixed")]
    return model, TextClassifier(path), PARITY + kazakh


def test_onnx_gives_scikit_learns_probabilities(trained: tuple) -> None:
    model, served, texts = trained
    assert any(c in "".join(texts) for c in KAZAKH.split())
    ours = served.probabilities(texts)
    order = [list(model.classes_).index(label) for label in served.labels]
    theirs = model.predict_proba(texts)[:, order]
    assert ours.shape == theirs.shape == (len(texts), len(served.labels))
    assert float(np.max(np.abs(ours - theirs))) <= 1e-4
    assert np.allclose(ours.sum(axis=1), 1, atol=1e-5)


def test_contributions_are_scikit_learns_terms_of_the_decision(trained: tuple) -> None:
    """What explanations rank: each feature's TF-IDF value times the SVM's weight for the
    explained category, as scikit-learn computes them, whatever order the export keeps."""
    model, served, texts = trained
    counts, tfidf, calibrated = (model.named_steps[k] for k in ("counts", "tfidf", "model"))
    svm = calibrated.calibrated_classifiers_[0].estimator
    checked = 0
    for text in texts[:40]:
        counted = batch(served.vocabulary, [token_codes(text)])
        _, explained, contributions = served.session.run(
            ["probabilities", "explained", "contributions"], counted.inputs
        )
        known = len(counted.starts[0])
        ours = contributions[0, :known]
        theirs_columns = counts.vocabulary_.columns(
            served.vocabulary.hashes[counted.columns[0, :known]]
        )
        row = tfidf.transform(counts.transform([text])).toarray()[0]
        category = list(svm.classes_).index(served.labels[int(explained[0])])
        theirs = row[theirs_columns] * svm.coef_[category, theirs_columns]
        assert len(theirs_columns) == known
        assert float(np.max(np.abs(ours - theirs), initial=0.0)) <= 1e-5
        checked += known
    assert checked > 1000


def test_a_batch_answers_as_texts_one_by_one(trained: tuple) -> None:
    _, served, texts = trained
    together = served.classify(texts[:20])
    alone = [served.classify([t])[0] for t in texts[:20]]
    assert [r.as_dict() for r in together] == [r.as_dict() for r in alone]


def test_explanations_name_words_of_the_page(trained: tuple) -> None:
    _, served, _ = trained
    text = "Закладки в Алмате: меф, соль, шишки. Оператор в телеграм 24/7"
    (result,) = served.classify([text])
    words = tokens(text)
    assert result.explanation["terms"], result
    for term in result.explanation["terms"]:
        assert f" {term['term']} " in words and term["weight"] > 0
    assert result.explanation["category"] == result.label == "drugs"


def test_empty_text_is_benign_with_nothing_to_explain(trained: tuple) -> None:
    (result,) = trained[1].classify([""])
    assert result.label == "benign" and result.explanation["terms"] == []


def test_the_shipped_model_matches_its_card() -> None:
    served = TextClassifier()
    metrics = json.loads(default_path().with_suffix(".metrics.json").read_text())
    assert served.version == metrics["version"] and served.name == metrics["name"]
    assert "csam" not in served.labels and "benign" in served.labels
    assert metrics["held_out"]["onnx_max_abs_diff"] <= 1e-4
    card = default_path().with_suffix(".card.md").read_text()
    assert served.version in card and "Known limits" in card


def test_files_it_cannot_trust_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not found"):
        TextClassifier(tmp_path / "missing.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    shutil.copy(default_path().with_suffix(".vocab.npz"), broken.with_suffix(".vocab.npz"))
    with pytest.raises(ModelUnavailable, match="cannot be read"):
        TextClassifier(broken)
    other = tmp_path / "other.onnx"
    proto = onnx.load(str(default_path()))
    for prop in proto.metadata_props:
        if prop.key == "features":
            prop.value = "ngrams-v0"
    onnx.save(proto, str(other))
    shutil.copy(default_path().with_suffix(".vocab.npz"), other.with_suffix(".vocab.npz"))
    with pytest.raises(ModelUnavailable, match="retrain"):
        TextClassifier(other)
