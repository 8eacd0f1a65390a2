"""ament_python build of thermal_fld_ros (also a plain pip-installable package)."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "thermal_fld_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, PACKAGE + ".*"]),
    package_data={PACKAGE: ["models/*.onnx", "models/*.json", "data/*.json", "data/*.npy"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        ("share/" + PACKAGE + "/launch", glob("launch/*.launch.py")),
        ("share/" + PACKAGE + "/config", glob("config/*.yaml") + glob("config/*.rviz")),
        ("share/" + PACKAGE, ["requirements-humble.txt"]),
    ],
    # As ament_python packages keep it: colcon/rosdep bring numpy, OpenCV, PyYAML, tqdm from apt (package.xml);
    # pip-only onnxruntime comes from requirements-humble.txt (numpy kept at 1.21) or the "runtime" extra.
    install_requires=["setuptools"],
    extras_require={
        "test": ["pytest"],  # colcon test runs pytest only when setup.py declares it here
        # Off-ROS pip installs: pip install .[runtime]. On a ROS 2 machine use requirements-humble.txt instead
        # (an unpinned onnxruntime or opencv-python-headless 5 pulls numpy 2 over apt's numpy 1.21).
        "runtime": ["numpy>=1.21", "opencv-python-headless>=4.5,<5", "onnxruntime>=1.12", "pyyaml>=5.4",
                    "tqdm>=4.60"],
    },
    zip_safe=True,
    maintainer="thermal_fld_ros maintainers",
    maintainer_email="maintainers@thermal-fld-ros.invalid",
    description="Thermal facial landmarks and head pose for ROS 2 (MLCM-KD student, onnxruntime).",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "thermal_fld_node = thermal_fld_ros.ros.landmark_node:main",
            "thermal_image_player = thermal_fld_ros.ros.player_node:main",
            "thermal-fld = thermal_fld_ros.cli:main",
        ],
    },
)
