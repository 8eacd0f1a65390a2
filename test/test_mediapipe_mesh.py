"""MediaPipe's face mesh (LiteRT) and its 468 -> ibug70 map, checked on a real labelled 300-W photo."""
from pathlib import Path

import numpy as np
import pytest

from training.baselines import mesh_map

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
HELEN_TEST = SHARED / "rgb_faces_300w" / "helen" / "testset"


def _mesh_or_skip():
    from training.baselines.mediapipe_mesh import FaceMesh, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    return FaceMesh(threads=1)


def test_map_table_is_a_weighted_mean_of_valid_vertices():
    table = mesh_map.mesh_weights()
    assert len(table) == 68
    for point in table:
        vertices = [v for v, _ in point]
        assert all(0 <= v < 468 for v in vertices)
        assert abs(sum(w for _, w in point) - 1.0) < 1e-3
        assert all(w > 0 for _, w in point)
    assert len(set(mesh_map.HAND_MAP)) == 68  # one distinct vertex per iBUG point


@pytest.mark.skipif(not HELEN_TEST.is_dir(), reason="300-W photos (../shared/data/rgb_faces_300w) not present")
def test_mapped_points_match_300w_labels_on_a_held_out_photo():
    import cv2

    from thermal_fld_ros.crop import landmarks_box
    from training.data.loaders import read_pts

    mesh = _mesh_or_skip()
    photo = sorted(HELEN_TEST.glob("*.jpg"))[0]
    rgb = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    gt = read_pts(photo.with_suffix(".pts")) - 1.0
    res = mesh.run(rgb, landmarks_box(gt))
    assert res.is_face and res.mesh.shape == (468, 3) and res.points70.shape == (70, 2)
    iod = np.linalg.norm(gt[36] - gt[45])
    nme = float(np.mean(np.linalg.norm(res.points70[:68] - gt, axis=1)) / iod)
    assert nme < 0.10, f"mapped MediaPipe points vs 300-W labels: NME {nme:.3f}"
    # A left/right mix-up would put the image-left eye's points on the right eye.
    assert np.linalg.norm(res.points70[36] - gt[36]) < 0.2 * iod
    # Pupils from the iris model lie between their eye's corners.
    for pupil, (a, b) in ((68, (36, 39)), (69, (42, 45))):
        lo, hi = sorted((gt[a, 0], gt[b, 0]))
        assert lo < res.points70[pupil, 0] < hi


def test_face_flag_is_low_without_a_face():
    mesh = _mesh_or_skip()
    flat = np.full((240, 240), 0.5, np.float32)
    assert not mesh.run(flat, [60, 60, 180, 180]).is_face


def test_grey_for_mesh_leaves_masked_background_out_of_the_window():
    from training.baselines.mediapipe_mesh import grey_for_mesh

    data = np.zeros((50, 50), np.float32)
    data[10:40, 10:40] = np.linspace(100, 200, 30)[None]
    out = grey_for_mesh(data, [0, 0, 50, 50], ignore_value=0.0)
    assert out[20, 10] < 0.05 and out[20, 39] > 0.95  # the face spans the range, not the background
    assert out.min() >= 0.0 and out.max() <= 1.0
