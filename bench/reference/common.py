"""What the benchmark's two reference workers (torch_ref.py, jax_ref.py) share.

flowbook's benchmark runs the same normalizing-flow models in flowlib (Go, the
worker cmd/flowbench) and in PyTorch and JAX (the workers next to this file),
and a driver interleaves them. Every worker speaks the same protocol, JSON
lines on stdin and stdout:

    python bench/reference/torch_ref.py CASE [--mnist DIR] [--seed N]

1. The worker builds the data and the model of CASE, runs the case's
   operation twice (to compile or warm up) and prints one "ready" line:
   {"ready": true, "impl": ..., "version": ..., "threads": ..., "case": ...,
    "unit": ..., "items_per_call": ..., "params": ..., "setup_seconds": ...}
2. It then answers one JSON line per request:
   {"op": "time", "calls": N}   → runs the operation N times, synchronised at
                                  the end, and answers {"seconds": ...}
   {"op": "learn", "steps": S}  → (training cases) trains a fresh model for S
                                  steps and answers its held-out metric before
                                  and after: {"initial", "final", "metric",
                                  "steps", "seconds"}
   {"op": "quit"}               → exits 0, as does the end of stdin.
   A failed request is answered {"error": "..."} and the worker goes on.

This module holds the protocol loop, the settings of the cases (the same
numbers as cmd/flowbench/cases.go), and the data: the "moons" toy set of
flowlib/data/toy.go and an MNIST IDX reader. It has no model code: that is
framework-specific and lives in the two workers.
"""

import argparse
import gzip
import json
import math
import struct
import sys
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

# --- The benchmark's settings: keep them equal to cmd/flowbench/cases.go. ---
MOONS_TRAIN = 10_000  # training points of the moons cases
MOONS_TEST = 10_000  # held-out points for "learn"
MOONS_BATCH = 512
POINTS_PER_CALL = 65_536  # log-prob and sampling of 2D points
IMAGE_BATCH = 64  # training batch of MNIST digits, and digits drawn per sampling call
IMAGE_LOGPROB_BATCH = 256  # held-out digits per log-prob call
IMAGE_TEST_EXAMPLES = 1000  # held-out digits for "learn"
IMAGE_EVAL_CHUNK = 250  # held-out digits per evaluation call (1000 = 4 chunks)
BATCH_POOL = 16  # pre-drawn batches, cycled, so that the timed loop is the model's work

# --- Optimiser: GoMLX's Adam defaults, with flowbench's learning rate. ---
LEARNING_RATE = 1e-3
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPSILON = 1e-7  # added to sqrt(v̂), as GoMLX (and torch) do

# --- Constants of flowlib's layers. ---
ACTNORM_EPSILON = 1e-6  # actnorm.go: log_scale = log sqrt(var + ε)
SCALE_BOUND = 3.0  # coupling.go DefaultScaleBound: s = B·tanh(raw/B)
LOGIT_ALPHA = 0.05  # imageflow.go: Logit(0.05)
LEVELS = 256  # 8-bit images
DEQUANTIZATION_MARGIN = 1e-4  # dequantize.go: u ~ U[δ, 1−δ)
LOG_2PI = math.log(2 * math.pi)
# log sigmoid(r + 2) − log sigmoid(2) is the contracting scale; −log sigmoid(2):
LOG_SIGMOID_2_NEG = math.log1p(math.exp(-2.0))
# Per value, the log-det of uniform dequantization (flowlib's convention):
# −log 256 for the rescaling, + log(1 − 2δ) for the noise's narrower interval.
DEQUANTIZATION_LOGDET_PER_VALUE = math.log1p(-2 * DEQUANTIZATION_MARGIN) - math.log(LEVELS)

# flowlib's AffineCoupling with a channel mask (ChannelMask, the image
# couplings of Glow and of coupling-train) slices the channels instead of
# multiplying by the mask: its conditioner maps the C/2 kept channels to s and
# t for the C/2 transformed ones (C/2 in, C out) rather than C in and 2C out
# with half of each unused (coupling.go, channelSplitOf). The same function
# family at about half the cost of the conditioner's first and last layers,
# but fewer parameters: Glow 77,860 instead of 119,380, coupling-train 7,684
# instead of 11,144. False builds the masked form of flowlib before that change.
CHANNEL_SPLIT = True

# Glow(28, 28, 1) defaults (imageflow.go).
GLOW_LEVELS = 2
GLOW_STEPS = 4
GLOW_HIDDEN = (64, 64)
PRIOR_HIDDEN = (32,)  # multiscale.go: FactorOut's prior is ConvNet(32)
# RealNVP(2) defaults (realnvp.go).
REALNVP_COUPLINGS = 8
REALNVP_HIDDEN = (64, 64)

# name → (unit, is a training case, needs MNIST)
CASES = {
    "realnvp2d-train": ("steps", True, False),
    "realnvp2d-logprob": ("points", False, False),
    "realnvp2d-sample": ("points", False, False),
    "coupling-train": ("steps", True, True),
    "glow-train": ("steps", True, True),
    "glow-logprob": ("images", False, True),
    "glow-sample": ("images", False, True),
}

MNIST_FILES = ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")


# ----------------------------------------------------------------------------
# Data


def moons(n, seed):
    """n points of flowlib's "moons" (data.Toy, sampleMoons), float32 [n, 2].

    The same distribution as flowlib's, not the same numbers (Go's PCG cannot
    be reproduced here): two half circles of radius 1, the upper (cos t, sin t)
    and the lower (1 − cos t, 0.5 − sin t), t ~ U[0, π), each point on either
    with probability ½, plus N(0, 0.05²) noise per coordinate, then centred on
    the exact mean (0.5, 0.25) and scaled by 1.5.
    """
    rng = np.random.default_rng(seed)
    t = np.pi * rng.random(n)
    lower = rng.integers(0, 2, n) == 1
    x = np.where(lower, 1 - np.cos(t), np.cos(t))
    y = np.where(lower, 0.5 - np.sin(t), np.sin(t))
    x = x + 0.05 * rng.standard_normal(n)
    y = y + 0.05 * rng.standard_normal(n)
    return (1.5 * np.stack([x - 0.5, y - 0.25], axis=1)).astype(np.float32)


def read_idx_images(path):
    """Reads an IDX image file (plain or gzipped): uint8 [n, rows, cols]."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, rank = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08 or rank != 3:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes of rank 3 (header {raw[:4].hex()})")
    dims = struct.unpack(">3I", raw[4:16])
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16)
    if pixels.size != math.prod(dims):
        raise ValueError(f"{path}: header says {dims} but the file holds {pixels.size} bytes of pixels")
    return pixels.reshape(dims)


def find_mnist(directory):
    """The paths of the training and test image files in directory, or an
    error message naming what is missing."""
    paths = []
    for name in MNIST_FILES:
        candidates = [p for p in (Path(directory) / name, Path(directory) / (name + ".gz")) if p.is_file()]
        if not candidates:
            return None, (f"MNIST: {directory} has no {name}[.gz] "
                          "(scripts/fetch-mnist fetches the digits, or give --mnist DIR)")
        paths.append(candidates[0])
    return paths, None


def load_mnist(directory):
    """MNIST as flowlib's data.LoadMNIST gives it: float32 grey levels 0..255
    (not rescaled: the flows dequantize inside the model), NHWC [n, 28, 28, 1].
    Returns the training images and the first IMAGE_TEST_EXAMPLES test images,
    as flowbench does."""
    paths, err = find_mnist(directory)
    if err:
        raise FileNotFoundError(err)
    train, test = (read_idx_images(p).astype(np.float32)[..., None] for p in paths)
    return train, test[:IMAGE_TEST_EXAMPLES]


def batch_pool(examples, size, seed):
    """BATCH_POOL mini-batches of size examples drawn at random (with
    replacement, as flowbench's newBatches does). The timed loop cycles through
    them, so that it measures the model and not the data handling."""
    rng = np.random.default_rng([seed, 0xBE7C4])
    return [np.ascontiguousarray(examples[rng.integers(0, len(examples), size)]) for _ in range(BATCH_POOL)]


def bits_per_dim(nll_nats, dims):
    """flowlib's training.BitsPerDim: −log p / (D · ln 2)."""
    return nll_nats / (dims * math.log(2))


# ----------------------------------------------------------------------------
# The worker


class Worker:
    """One built case. call(n) runs the case's operation n times and returns
    only when the work is done (the caller times it); learn(steps), for
    training cases, trains a fresh model and returns (initial, final) of the
    held-out metric."""

    def __init__(self, call, items_per_call, params, learn=None, metric=None):
        self.call = call
        self.items_per_call = items_per_call
        self.params = params
        self.learn = learn
        self.metric = metric


class Environment:
    """What every case is built from: the command-line settings."""

    def __init__(self, case, mnist_dir, seed):
        self.case = case
        self.mnist_dir = mnist_dir
        self.seed = seed
        self._mnist = None

    def mnist(self):
        """(train, test) images, read once."""
        if self._mnist is None:
            self._mnist = load_mnist(self.mnist_dir)
        return self._mnist

    def moons(self):
        """(train, test) moons points: flowbench's seeds, seed and seed + 1000."""
        return moons(MOONS_TRAIN, self.seed), moons(MOONS_TEST, self.seed + 1000)


def parse_args(prog, argv):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("case", nargs="?", help="benchmark case: " + ", ".join(CASES))
    parser.add_argument("--mnist", default=str(REPO / ".cache" / "mnist"),
                        help="directory with the MNIST IDX files (default <repo>/.cache/mnist)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the data and of the models (default 1, as flowbench)")
    parser.add_argument("--selftest", action="store_true",
                        help="check log-dets against brute-force Jacobians and inverses against forwards, then exit")
    return parser.parse_args(argv)


def run(impl, version, threads, builders, selftest, argv=None):
    """The worker's main: parses the command line, builds the case with
    builders[case](env) → Worker, warms up, says ready and serves requests.
    Returns the exit status."""
    args = parse_args(f"{impl}_ref.py", sys.argv[1:] if argv is None else argv)
    # The protocol owns stdout: anything a library prints goes to stderr.
    protocol = sys.stdout
    sys.stdout = sys.stderr
    if args.selftest:
        return 0 if selftest() else 1
    if args.case is None:
        print(f"{impl}_ref.py: give one case name: {', '.join(CASES)} (or --selftest)", file=sys.stderr)
        return 2
    if args.case not in CASES:
        print(f"{impl}_ref.py: unknown case {args.case!r}; valid cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    unit, _, needs_mnist = CASES[args.case]
    if needs_mnist:
        _, err = find_mnist(args.mnist)
        if err:
            print(f"{impl}_ref.py: {err}", file=sys.stderr)
            return 2
    start = time.perf_counter()
    try:
        worker = builders[args.case](Environment(args.case, args.mnist, args.seed))
        worker.call(2)  # Two warm-up calls: the first compiles (JAX) or allocates (torch).
    except Exception:
        traceback.print_exc()
        print(f"{impl}_ref.py: {args.case}: setup failed", file=sys.stderr)
        return 1
    send(protocol, {
        "ready": True, "impl": impl, "version": version, "threads": threads, "case": args.case,
        "unit": unit, "items_per_call": worker.items_per_call, "params": worker.params,
        "setup_seconds": time.perf_counter() - start,
    })
    serve(worker, sys.stdin, protocol)
    return 0


def send(out, obj):
    out.write(json.dumps(obj) + "\n")
    out.flush()


def serve(worker, stdin, out):
    """Answers requests until "quit" or the end of stdin."""
    for line in stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("a request is a JSON object")
        except ValueError as e:
            send(out, {"error": f"malformed request {line.strip()!r}: {e}"})
            continue
        op = req.get("op")
        try:
            if op == "quit":
                return
            elif op == "time":
                calls = int(req.get("calls", 0))
                if calls < 1:
                    send(out, {"error": "time needs calls >= 1"})
                    continue
                t0 = time.perf_counter()
                worker.call(calls)
                send(out, {"seconds": time.perf_counter() - t0})
            elif op == "learn":
                if worker.learn is None:
                    send(out, {"error": "learn is only for training cases"})
                    continue
                steps = max(int(req.get("steps", 1)), 1)
                t0 = time.perf_counter()
                initial, final = worker.learn(steps)
                send(out, {"initial": initial, "final": final, "metric": worker.metric, "steps": steps,
                           "seconds": time.perf_counter() - t0})
            else:
                send(out, {"error": f"unknown op {op!r} (valid: time, learn, quit)"})
        except Exception as e:  # A failed request does not stop the worker.
            traceback.print_exc()
            send(out, {"error": f"{type(e).__name__}: {e}"})


def report(name, error, tolerance):
    """Prints one self-test line to stderr and says whether it passed."""
    ok = error <= tolerance
    print(f"  {'ok  ' if ok else 'FAIL'} {name}: max error {error:.2e} (tolerance {tolerance:.0e})", file=sys.stderr)
    return ok

