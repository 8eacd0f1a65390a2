"""The real-sequence scorer of bench/eval_real_sequences.py counts hits, false faces, id switches and
body-sized boxes as its docstring says (hand-made frames; the real run needs ../shared data)."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from eval_real_sequences import Published, score_sequence  # noqa: E402


def test_scorer_counts_hits_false_faces_switches_and_body_sized_boxes():
    gt = np.array([[10.0, 10.0, 30.0, 30.0]])
    items = [("a_1", None, gt), ("a_2", None, gt + 2), ("a_3", None, gt + 4), ("a_4", None, gt)]
    published = [
        [Published(1, np.array([11.0, 11.0, 29.0, 29.0]))],  # hit
        [Published(1, np.array([12.0, 12.0, 31.0, 31.0])), Published(2, np.array([60.0, 60.0, 80.0, 80.0])),
         Published(4, np.array([24.0, 13.0, 44.0, 33.0]))],  # centre (34, 23) outside, IoU 0.23 with the face
        [Published(3, np.array([0.0, 0.0, 50.0, 50.0]))],  # hit by centre, new id (switch), body-sized (50 > 40)
        [],  # missed
    ]
    s = score_sequence(items, published)
    assert (s.frames, s.faces, s.hits, s.false, s.switches, s.body, s.published) == (4, 4, 3, 2, 1, 1, 5)
    assert s.false_on_face == 1  # the box beside the face is a misplaced face, the far one a false positive
