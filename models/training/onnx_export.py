"""Write a fitted text pipeline as an ONNX graph and its vocabulary beside it.

The graph takes the sparse counts `classifiers.text_features.batch` makes (column, count, row,
and where each text's features start) and does what the scikit-learn pipeline does after
counting: sublinear TF, IDF, L2 norm per text, the SVM's decision function, sigmoid calibration
per class, normalization. Per-text sums are differences of float64 running sums at the text
boundaries (ONNX has no sparse product; scattering every feature's row was slower). It also
returns each feature's contribution to every class, so explanations come from the model itself.
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
        idf=tfidf.idf_.astype(np.float32),
        weights=svm.coef_.T.astype(np.float32),
        intercept=svm.intercept_.astype(np.float32),
        slopes=slopes.astype(np.float32),
        offsets=shifts.astype(np.float32),
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
) -> onnx.GraphProto:
    classes = weights.shape[1]
    make = helper.make_node
    init = [
        numpy_helper.from_array(idf, "idf"),
        numpy_helper.from_array(weights, "weights"),
        numpy_helper.from_array(intercept, "intercept"),
        numpy_helper.from_array(slopes, "slopes"),
        numpy_helper.from_array(offsets, "offsets_b"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "axis0"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0"),
        numpy_helper.from_array(np.zeros((1, classes + 1), dtype=np.float64), "zero_row"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "start0"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "start1"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "stop_last"),
        numpy_helper.from_array(np.array([2**62], dtype=np.int64), "stop_end"),
        numpy_helper.from_array(np.array([1, classes], dtype=np.int64), "split_sizes"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0 / classes, dtype=np.float32), "uniform"),
    ]
    nodes = [
        # x = (1 + log(count)) * idf[column]
        make("Log", ["counts"], ["log_counts"]),
        make("Add", ["log_counts", "one"], ["tf"]),
        make("Gather", ["idf", "columns"], ["idf_rows"]),
        make("Mul", ["tf", "idf_rows"], ["x"]),
        # Each feature's contribution to every class: x * W[column].
        make("Gather", ["weights", "columns"], ["weight_rows"]),
        make("Unsqueeze", ["x", "axis1"], ["x_col"]),
        make("Mul", ["x_col", "weight_rows"], ["raw_contributions"]),
        # Sums per text from running sums (in float64) read at the text boundaries: rows are
        # consecutive, so a text's sum is the running sum at its end minus the one at its start.
        make("Mul", ["x", "x"], ["x2"]),
        make("Unsqueeze", ["x2", "axis1"], ["x2_col"]),
        make("Concat", ["x2_col", "raw_contributions"], ["summed"], axis=1),
        make("Cast", ["summed"], ["summed64"], to=TensorProto.DOUBLE),
        make("CumSum", ["summed64", "axis0"], ["running"]),
        make("Concat", ["zero_row", "running"], ["running0"], axis=0),
        make("Slice", ["offsets", "start0", "stop_last", "axes0"], ["starts"]),
        make("Slice", ["offsets", "start1", "stop_end", "axes0"], ["ends"]),
        make("Gather", ["running0", "ends"], ["at_end"]),
        make("Gather", ["running0", "starts"], ["at_start"]),
        make("Sub", ["at_end", "at_start"], ["per_text64"]),
        make("Cast", ["per_text64"], ["per_text"], to=TensorProto.FLOAT),
        make("Split", ["per_text", "split_sizes"], ["norm2", "raw_scores"], axis=1),
        # L2 norm per text; an empty text keeps norm 1 as scikit-learn's normalize does.
        make("Sqrt", ["norm2"], ["norm_raw"]),
        make("Equal", ["norm_raw", "zero"], ["empty"]),
        make("Where", ["empty", "one", "norm_raw"], ["norm"]),
        make("Div", ["raw_scores", "norm"], ["scores"]),
        make("Add", ["scores", "intercept"], ["decision"]),
        make("Squeeze", ["norm", "axis1"], ["norm_flat"]),
        make("Gather", ["norm_flat", "rows"], ["norm_per_feature"]),
        make("Unsqueeze", ["norm_per_feature", "axis1"], ["norm_col"]),
        make("Div", ["raw_contributions", "norm_col"], ["contributions"]),
        # Sigmoid calibration per class: p = 1 / (1 + exp(a * f + b)), then rows sum to one.
        make("Mul", ["decision", "slopes"], ["scaled"]),
        make("Add", ["scaled", "offsets_b"], ["shifted"]),
        make("Neg", ["shifted"], ["negated"]),
        make("Sigmoid", ["negated"], ["calibrated"]),
        make("ReduceSum", ["calibrated", "axis1"], ["total"], keepdims=1),
        make("Equal", ["total", "zero"], ["all_zero"]),
        make("Div", ["calibrated", "total"], ["shares"]),
        make("Where", ["all_zero", "uniform", "shares"], ["probabilities"]),
    ]
    inputs = [
        helper.make_tensor_value_info("columns", TensorProto.INT64, ["features"]),
        helper.make_tensor_value_info("counts", TensorProto.FLOAT, ["features"]),
        helper.make_tensor_value_info("rows", TensorProto.INT64, ["features"]),
        helper.make_tensor_value_info("offsets", TensorProto.INT64, ["texts_plus_one"]),
    ]
    outputs = [
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["texts", classes]),
        helper.make_tensor_value_info("contributions", TensorProto.FLOAT, ["features", classes]),
        helper.make_tensor_value_info("decision", TensorProto.FLOAT, ["texts", classes]),
    ]
    return helper.make_graph(nodes, "hotline_text_classifier", inputs, outputs, init)
