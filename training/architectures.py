"""The model architectures `wordcrowd train --model` offers: name -> builder, without importing TensorFlow."""

from __future__ import annotations

# name -> "module:function" of its Keras builder, build(input_shape, num_classes, batch_size); the CLI lists
# the names (in --help, checked before TensorFlow loads) and training.models imports the builder on use
ARCHITECTURES: dict[str, str] = {
    "tiny_conv": "training.models:build_tiny_conv",
}
DEFAULT_ARCHITECTURE = "tiny_conv"
