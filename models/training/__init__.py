"""Training for the hotline's models: corpus loading, fitting, ONNX export and evaluation.

Inference lives in `classifiers/`; nothing here is imported by the service.
"""
