"""thermal_fld_ros: facial landmarks and head pose in thermal images (runtime: numpy, opencv, onnxruntime)."""

__version__ = "0.1.0"
