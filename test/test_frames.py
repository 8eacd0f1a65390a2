"""Frames: every encoding, every bad-frame error, the numpy Image-buffer path and palette inversion."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_fld_ros.frames import FrameConfig, from_array, palette_to_intensity
from thermal_fld_ros.ingest import FrameError, array_from_buffer, check_values
from thermal_fld_ros.normalise import KIND_INTENSITY, KIND_TEMPERATURE
from thermal_fld_ros.palettes import PALETTES, detect_palette, render
from thermal_fld_ros.types import Reason

CHIPS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real_thermal" / "chips_thermal_face"


def test_radiometric_16bit_counts_to_celsius():
    counts = np.array([[27315, 30715], [31015, 0]], np.uint16)  # 0 °C, 34 °C, 37 °C (TLinear 0.01 K)
    f = from_array(counts, "16UC1", FrameConfig())
    assert f.kind == KIND_TEMPERATURE and f.data.dtype == np.float32
    np.testing.assert_allclose(f.data, [[0.0, 34.0], [37.0, -273.15]], atol=1e-3)
    g = from_array(counts, "mono16", FrameConfig(radiometric_16bit=False))
    assert g.kind == KIND_INTENSITY
    np.testing.assert_array_equal(g.data, counts.astype(np.float32))


def test_float_units_and_8bit():
    k = np.full((4, 5), 310.15, np.float32)
    assert np.allclose(from_array(k, "32FC1", FrameConfig(float_unit="kelvin")).data, 37.0, atol=1e-4)
    assert np.allclose(from_array(k - 273.15, "32FC1").data, 37.0, atol=1e-4)
    m = np.arange(20, dtype=np.uint8).reshape(4, 5)
    for enc in ("mono8", "8UC1"):
        f = from_array(m, enc)
        assert f.kind == KIND_INTENSITY and (f.width, f.height) == (5, 4)
        np.testing.assert_array_equal(f.data, m)


def test_bgr_and_rgb_agree():
    field = np.tile(np.linspace(0, 1, 64), (16, 1))
    rgb = render(field, "ironbow")
    a = from_array(rgb, "rgb8", FrameConfig(palette="ironbow")).data
    b = from_array(np.ascontiguousarray(rgb[:, :, ::-1]), "bgr8", FrameConfig(palette="ironbow")).data
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("array,encoding,needle,reason", [
    (np.zeros((4, 4), np.uint8), "yuv422", "unsupported encoding", Reason.ENCODING),
    (np.zeros((4, 4), np.uint16), "mono8", "dtype", Reason.LAYOUT),
    (np.zeros((4, 4), np.int16), "32FC1", "dtype a float", Reason.LAYOUT),
    (np.zeros((4, 4), np.uint8), "bgr8", "(H, W, 3)", Reason.LAYOUT),
    (np.zeros((0, 0), np.uint8), "mono8", "empty", Reason.EMPTY),
    (np.zeros((5, 0), np.float32), "32FC1", "empty", Reason.EMPTY),
    (np.broadcast_to(np.uint8(0), (8000, 8000)), "mono8", "too large", Reason.TOO_LARGE),
    (np.broadcast_to(np.uint8(0), (1, 32767)), "mono8", "side above 32766", Reason.TOO_LARGE),
])
def test_bad_frames_raise_clear_typed_errors(array, encoding, needle, reason):
    with pytest.raises(FrameError, match=None) as err:
        from_array(array, encoding, FrameConfig())
    assert needle in str(err.value) and err.value.reason == reason


def test_values_checks():
    with pytest.raises(FrameError) as err:
        check_values(np.full((3, 3), np.nan, np.float32), "temperature", "32FC1", 100)
    assert err.value.reason == Reason.NONFINITE and "NaN" in str(err.value)
    with pytest.raises(FrameError) as err:
        check_values(np.full((3, 3), 305.0, np.float32), "temperature", "32FC1", 100)
    assert err.value.reason == Reason.TEMPERATURE_RANGE and "float_unit: kelvin" in str(err.value)
    t = np.full((3, 3), 30.0, np.float32)
    t[0, 0] = np.inf
    assert [i.reason for i in check_values(t, "temperature", "32FC1", 100)] == [Reason.PARTIAL_NONFINITE]
    # intensity frames have no unit: any value range is fine
    assert check_values(np.full((3, 3), 5000.0, np.float32), "intensity", "mono16", 100) == []


def test_float64_and_fahrenheit():
    t = np.full((4, 5), 98.6, np.float64)
    f = from_array(t, "32FC1", FrameConfig(float_unit="fahrenheit"))
    assert f.data.dtype == np.float32 and np.allclose(f.data, 37.0, atol=1e-4)


def test_partial_nan_is_kept_for_the_pipeline():
    t = np.full((8, 8), 30.0, np.float32)
    t[2, 3] = np.nan
    t[4, 4] = np.inf
    f = from_array(t, "32FC1")
    assert np.isnan(f.data[2, 3]) and f.data[0, 0] == 30.0


def test_buffer_path_with_row_padding_and_endianness():
    img = (np.arange(6 * 5, dtype=np.uint16) * 1000).reshape(6, 5)
    step = 5 * 2 + 6  # padded rows
    buf = np.zeros((6, step), np.uint8)
    buf[:, :10] = img.astype("<u2").view(np.uint8).reshape(6, 10)
    out = array_from_buffer(buf.tobytes(), 6, 5, step, "16UC1")
    np.testing.assert_array_equal(out, img)
    big = img.astype(">u2").tobytes()
    np.testing.assert_array_equal(array_from_buffer(big, 6, 5, 10, "mono16", is_bigendian=True), img)
    rgb = np.random.default_rng(0).integers(0, 255, (3, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(array_from_buffer(rgb.tobytes(), 3, 4, 12, "rgb8"), rgb)


@pytest.mark.parametrize("h,w,step,size,enc,needle", [
    (4, 4, 3, 12, "mono8", "step"),
    (4, 4, 4, 10, "mono8", "data has 10 bytes"),
    (4, 4, 8, 20, "16UC1", "data has 20 bytes"),
    (4, 4, 4, 17, "mono8", "expected step*height"),  # one rule: exactly step*height, as sensor_msgs/Image
    (0, 4, 4, 0, "mono8", "empty"),
    (4, 4, 4, 16, "bayer_rggb8", "unsupported encoding"),
    (1, 40000, 40000, 40000, "mono8", "side above"),
])
def test_buffer_mismatches(h, w, step, size, enc, needle):
    with pytest.raises(FrameError) as err:
        array_from_buffer(bytes(size), h, w, step, enc)
    assert needle in str(err.value)


@pytest.mark.parametrize("name", sorted(PALETTES))
def test_palette_inversion_is_monotonic(name):
    # A smooth scalar field (a warm blob on a gradient) rendered through the palette and inverted back.
    yy, xx = np.mgrid[0:60, 0:80]
    field = 0.6 * np.exp(-((xx - 40) ** 2 + (yy - 30) ** 2) / 300.0) + 0.4 * xx / 79.0
    rgb = render(field, name)
    assert detect_palette(rgb) == name
    back = palette_to_intensity(rgb, "auto")
    assert back.dtype == np.float32 and back.shape == field.shape
    r = np.corrcoef(back.ravel(), field.ravel())[0, 1]
    assert r > 0.99, r
    # Monotonic along the palette: a ramp maps to a non-decreasing sequence (up to quantisation).
    ramp = palette_to_intensity(render(np.linspace(0, 1, 256)[None], name), name)[0]
    assert np.all(np.diff(ramp) >= -3.0), np.diff(ramp).min()
    assert ramp[-1] - ramp[0] > 240


def test_palette_errors():
    with pytest.raises(ValueError, match="unknown palette"):
        palette_to_intensity(np.zeros((2, 2, 3), np.uint8), "viridis-ish")
    with pytest.raises(FrameError, match="unknown palette"):
        from_array(np.zeros((2, 2, 3), np.uint8) + 40, "bgr8", FrameConfig(palette="nope"))


@pytest.mark.skipif(not (CHIPS / "images").is_dir(), reason="real Lepton frames not present")
def test_real_palette_frames_faces_are_warmer_than_background():
    """On real false-colour Lepton frames (5 palettes), the inverted faces are warmer than the frame median."""
    images = sorted((CHIPS / "images").glob("*.jpeg"))[::5]
    warmer, palettes = 0, set()
    for path in images:
        bgr = cv2.imread(str(path))
        h, w = bgr.shape[:2]
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        palettes.add(detect_palette(rgb))
        inten = palette_to_intensity(rgb)
        lines = (CHIPS / "annotations_yolo_format" / (path.stem + ".txt")).read_text().split("\n")
        boxes = [[float(v) for v in ln.split()[1:]] for ln in lines if len(ln.split()) == 5]
        face = np.zeros((h, w), bool)
        for cx, cy, bw, bh in boxes:
            face[int((cy - bh / 4) * h):int((cy + bh / 4) * h) + 1, int((cx - bw / 4) * w):int((cx + bw / 4) * w) + 1] = True
        warmer += np.median(inten[face]) > np.median(inten[~face])
    assert len(palettes) == 5, palettes
    assert warmer / len(images) >= 0.9, (warmer, len(images))
