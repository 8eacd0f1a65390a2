"""MLCM-KD training for thermal_fld_ros: data, models, two-level distillation, evaluation, ONNX export.

Needs torch; the runtime package ``thermal_fld_ros`` never imports this one.
"""
