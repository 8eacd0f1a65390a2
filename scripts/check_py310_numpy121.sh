#!/usr/bin/env bash
# Check the runtime against what ROS 2 Humble ships (Ubuntu 22.04: Python 3.10, numpy 1.21, OpenCV 4.5/4.6)
# by running the runtime tests in a separate Python 3.10 venv. Usage: scripts/check_py310_numpy121.sh [PYTHON3.10]
set -euo pipefail
cd "$(dirname "$0")/.."
PY310=${1:-python3.10}
# A pyenv shim named python3.10 may exist without being runnable: fall back to pyenv's own 3.10.
"$PY310" --version >/dev/null 2>&1 || PY310=/root/.pyenv/versions/3.10.13/bin/python
VENV=${VENV310:-/tmp/thermal_fld_py310}
[ -x "$VENV/bin/python" ] || "$PY310" -m venv "$VENV"
"$VENV/bin/pip" install -q "numpy==1.21.6" "opencv-python-headless==4.6.0.66" "onnxruntime<1.17" pyyaml tqdm \
    "pytest==8.4.2" "onnx==1.14.1"
PYTHONPATH="$PWD" "$VENV/bin/python" -m pytest -q -p no:cacheprovider test/test_frames.py test/test_pose.py \
    test/test_smoothing.py test/test_pipeline.py test/test_detector.py test/test_cli.py \
    test/test_file_source.py test/test_camera_model.py
