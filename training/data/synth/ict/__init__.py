"""A second face source for the synthetic generator: the ICT Face Model (ICT-FaceKit, MIT licence),
100 identity modes from real scans and 53 ARKit-style expressions, given by the user as a path.

Modules: ``model`` (OBJ loader and compact ``.npz`` cache), ``shape`` (identities, expressions, held-out
identity split), ``landmarks`` (68 vertex landmarks, jaw on the visible outline, pupils), ``zbuffer``
(numba rasteriser), ``appearance`` (per-vertex temperature and colour), ``head`` (one posed head, rendered
into the generator's ``Sample`` format by ``training.data.synth.render``).
"""
