"""Large frames through the node's ingest path (Image message -> ingest -> pipeline) give their memory
back: measured in a fresh process that sets the allocator up as the node's main does."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = r"""
import sys
import numpy as np
from thermal_fld_ros.memory import return_large_buffers_to_os
return_large_buffers_to_os()
from model_factory import make_fixed_landmark_model
from synthetic_frames import thermal_frame
from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.frames import from_array
from thermal_fld_ros.ingest import array_from_buffer
from thermal_fld_ros.pipeline import Pipeline

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

pipe = Pipeline(PipelineConfig(model_path=str(make_fixed_landmark_model(sys.argv[1]))))
small, t = thermal_frame(), 0.0
for _ in range(20):
    pipe.process_array(small, "32FC1", t); t += 0.1
before = rss_mb()
big = np.full((4096, 4096), 24.0, np.float32)
big[1500:2600, 1700:2500] = 34.0
buf = bytearray(big.tobytes())
del big
for _ in range(2):
    arr = array_from_buffer(buf, 4096, 4096, 4096 * 4, "32FC1")
    r = pipe.process(from_array(arr, "32FC1", pipe.frame_cfg), t); t += 0.1
    assert r.status.value == "faces", r.issues
    del arr, r
del buf
for _ in range(20):
    pipe.process_array(small, "32FC1", t); t += 0.1
print(rss_mb() - before)
"""


def test_a_4096x4096_32fc1_frame_gives_its_memory_back(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "test")]), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "m.onnx")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    growth_mb = float(out.stdout.strip().splitlines()[-1])
    assert growth_mb < 6.0, f"RSS stayed {growth_mb:.1f} MB higher after two 4096x4096 frames"
