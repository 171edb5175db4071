"""Write a fitted text pipeline as an ONNX graph and its vocabulary beside it.

The graph takes the counts `classifiers.text_features.batch` makes (a row of columns and counts
per text, padded with the model's zero row) and does what the scikit-learn pipeline does after
counting: sublinear TF, IDF, L2 norm per text, the SVM's decision function, sigmoid calibration
per class, normalization. ONNX has no sparse product, so each text's rows are gathered and one
batched MatMul of [tf; tf²] with them gives both the decision sums and the squared norm (tf² times
the row's idf²), so the gathered rows are read once. It also returns the category an explanation
is about (the most probable harmful one) and each feature's contribution to it, so explanations
come from the model itself.

Reading the rows costs most of the time, so they are laid out for the cache: the features most
pages have (lowest IDF) come first, and padding points at one zero row instead of being masked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.pipeline import Pipeline

from classifiers.text_features import FEATURES_VERSION, ROWS_LAYOUT, Vocabulary

OPSET = 18


def export(model: Pipeline, path: Path, *, name: str, version: str) -> None:
    """`path` (.onnx) and `path` with `.vocab.npz`: hashes and terms of the columns."""
    counts, tfidf, calibrated = (model.named_steps[k] for k in ("counts", "tfidf", "model"))
    (member,) = calibrated.calibrated_classifiers_
    svm = member.estimator
    labels = [str(c) for c in calibrated.classes_]
    if len(labels) < 3:
        raise ValueError("the export expects a multi-class model (one sigmoid per class)")
    slopes = np.array([c.a_ for c in member.calibrators], dtype=np.float64)
    shifts = np.array([c.b_ for c in member.calibrators], dtype=np.float64)
    vocabulary: Vocabulary = counts.vocabulary_
    order = np.argsort(tfidf.idf_, kind="stable")  # lowest IDF: the features most pages have
    graph = _graph(
        idf=tfidf.idf_[order],
        weights=svm.coef_.T[order],
        intercept=svm.intercept_.astype(np.float32),
        slopes=slopes.astype(np.float32),
        offsets=shifts.astype(np.float32),
        benign=labels.index("benign") if "benign" in labels else None,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="kaznet-hotline"
    )
    proto.ir_version = 8
    meta = {
        "name": name,
        "version": version,
        "labels": json.dumps(labels),
        "features": FEATURES_VERSION,
        "layout": ROWS_LAYOUT,
        "columns": str(len(vocabulary)),
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    np.savez_compressed(
        vocabulary_path(path),
        hashes=vocabulary.hashes[order],
        terms=np.array(vocabulary.terms, dtype=str)[order],
    )


def vocabulary_path(path: Path) -> Path:
    return path.with_suffix(".vocab.npz")


def _graph(
    *,
    idf: np.ndarray,
    weights: np.ndarray,
    intercept: np.ndarray,
    slopes: np.ndarray,
    offsets: np.ndarray,
    benign: int | None,
) -> onnx.GraphProto:
    classes = weights.shape[1]
    # The category an explanation is about: the most probable harmful one (ties: the later
    # label, as Python's max over (probability, label) would pick).
    not_harmful = np.zeros(classes, dtype=np.float32)
    if benign is not None:
        not_harmful[benign] = -2.0
    # One row per column, idf² then idf × its SVM weight per class, so one Gather fetches all a
    # feature needs; the last row is zeros, for padding.
    rows = np.vstack(
        [np.hstack([idf[:, None] ** 2, idf[:, None] * weights]), np.zeros((1, 1 + classes))]
    ).astype(np.float32)
    make = helper.make_node
    init = [
        numpy_helper.from_array(rows, "feature_rows"),
        numpy_helper.from_array(intercept, "intercept"),
        numpy_helper.from_array(slopes, "slopes"),
        numpy_helper.from_array(offsets, "offsets_b"),
        numpy_helper.from_array(np.eye(1 + classes, dtype=np.float32)[1:], "class_picks"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "first"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "second"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "third"),
        numpy_helper.from_array(np.array([1 + classes], dtype=np.int64), "past_last"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0 / classes, dtype=np.float32), "uniform"),
        numpy_helper.from_array(not_harmful, "not_harmful"),
    ]
    nodes = [
        # tf = 1 + log(count); padding has count 1 and the zero row, so it adds nothing.
        make("Log", ["counts"], ["log_counts"]),
        make("Add", ["log_counts", "one"], ["tf"]),
        make("Mul", ["tf", "tf"], ["tf_squared"]),
        make("Unsqueeze", ["tf", "axis1"], ["tf_row"]),
        make("Unsqueeze", ["tf_squared", "axis1"], ["tf_squared_row"]),
        make("Concat", ["tf_row", "tf_squared_row"], ["tf_rows"], axis=1),  # [texts, 2, features]
        make("Gather", ["feature_rows", "columns"], ["gathered"]),  # [texts, features, 1 + classes]
        # Row 0: Σ tf·idf² (unused) and Σ tf·idf·W; row 1: Σ tf²·idf² = the squared norm.
        make("MatMul", ["tf_rows", "gathered"], ["sums3"]),  # [texts, 2, 1 + classes]
        make("Slice", ["sums3", "first", "second", "axis1"], ["weighted3"]),
        make("Squeeze", ["weighted3", "axis1"], ["weighted"]),
        make("Slice", ["weighted", "second", "past_last", "axis1"], ["raw_scores"]),
        make("Slice", ["sums3", "second", "third", "axis1"], ["squares3"]),
        make("Squeeze", ["squares3", "axis1"], ["squares"]),
        make("Slice", ["squares", "first", "second", "axis1"], ["norm2"]),
        # An empty text keeps norm 1 as scikit-learn's does.
        make("Sqrt", ["norm2"], ["norm_raw"]),
        make("Equal", ["norm_raw", "zero"], ["empty"]),
        make("Where", ["empty", "one", "norm_raw"], ["norm"]),
        make("Div", ["raw_scores", "norm"], ["scores"]),
        make("Add", ["scores", "intercept"], ["decision"]),
        # Sigmoid calibration per class: p = 1 / (1 + exp(a * f + b)), then rows sum to one.
        make("Mul", ["decision", "slopes"], ["scaled"]),
        make("Add", ["scaled", "offsets_b"], ["shifted"]),
        make("Neg", ["shifted"], ["negated"]),
        make("Sigmoid", ["negated"], ["calibrated"]),
        make("ReduceSum", ["calibrated", "axis1"], ["total"], keepdims=1),
        make("Equal", ["total", "zero"], ["all_zero"]),
        make("Div", ["calibrated", "total"], ["shares"]),
        make("Where", ["all_zero", "uniform", "shares"], ["probabilities"]),
        # Each feature's contribution x · W[column, k] to the explained category k: the gathered
        # rows times a one-hot column that picks k (computed only when asked).
        make("Add", ["probabilities", "not_harmful"], ["harmful_only"]),
        make("ArgMax", ["harmful_only"], ["explained"], axis=1, keepdims=0, select_last_index=1),
        make("Gather", ["class_picks", "explained"], ["pick"]),  # [texts, 1 + classes]
        make("Unsqueeze", ["pick", "axis2"], ["pick3"]),
        make("MatMul", ["gathered", "pick3"], ["picked3"]),  # [texts, features, 1]
        make("Squeeze", ["picked3", "axis2"], ["picked"]),
        make("Mul", ["tf", "picked"], ["weighted_picked"]),
        make("Div", ["weighted_picked", "norm"], ["contributions"]),
    ]
    inputs = [
        helper.make_tensor_value_info("columns", TensorProto.INT64, ["texts", "features"]),
        helper.make_tensor_value_info("counts", TensorProto.FLOAT, ["texts", "features"]),
    ]
    outputs = [
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["texts", classes]),
        helper.make_tensor_value_info("explained", TensorProto.INT64, ["texts"]),
        helper.make_tensor_value_info("contributions", TensorProto.FLOAT, ["texts", "features"]),
        helper.make_tensor_value_info("decision", TensorProto.FLOAT, ["texts", classes]),
    ]
    return helper.make_graph(nodes, "hotline_text_classifier", inputs, outputs, init)
