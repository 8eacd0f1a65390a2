"""Number formatting shared by the report's verdicts and its markdown."""
from __future__ import annotations

import numpy as np


def fmt(v, nd=4):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def mean_std(st) -> str:
    if not st or st.get("mean") is None:
        return "n/a"
    return f"{st['mean']:.4f}" + (f" +- {st['std']:.4f}" if st.get("std") is not None else "")
