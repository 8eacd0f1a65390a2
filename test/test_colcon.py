"""`colcon build` + `colcon test` really run this package's pytest suite (they ran 0 tests while setup.py
declared no test extra). Uses colcon from PyPI (colcon-common-extensions); runs a small test subset."""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLCON = Path(sys.executable).parent / "colcon"


@pytest.mark.skipif(not COLCON.exists(), reason="colcon not installed: pip install colcon-common-extensions")
def test_colcon_test_runs_pytest(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "thermal_fld_ros").symlink_to(ROOT)
    env = dict(os.environ, PATH=f"{COLCON.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    build = subprocess.run([str(COLCON), "build", "--packages-select", "thermal_fld_ros"], **run)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    test = subprocess.run([str(COLCON), "test", "--packages-select", "thermal_fld_ros", "--pytest-args",
                           "test/test_launch_load.py"], **run)
    assert test.returncode == 0, test.stdout[-2000:] + test.stderr[-2000:]
    report = tmp_path / "build" / "thermal_fld_ros" / "pytest.xml"
    assert report.is_file(), "colcon test did not run pytest (setup.py must declare extras_require['test'])"
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    ran = int(suite.get("tests")) - int(suite.get("skipped", 0))
    assert ran >= 3, ET.tostring(suite)[:500]
