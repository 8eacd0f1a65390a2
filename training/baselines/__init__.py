"""Baselines a user would pick instead of our student (MediaPipe's face mesh), run on the same crops.

Training-side only: the runtime package never imports these (they need ``ai-edge-litert``).
"""
