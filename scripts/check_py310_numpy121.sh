#!/usr/bin/env bash
# Check the runtime against what ROS 2 Humble ships (Ubuntu 22.04: Python 3.10, apt numpy 1.21.5, OpenCV 4.5/4.6)
# by running the runtime tests in Python 3.10 venvs that start from numpy 1.21.5 and then install
# requirements-humble.txt the way the README tells Humble users to, so onnxruntime is whatever pip picks:
#   humble: pip install -r requirements-humble.txt                  (numpy may move within 1.21)
#   exact:  pip install -r requirements-humble.txt "numpy==1.21.5"  (numpy untouched; oldest onnxruntime)
# Usage: scripts/check_py310_numpy121.sh [PYTHON3.10] [humble|exact|both]
set -euo pipefail
cd "$(dirname "$0")/.."
PY310=${1:-python3.10}
MODES=${2:-both}
[ "$MODES" = both ] && MODES="humble exact"
# A pyenv shim named python3.10 may exist without being runnable: fall back to pyenv's own 3.10.
"$PY310" --version >/dev/null 2>&1 || PY310=/root/.pyenv/versions/3.10.13/bin/python
APT_NUMPY=1.21.5  # Ubuntu 22.04's python3-numpy
TESTS=(test/test_frames.py test/test_pose.py test/test_smoothing.py test/test_pipeline.py test/test_detector.py
       test/test_cli.py test/test_file_source.py test/test_camera_model.py test/test_memory.py test/test_bundled_model.py
       test/test_thermometry.py
       # needs rclpy (no ROS wheels for Python 3.10 here); the node is tested in the main venv
       --deselect test/test_bundled_model.py::test_node_publishes_accurate_landmarks_with_the_bundled_model)
status=0
for mode in $MODES; do
  venv=${VENV310:-/tmp/thermal_fld_py310}_$mode
  [ -x "$venv/bin/python" ] || "$PY310" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
  # What a Jammy machine has from apt (numpy, OpenCV, PyYAML, tqdm), plus the test tools (onnx builds fixtures).
  "${pip[@]}" "numpy==$APT_NUMPY" "opencv-python-headless==4.6.0.66" pyyaml tqdm "pytest==8.4.2" "onnx==1.14.1"
  if [ "$mode" = exact ]; then
    "${pip[@]}" -r requirements-humble.txt "numpy==$APT_NUMPY"
  else
    "${pip[@]}" -r requirements-humble.txt
  fi
  "$venv/bin/python" -c "import sys, numpy, onnxruntime, cv2; print('[$mode] python', sys.version.split()[0], \
'numpy', numpy.__version__, 'onnxruntime', onnxruntime.__version__, 'opencv', cv2.__version__)"
  PYTHONPATH="$PWD" "$venv/bin/python" -m pytest -q -p no:cacheprovider "${TESTS[@]}" || status=1
done
exit $status
