"""The model architectures `wordcrowd train --model` offers: name -> builder, without importing TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    """A registered architecture: its Keras builder as "module:function" and a line for `train --help`."""

    builder: str
    description: str


# name -> its builder, build(input_shape, num_classes, batch_size); the CLI lists the names (in --help,
# checked before TensorFlow loads) and training.models imports the builder on use
ARCHITECTURES: dict[str, Architecture] = {
    "tiny_conv": Architecture("training.models:build_tiny_conv",
                              "micro_speech's single convolution (the walking skeleton)"),
    "ds_cnn_tiny": Architecture("training.models:build_ds_cnn_tiny",
                                "DS-CNN with 16 filters and 2 blocks (about 10 KB)"),
    "ds_cnn_small": Architecture("training.models:build_ds_cnn_small",
                                 "DS-CNN with 32 filters and 3 blocks (about 20 KB)"),
    "ds_cnn": Architecture("training.models:build_ds_cnn",
                           "MLPerf Tiny DS-CNN: 64 filters, 4 depthwise-separable blocks"),
    "res_ds_cnn": Architecture("training.models:build_res_ds_cnn",
                               "46 filters, 6 residual depthwise-separable blocks, one strided (MobileNet)"),
}
# The recommended recipe (benchmarks/RESULTS.md, training): this model for this many epochs. An epoch is as
# many examples as the training split has clips; on the issue-size crowd 60 epochs gave 96.1-97.8 % and 100
# gave 97.8-98.5 % (the heavily augmented training set is still being learnt at 60), in 8.4 min on 2 cores
# (early stopping ends a run when the validation loss stops improving).
DEFAULT_ARCHITECTURE = "res_ds_cnn"
DEFAULT_EPOCHS = 100
