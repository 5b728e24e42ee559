"""Features as the device computes them: the TFLM micro frontend and its int8 input mapping."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

import numpy as np

from curation.format_version import FORMAT_VERSION_KEY, check_format_version

FEATURE_PARAMS_FILE = "feature_params.json"
FEATURE_PARAMS_VERSION = 1  # integer major version of feature_params.json (docs/formats.md)
READABLE_FEATURE_PARAMS_VERSIONS = (1,)
# micro_speech scales the frontend's integer output by 10/256 in training (input_data.py) ...
FRONTEND_SCALE = 10.0 / 256.0
# ... and on device maps it to int8 as trunc((raw * 256 + 333) / 666) - 128 (micro_features_generator.cc).
DEVICE_VALUE_SCALE = 256
DEVICE_VALUE_DIV = 666
# That mapping is an int8 quantization of the scaled features with these parameters: 666/256 raw units
# per step is 666/256 * 10/256 = 1665/16384 feature units, exactly representable in float32.
INPUT_SCALE = DEVICE_VALUE_DIV / DEVICE_VALUE_SCALE * FRONTEND_SCALE
INPUT_ZERO_POINT = -128
INPUT_MAX = (127 - INPUT_ZERO_POINT) * INPUT_SCALE
# The frontend adapts (noise estimate, gain control) and a device runs it without pause, so a word reaches
# the model with the frontend settled on the room around it. A clip's features are therefore computed after
# WARMUP_MS of the clip's own room tone (its quietest ROOM_TONE_MS, mirrored back and forth): from a cold
# start its features are far from the device's, and a model trained on those missed many words in a stream
# that it recognised as clips (benchmarks/RESULTS.md, "frontend warm-up").
WARMUP_MS = 1500
ROOM_TONE_MS = 100


class FeatureParamsError(ValueError):
    """feature_params.json is missing a field or holds values the frontend cannot use."""


@dataclass(frozen=True)
class FeatureParams:
    """Micro frontend settings shared by training and firmware; saved beside every model."""

    sample_rate_hz: int = 16000
    clip_ms: int = 1000
    window_ms: int = 30
    stride_ms: int = 20
    channels: int = 40

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise FeatureParamsError(f"{field.name} must be a positive integer, not {value!r}")
        if self.window_ms > self.clip_ms:
            raise FeatureParamsError("window_ms must not be longer than clip_ms")

    @property
    def clip_samples(self) -> int:
        """Samples in one clip."""
        return self.sample_rate_hz * self.clip_ms // 1000

    @property
    def stride_samples(self) -> int:
        """Samples between two feature frames."""
        return self.sample_rate_hz * self.stride_ms // 1000

    @property
    def window_samples(self) -> int:
        """Samples in one feature frame's window."""
        return self.sample_rate_hz * self.window_ms // 1000

    @property
    def frames(self) -> int:
        """Feature frames per clip (49 for 1 s, 30 ms windows, 20 ms stride)."""
        return 1 + (self.clip_samples - self.window_samples) // self.stride_samples

    @property
    def warmup_samples(self) -> int:
        """Room-tone samples before a clip: WARMUP_MS rounded down to whole strides, so frames line up."""
        return self.sample_rate_hz * WARMUP_MS // 1000 // self.stride_samples * self.stride_samples

    @property
    def shape(self) -> tuple[int, int]:
        """Feature matrix shape: (frames, channels)."""
        return self.frames, self.channels

    def to_json(self) -> str:
        """Serialise as feature_params.json, derived values and the int8 input mapping included."""
        document = {
            FORMAT_VERSION_KEY: FEATURE_PARAMS_VERSION,
            **asdict(self),
            "frames": self.frames,
            "frontend": "tflm_micro_frontend",
            "frontend_scale": FRONTEND_SCALE,
            "clip_warmup_ms": WARMUP_MS,
            "int8_input": {"scale": INPUT_SCALE, "zero_point": INPUT_ZERO_POINT},
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = FEATURE_PARAMS_FILE) -> FeatureParams:
        """Read feature_params.json (named `source` in errors); version checked, derived values must agree."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise FeatureParamsError(f"{source} is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise FeatureParamsError(f"{source} must hold a JSON object")
        check_format_version(document, source, READABLE_FEATURE_PARAMS_VERSIONS, FeatureParamsError)
        try:
            params = cls(**{field.name: document[field.name] for field in fields(cls)})
        except KeyError as error:
            raise FeatureParamsError(f"{source} is not valid: {error} is missing") from None
        if document.get("frames", params.frames) != params.frames:
            raise FeatureParamsError(f"{source} says {document['frames']} frames, "
                                     f"the settings give {params.frames}")
        return params


DEFAULT_PARAMS = FeatureParams()


def micro_features(samples: np.ndarray, params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """Compute the micro frontend features of one int16 clip: (frames, channels) float32."""
    import tensorflow as tf

    samples = np.asarray(samples)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"expected 1-D int16 samples, got {samples.dtype} with shape {samples.shape}")
    return frontend(tf.constant(samples), params).numpy()


def frontend(samples, params: FeatureParams = DEFAULT_PARAMS):
    """The micro frontend as a TensorFlow op on a 1-D int16 tensor (for tf.data maps): scaled float32."""
    import tensorflow as tf
    from tensorflow.lite.experimental.microfrontend.python.ops import audio_microfrontend_op

    features = audio_microfrontend_op.audio_microfrontend(
        samples, sample_rate=params.sample_rate_hz, window_size=params.window_ms,
        window_step=params.stride_ms, num_channels=params.channels, out_scale=1, out_type=tf.float32)
    return features * tf.constant(FRONTEND_SCALE, tf.float32)


def room_tone(samples: np.ndarray, params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """WARMUP_MS of the clip's quietest ROOM_TONE_MS, mirrored back and forth (no clicks at the joins)."""
    piece = params.sample_rate_hz * ROOM_TONE_MS // 1000
    blocks = np.asarray(samples[:len(samples) // piece * piece], dtype=np.int16).reshape(-1, piece)
    quiet = blocks[int(np.argmin(np.square(blocks, dtype=np.float64).sum(axis=1)))]
    cycle = np.concatenate([quiet, quiet[::-1]])
    return np.tile(cycle, -(-params.warmup_samples // len(cycle)))[-params.warmup_samples:]


def with_room_tone(samples: np.ndarray, params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """The clip preceded by its room tone: what a listening device heard up to the end of the clip."""
    return np.concatenate([room_tone(samples, params), np.asarray(samples, dtype=np.int16)])


def clip_frontend(warmed, params: FeatureParams = DEFAULT_PARAMS):
    """The frontend op over a clip preceded by its room tone (a 1-D int16 tensor): the clip's frames only."""
    return frontend(warmed, params)[-params.frames:]


def clip_features(samples: np.ndarray, params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """Frontend features of one clip as a listening device computes them: (frames, channels) float32."""
    import tensorflow as tf

    return clip_frontend(tf.constant(with_room_tone(samples, params)), params).numpy()


def quantize_features(features: np.ndarray) -> np.ndarray:
    """Map scaled frontend features to the model's int8 input exactly as micro_speech does on device."""
    # Recover the frontend's integer output (features are raw * 10/256, exact in float32) and apply the
    # device's integer formula, so training, host checks and firmware agree bit for bit.
    raw = np.rint(np.asarray(features, dtype=np.float64) * 256.0 / 10.0).astype(np.int64)
    value = (raw * DEVICE_VALUE_SCALE + DEVICE_VALUE_DIV // 2) // DEVICE_VALUE_DIV + INPUT_ZERO_POINT
    return np.clip(value, -128, 127).astype(np.int8)


def dequantize_features(quantized: np.ndarray) -> np.ndarray:
    """Turn int8 model inputs back into feature units: what the model sees on device."""
    return ((np.asarray(quantized, dtype=np.float32) - INPUT_ZERO_POINT) * np.float32(INPUT_SCALE))


def device_features(batch: np.ndarray, params: FeatureParams = DEFAULT_PARAMS) -> np.ndarray:
    """Features of a batch of int16 clips as the model sees them on device: (n, frames, channels) float32."""
    result = np.zeros((len(batch), *params.shape), dtype=np.float32)
    for i, samples in enumerate(batch):
        # through the int8 mapping and back, so training sees the device's clamped, stepped values
        result[i] = dequantize_features(quantize_features(clip_features(samples, params)))
    return result
