"""Paired RGB/thermal synthetic faces: one parametric 3D head rendered twice (RGB photo and radiometric
thermal frame) with exact 70-point landmarks, visibility, head pose and intrinsics.

Modules: ``face_model`` (geometry, landmarks), ``mesh`` (triangles), ``raster`` (z-buffer),
``camera`` (intrinsics, pose, projection), ``textures`` (face regions), ``thermal`` / ``rgb``
(appearance), ``sensor`` (thermal camera effects), ``render`` (one sample), ``writer`` (parallel
dataset writing), ``loader`` (read back as ``FaceRecord``), ``preview`` (picture grid), ``cli``.
"""

from training.data.synth.loader import load_synth_split  # noqa: E402,F401  (the split reader other code names)
