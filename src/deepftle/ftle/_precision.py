"""Full float32 arithmetic on CUDA: :func:`exact_float32`, around every :func:`deepftle.ftle`
call and every CUDA pipeline job (:func:`deepftle.pipeline.devices.job_device`)."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def exact_float32():
    """Float32 matrix products and convolutions in full float32 on CUDA while inside.

    By default cuDNN runs float32 convolutions in TF32 (10-bit mantissa) on Ampere and later
    GPUs: a relative error ~1e-3 in every convolution's output, so a CNN's exponents would be
    off by ~1e-3 / L and GPU results would drift from CPU ones. Matmul TF32 is off by default,
    but a user may have turned it on. Both are switched off here and restored on exit (a no-op
    on the CPU, which has no TF32).
    """
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul
        torch.backends.cudnn.allow_tf32 = cudnn
