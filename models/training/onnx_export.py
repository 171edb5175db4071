"""Write a fitted text pipeline as an ONNX graph and its vocabulary beside it.

The graph takes the counts `classifiers.text_features.batch` makes (a row of columns and counts
per text, padded with count 0) and does what the scikit-learn pipeline does after counting:
sublinear TF, IDF, L2 norm per text, the SVM's decision function, sigmoid calibration per class,
normalization. ONNX has no sparse product, so each text's weight rows are gathered and multiplied
by its TF-IDF row in one batched MatMul (a running-sum formulation over flat features was 4x
slower). It also returns the category an explanation is about (the most probable harmful one) and
each feature's contribution to it, so explanations come from the model itself; onnxruntime
computes them only when asked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.pipeline import Pipeline

from classifiers.text_features import FEATURES_VERSION

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
    graph = _graph(
        idf=tfidf.idf_,
        weights=svm.coef_.T,
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
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    vocabulary = counts.vocabulary_
    np.savez_compressed(
        vocabulary_path(path),
        hashes=vocabulary.hashes,
        terms=np.array(vocabulary.terms, dtype=str),
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
    # One row per column: its IDF, then IDF x its SVM weight per class, so one Gather fetches
    # everything a feature needs (two Gathers cost a third more: onnxruntime copies row by row).
    rows = np.hstack([idf[:, None], idf[:, None] * weights]).astype(np.float32)
    make = helper.make_node
    init = [
        numpy_helper.from_array(rows, "feature_rows"),
        numpy_helper.from_array(intercept, "intercept"),
        numpy_helper.from_array(slopes, "slopes"),
        numpy_helper.from_array(offsets, "offsets_b"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "first"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "second"),
        numpy_helper.from_array(np.array([classes + 1], dtype=np.int64), "past_last"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0 / classes, dtype=np.float32), "uniform"),
        numpy_helper.from_array(not_harmful, "not_harmful"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "one_i64"),
    ]
    nodes = [
        # tf = 1 + log(count); padding (count 0) gives 0.
        make("Greater", ["counts", "zero"], ["present"]),
        make("Max", ["counts", "one"], ["counts_at_least_one"]),
        make("Log", ["counts_at_least_one"], ["log_counts"]),
        make("Add", ["log_counts", "one"], ["tf_present"]),
        make("Where", ["present", "tf_present", "zero"], ["tf"]),
        make("Gather", ["feature_rows", "columns"], ["gathered"]),  # [texts, features, 1 + classes]
        # L2 norm of x = tf * idf per text; an empty text keeps norm 1 as scikit-learn's does.
        make("Slice", ["gathered", "first", "second", "axis2"], ["idf_rows3"]),
        make("Squeeze", ["idf_rows3", "axis2"], ["idf_rows"]),
        make("Mul", ["tf", "idf_rows"], ["x_raw"]),
        make("ReduceSumSquare", ["x_raw", "axis1"], ["norm2"], keepdims=1),
        make("Sqrt", ["norm2"], ["norm_raw"]),
        make("Equal", ["norm_raw", "zero"], ["empty"]),
        make("Where", ["empty", "one", "norm_raw"], ["norm"]),
        # Decision function: tf [texts, 1, features] @ (idf * W)[columns], over the norm.
        make("Div", ["tf", "norm"], ["tf_scaled"]),
        make("Unsqueeze", ["tf_scaled", "axis1"], ["tf_row"]),
        make("MatMul", ["tf_row", "gathered"], ["sums3"]),
        make("Squeeze", ["sums3", "axis1"], ["sums"]),
        make("Slice", ["sums", "second", "past_last", "axis1"], ["raw_scores"]),
        make("Add", ["raw_scores", "intercept"], ["decision"]),
        # Sigmoid calibration per class: p = 1 / (1 + exp(a * f + b)), then rows sum to one.
        make("Mul", ["decision", "slopes"], ["scaled"]),
        make("Add", ["scaled", "offsets_b"], ["shifted"]),
        make("Neg", ["shifted"], ["negated"]),
        make("Sigmoid", ["negated"], ["calibrated"]),
        make("ReduceSum", ["calibrated", "axis1"], ["total"], keepdims=1),
        make("Equal", ["total", "zero"], ["all_zero"]),
        make("Div", ["calibrated", "total"], ["shares"]),
        make("Where", ["all_zero", "uniform", "shares"], ["probabilities"]),
        # Each feature's contribution x * W[column, k] to the explained category k (computed only
        # when asked): one GatherElements per feature instead of a product over every class.
        make("Add", ["probabilities", "not_harmful"], ["harmful_only"]),
        make(
            "ArgMax", ["harmful_only"], ["explained_col"], axis=1, keepdims=1, select_last_index=1
        ),
        make("Squeeze", ["explained_col", "axis1"], ["explained"]),
        make("Add", ["explained_col", "one_i64"], ["row_col"]),
        make("Unsqueeze", ["row_col", "axis2"], ["row_col3"]),
        make("Shape", ["tf"], ["texts_by_features"]),
        make("Concat", ["texts_by_features", "second"], ["pick_shape"], axis=0),
        make("Expand", ["row_col3", "pick_shape"], ["pick"]),
        make("GatherElements", ["gathered", "pick"], ["picked3"], axis=2),
        make("Squeeze", ["picked3", "axis2"], ["picked"]),
        make("Mul", ["tf_scaled", "picked"], ["contributions"]),
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
