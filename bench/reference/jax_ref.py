"""JAX reference implementation of flowbook's benchmark cases.

    python bench/reference/jax_ref.py CASE [--mnist DIR] [--seed N]
    python bench/reference/jax_ref.py --selftest

A worker of the benchmark (the protocol is in common.py): it builds one case
(see common.CASES), compiles its operation with jax.jit and times it on the
CPU for the driver. The models are flowlib's, layer for layer: the same
architecture, parameter count, initial distributions, float32 arithmetic and
Adam (written out below: no optax or flax, only jax and numpy). Images are
NHWC, as in flowlib, with convolutions by lax.conv_general_dilated.

JAX is functional, so a model is split in two: the structure (Python objects
built once: layers, masks, the fixed parts of the 1×1 convolutions) and the
parameters, a flat dict {"name/variable": array}, created by init and passed
to every call. A fresh model for "learn" is new parameters for the same
structure, so the compiled functions are reused.

"Forward" is flowlib's direction, data → latent, and every bijector returns
(output, log|det J|) with one log-det per example:
    log p(x) = log N(Forward(x); 0, I) + Σ log-dets of Forward.

--selftest compares the log-dets with brute-force Jacobians (jax.jacfwd) and
checks that Inverse undoes Forward.
"""

import os

# XLA should not look for accelerators: this benchmark is about the CPU.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import math  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
from jax import lax  # noqa: E402
from jax.scipy.linalg import solve_triangular  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402


# ----------------------------------------------------------------------------
# Initialisation: GoMLX's default, He normal, and zeros for output layers.
# Parameters are drawn with numpy, once per model, outside any compiled code.


def he_normal(rng, shape, fan_in):
    """N(0, 2/fan_in) as float32, GoMLX's default initializer for weights."""
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)


def zeros(*shape):
    return np.zeros(shape, np.float32)


class Context:
    """What one evaluation of a model carries besides parameters and data:
    a random key (for dequantization noise), and whether ActNorm layers
    initialise themselves from this batch, collecting their new values in
    updates. It lives only while a function is traced."""

    def __init__(self, key=None, data_init=False):
        self.key = key
        self.data_init = data_init
        self.updates = {}

    def next_key(self):
        self.key, key = jax.random.split(self.key)
        return key


# ----------------------------------------------------------------------------
# Conditioners: the networks inside coupling layers (they need not be invertible).


def conv2d(x, weights, biases):
    """flowlib's Conv2D: NHWC images, HWIO kernel, stride 1, "same" zero padding, bias."""
    y = lax.conv_general_dilated(x, weights, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + biases


class MLP:
    """flowlib's MLP(hidden...): dense + ReLU per hidden size, then a
    zero-initialised dense output layer, so that a coupling starts as the identity."""

    def __init__(self, name, n_in, hidden, n_out):
        self.name, self.sizes, self.n_out = name, [n_in, *hidden], n_out

    def init(self, rng):
        p = {}
        for i, (a, b) in enumerate(zip(self.sizes, self.sizes[1:])):
            p[f"{self.name}/hidden_{i}/weights"] = he_normal(rng, (a, b), a)
            p[f"{self.name}/hidden_{i}/biases"] = zeros(b)
        p[f"{self.name}/output/weights"] = zeros(self.sizes[-1], self.n_out)
        p[f"{self.name}/output/biases"] = zeros(self.n_out)
        return p

    def __call__(self, p, x):
        for i in range(len(self.sizes) - 1):
            x = jax.nn.relu(x @ p[f"{self.name}/hidden_{i}/weights"] + p[f"{self.name}/hidden_{i}/biases"])
        return x @ p[f"{self.name}/output/weights"] + p[f"{self.name}/output/biases"]


class ConvNet:
    """flowlib's ConvNet(hidden...): a 3×3 convolution to hidden[0] channels,
    1×1 convolutions to the next sizes, each followed by ReLU, and a
    zero-initialised 3×3 output convolution. Kernels are HWIO, fan_in = k·k·C_in."""

    def __init__(self, name, n_in, hidden, n_out):
        self.name, self.sizes, self.n_out = name, [n_in, *hidden], n_out

    def init(self, rng):
        p = {}
        for i, (a, b) in enumerate(zip(self.sizes, self.sizes[1:])):
            k = 3 if i == 0 else 1
            p[f"{self.name}/conv_{i}/weights"] = he_normal(rng, (k, k, a, b), k * k * a)
            p[f"{self.name}/conv_{i}/biases"] = zeros(b)
        p[f"{self.name}/output/weights"] = zeros(3, 3, self.sizes[-1], self.n_out)
        p[f"{self.name}/output/biases"] = zeros(self.n_out)
        return p

    def __call__(self, p, x):
        for i in range(len(self.sizes) - 1):
            x = jax.nn.relu(conv2d(x, p[f"{self.name}/conv_{i}/weights"], p[f"{self.name}/conv_{i}/biases"]))
        return conv2d(x, p[f"{self.name}/output/weights"], p[f"{self.name}/output/biases"])


# ----------------------------------------------------------------------------
# Bijectors: init(rng) → parameters, forward(p, x, ctx) and inverse(p, y, ctx)
# → (output, log-det per example). Features and channels are the last axis.


def sum_per_example(x):
    return x.reshape(x.shape[0], -1).sum(axis=1)


def per_example(value, x):
    """A log-det that is the same for every example, shape [batch]."""
    return jnp.broadcast_to(value, (x.shape[0],)).astype(x.dtype)


class ActNorm:
    """Glow's per-channel affine map, flowlib's ActNorm:
        Forward y = (x − loc)·exp(−log_scale), log-det −P·Σ log_scale (P pixels).
    Data-dependent initialisation: with ctx.data_init, Forward uses the batch's
    per-channel mean and log sqrt(var + 1e-6), with gradients stopped (so the
    parameters get a zero gradient in that step, as in flowlib), and puts them
    in ctx.updates: training continues from them."""

    def __init__(self, name, features):
        self.name, self.features = name, features

    def init(self, rng):
        return {f"{self.name}/loc": zeros(self.features), f"{self.name}/log_scale": zeros(self.features)}

    def forward(self, p, x, ctx):
        loc, log_scale = p[f"{self.name}/loc"], p[f"{self.name}/log_scale"]
        if ctx.data_init:
            data = lax.stop_gradient(x)
            axes = tuple(range(x.ndim - 1))  # all but the channel axis
            loc = data.mean(axes)
            log_scale = jnp.log(jnp.sqrt(data.var(axes) + C.ACTNORM_EPSILON))
            ctx.updates[f"{self.name}/loc"] = loc
            ctx.updates[f"{self.name}/log_scale"] = log_scale
        positions = math.prod(x.shape[1:-1])  # 1 for vectors, H·W for images
        return (x - loc) * jnp.exp(-log_scale), per_example(-positions * log_scale.sum(), x)

    def inverse(self, p, y, ctx):
        loc, log_scale = p[f"{self.name}/loc"], p[f"{self.name}/log_scale"]
        positions = math.prod(y.shape[1:-1])
        return y * jnp.exp(log_scale) + loc, per_example(positions * log_scale.sum(), y)


def bounded_log_scale(raw, contracting):
    """s from the conditioner's raw log-scale: 3·tanh(raw/3) (bounded), or with
    contracting Glow's log sigmoid(raw + 2) − log sigmoid(2) (the identity at
    0, at most a 1.14× stretch; flowlib's image couplings use it)."""
    if contracting:
        return jax.nn.log_sigmoid(raw + 2) + C.LOG_SIGMOID_2_NEG
    return C.SCALE_BOUND * jnp.tanh(raw / C.SCALE_BOUND)


class AffineCoupling:
    """RealNVP's affine coupling, flowlib's AffineCoupling. keep (0/1, shaped
    to broadcast against x) marks the values passed through unchanged; the
    conditioner sees x·keep and gives (raw log-scale, shift) for all values,
    both then zeroed on the kept ones:
        Forward y = x·exp(s) + t, log-det Σ s,
    with s = bounded_log_scale(raw)."""

    def __init__(self, name, keep, conditioner, contracting):
        self.name, self.keep, self.transform = name, keep, 1 - keep
        self.conditioner, self.contracting = conditioner, contracting

    def init(self, rng):
        return self.conditioner.init(rng)

    def _scale_and_shift(self, p, x):
        raw, shift = jnp.split(self.conditioner(p, x * self.keep), 2, axis=-1)
        return bounded_log_scale(raw, self.contracting) * self.transform, shift * self.transform

    def forward(self, p, x, ctx):
        s, t = self._scale_and_shift(p, x)
        return x * jnp.exp(s) + t, sum_per_example(s)

    def inverse(self, p, y, ctx):
        s, t = self._scale_and_shift(p, y)
        return (y - t) * jnp.exp(-s), -sum_per_example(s)


class ChannelCoupling:
    """flowlib's AffineCoupling with ChannelMask(channels) (flipped or not) in
    its sliced form (see common.CHANNEL_SPLIT): the kept channels, the first
    ⌈C/2⌉ (or, flipped, the others), go unchanged; a ConvNet maps them to s and
    t for the other channels only:
        Forward y_moved = x_moved·exp(s) + t, log-det Σ s."""

    def __init__(self, name, channels, flipped, hidden, contracting):
        self.first = (channels + 1) // 2  # the channels ChannelMask keeps when not flipped
        self.flipped = flipped
        n_kept = channels - self.first if flipped else self.first
        self.conditioner = ConvNet(f"{name}/conditioner", n_kept, hidden, 2 * (channels - n_kept))
        self.contracting = contracting

    def init(self, rng):
        return self.conditioner.init(rng)

    def _halves(self, x):
        """(kept, moved) channels of x."""
        a, b = x[..., :self.first], x[..., self.first:]
        return (b, a) if self.flipped else (a, b)

    def _join(self, kept, moved):
        return jnp.concatenate([moved, kept] if self.flipped else [kept, moved], axis=-1)

    def _scale_and_shift(self, p, kept):
        raw, shift = jnp.split(self.conditioner(p, kept), 2, axis=-1)
        return bounded_log_scale(raw, self.contracting), shift

    def forward(self, p, x, ctx):
        kept, moved = self._halves(x)
        s, t = self._scale_and_shift(p, kept)
        return self._join(kept, moved * jnp.exp(s) + t), sum_per_example(s)

    def inverse(self, p, y, ctx):
        kept, moved = self._halves(y)
        s, t = self._scale_and_shift(p, kept)
        return self._join(kept, (moved - t) * jnp.exp(-s)), -sum_per_example(s)


def image_coupling(name, channels, flipped, hidden):
    """The affine coupling of flowlib's image flows: ChannelMask(channels),
    ConvNet(hidden...), the contracting scale; sliced or masked as flowlib's
    coupling.go does it (common.CHANNEL_SPLIT)."""
    if C.CHANNEL_SPLIT:
        return ChannelCoupling(name, channels, flipped, hidden, contracting=True)
    keep = channel_mask(channels)
    if flipped:
        keep = 1 - keep
    return AffineCoupling(name, keep, ConvNet(f"{name}/conditioner", channels, hidden, 2 * channels), True)


def random_rotation(n, rng):
    """A random n×n orthogonal matrix, Haar distributed like flowlib's
    Gram–Schmidt on a Gaussian matrix (QR with the signs of R's diagonal fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


class InvConv1x1:
    """Glow's invertible 1×1 convolution in flowlib's LU form:
        W = P · L · (U + diag(sign · exp(log_scale))),  log|det W| = Σ log_scale,
    P a fixed permutation, L unit lower and U strictly upper triangular. As in
    flowlib, "lower" and "upper" are full C×C variables of which only the strict
    triangles are used (so they count C² parameters each), and the start is the
    LU decomposition of a random rotation, fixed when the layer is built.
        Forward y = W·x at every pixel, log-det H·W_img·log|det W|."""

    def __init__(self, name, channels, rng):
        self.name = name
        p, lower, upper = scipy.linalg.lu(random_rotation(channels, rng))  # rotation = p @ lower @ upper
        diag = np.diag(upper)
        self.initial = {f"{name}/lower": np.tril(lower, -1).astype(np.float32),
                        f"{name}/upper": np.triu(upper, 1).astype(np.float32),
                        f"{name}/log_scale": np.log(np.abs(diag)).astype(np.float32)}
        self.perm = p.astype(np.float32)
        self.sign = np.sign(diag).astype(np.float32)
        self.eye = np.eye(channels, dtype=np.float32)

    def init(self, rng):
        return {k: v.copy() for k, v in self.initial.items()}

    def _factors(self, p):
        lower = self.eye + jnp.tril(p[f"{self.name}/lower"], -1)
        upper = jnp.triu(p[f"{self.name}/upper"], 1) + jnp.diag(self.sign * jnp.exp(p[f"{self.name}/log_scale"]))
        return lower, upper

    def forward(self, p, x, ctx):
        lower, upper = self._factors(p)
        w = self.perm @ lower @ upper
        pixels = x.shape[1] * x.shape[2]
        return x @ w.T, per_example(pixels * p[f"{self.name}/log_scale"].sum(), x)

    def inverse(self, p, y, ctx):
        lower, upper = self._factors(p)
        # W⁻¹ = U⁻¹ · L⁻¹ · Pᵀ, from two triangular solves.
        lower_inv = solve_triangular(lower, self.eye, lower=True, unit_diagonal=True)
        upper_inv = solve_triangular(upper, self.eye, lower=False)
        w_inv = upper_inv @ lower_inv @ self.perm.T
        pixels = y.shape[1] * y.shape[2]
        return y @ w_inv.T, per_example(-pixels * p[f"{self.name}/log_scale"].sum(), y)


def squeeze2x2(x):
    """[B, H, W, C] → [B, H/2, W/2, 4C]; output channel (2·dy + dx)·C + c holds
    channel c of the pixel at offset (dy, dx) of its 2×2 block (flowlib's code)."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 2, 4, 5)  # [b, h/2, w/2, dy, dx, c]
    return x.reshape(b, h // 2, w // 2, 4 * c)


def unsqueeze2x2(y):
    b, h, w, c4 = y.shape
    y = y.reshape(b, h, w, 2, 2, c4 // 4).transpose(0, 1, 3, 2, 4, 5)  # [b, h, dy, w, dx, c]
    return y.reshape(b, 2 * h, 2 * w, c4 // 4)


class Squeeze:
    """flowlib's Squeeze2x2 (space to depth); it only moves values: log-det 0."""

    def init(self, rng):
        return {}

    def forward(self, p, x, ctx):
        return squeeze2x2(x), jnp.zeros(x.shape[0], x.dtype)

    def inverse(self, p, y, ctx):
        return unsqueeze2x2(y), jnp.zeros(y.shape[0], y.dtype)


class Unsqueeze:
    """flowlib's Unsqueeze2x2, the inverse of Squeeze as a layer of its own."""

    def init(self, rng):
        return {}

    def forward(self, p, x, ctx):
        return unsqueeze2x2(x), jnp.zeros(x.shape[0], x.dtype)

    def inverse(self, p, y, ctx):
        return squeeze2x2(y), jnp.zeros(y.shape[0], y.dtype)


class FactorOut:
    """The multi-scale split, flowlib's FactorOut with the learned prior: the
    first half of the channels (x_kept) goes on through inner, the second half
    (x_out) leaves, standardised by a Gaussian whose mean and log σ a
    ConvNet(32) (zero-initialised output, so it starts as N(0, 1)) reads from
    x_kept (before inner):
        Forward ε = (x_out − μ)·exp(−log σ), log σ = 3·tanh(raw/3), log-det −Σ log σ
        y = concat(inner(x_kept), ε) on channels."""

    def __init__(self, name, channels, inner):
        self.inner = inner
        self.prior = ConvNet(f"{name}/prior", channels // 2, C.PRIOR_HIDDEN, channels)

    def init(self, rng):
        return {**self.prior.init(rng), **self.inner.init(rng)}

    def _prior(self, p, kept):
        mean, raw = jnp.split(self.prior(p, kept), 2, axis=-1)
        return mean, C.SCALE_BOUND * jnp.tanh(raw / C.SCALE_BOUND)

    def forward(self, p, x, ctx):
        kept, out = jnp.split(x, 2, axis=-1)
        mean, log_std = self._prior(p, kept)
        out = (out - mean) * jnp.exp(-log_std)
        kept, log_det = self.inner.forward(p, kept, ctx)
        return jnp.concatenate([kept, out], axis=-1), log_det - sum_per_example(log_std)

    def inverse(self, p, y, ctx):
        kept, out = jnp.split(y, 2, axis=-1)
        kept, log_det = self.inner.inverse(p, kept, ctx)  # The prior reads x_kept: undo inner first.
        mean, log_std = self._prior(p, kept)
        out = out * jnp.exp(log_std) + mean
        return jnp.concatenate([kept, out], axis=-1), log_det + sum_per_example(log_std)


class UniformDequantization:
    """flowlib's UniformDequantization(256): y = (x + u)/256 with u ~ U[δ, 1−δ),
    δ = 1e-4; log-det D·(log(1 − 2δ) − log 256), flowlib's convention. Inverse
    is quantization back to the integers 0..255."""

    def init(self, rng):
        return {}

    def forward(self, p, x, ctx):
        u = jax.random.uniform(ctx.next_key(), x.shape, x.dtype, C.DEQUANTIZATION_MARGIN, 1 - C.DEQUANTIZATION_MARGIN)
        values = math.prod(x.shape[1:])
        return (x + u) / C.LEVELS, per_example(values * C.DEQUANTIZATION_LOGDET_PER_VALUE, x)

    def inverse(self, p, y, ctx):
        values = math.prod(y.shape[1:])
        return jnp.clip(jnp.floor(y * C.LEVELS), 0, C.LEVELS - 1), per_example(values * math.log(C.LEVELS), y)


class Logit:
    """flowlib's Logit(α): p = α + (1 − 2α)·y, z = log p − log(1 − p)."""

    def __init__(self, alpha):
        self.alpha = alpha

    def init(self, rng):
        return {}

    def forward(self, p, y, ctx):
        q = self.alpha + (1 - 2 * self.alpha) * y
        log_q, log_1mq = jnp.log(q), jnp.log1p(-q)
        return log_q - log_1mq, sum_per_example(math.log(1 - 2 * self.alpha) - log_q - log_1mq)

    def inverse(self, p, z, ctx):
        y = (jax.nn.sigmoid(z) - self.alpha) / (1 - 2 * self.alpha)
        # log q + log(1 − q) with q = sigmoid(z), without cancellation.
        return y, sum_per_example(jax.nn.log_sigmoid(z) + jax.nn.log_sigmoid(-z) - math.log(1 - 2 * self.alpha))


class Chain:
    """Composition: Forward applies layers[0] first; the log-dets add."""

    def __init__(self, *layers):
        self.layers = layers

    def init(self, rng):
        p = {}
        for layer in self.layers:
            p.update(layer.init(rng))
        return p

    def forward(self, p, x, ctx):
        total = jnp.zeros(x.shape[0], x.dtype)
        for layer in self.layers:
            x, log_det = layer.forward(p, x, ctx)
            total = total + log_det
        return x, total

    def inverse(self, p, y, ctx):
        total = jnp.zeros(y.shape[0], y.dtype)
        for layer in reversed(self.layers):
            y, log_det = layer.inverse(p, y, ctx)
            total = total + log_det
        return y, total


class Flow:
    """A bijector (data → latent) over a standard normal base of event shape."""

    def __init__(self, bijector, event):
        self.bijector, self.event = bijector, tuple(event)

    def init(self, seed):
        """Fresh parameters, drawn from seed."""
        return {k: jnp.asarray(v) for k, v in self.bijector.init(np.random.default_rng(seed)).items()}

    def log_prob(self, p, x, ctx):
        z, log_det = self.bijector.forward(p, x, ctx)
        return -0.5 * sum_per_example(z * z + C.LOG_2PI) + log_det

    def sample(self, p, key, n):
        x, _ = self.bijector.inverse(p, jax.random.normal(key, (n, *self.event)), Context())
        return x


# ----------------------------------------------------------------------------
# The models of the cases. Layers are named by a running number and kind; the
# names only need to be unique, as keys of the parameter dict.


class Names:
    def __init__(self):
        self.n = 0

    def __call__(self, kind):
        self.n += 1
        return f"{self.n:03d}_{kind}"


def realnvp2d():
    """flowlib's RealNVP(2): 8 × (ActNorm(2) → AffineCoupling(HalfMask, MLP(64, 64))),
    the mask flipped each layer, over N(0, I₂)."""
    name = Names()
    keep = np.array([[1.0, 0.0]], np.float32)  # HalfMask(2) keeps ⌈2/2⌉ = 1 coordinate
    layers = []
    for _ in range(C.REALNVP_COUPLINGS):
        layers.append(ActNorm(name("actnorm"), 2))
        coupling = name("affine_coupling")
        layers.append(AffineCoupling(coupling, keep, MLP(f"{coupling}/conditioner", 2, C.REALNVP_HIDDEN, 4), False))
        keep = 1 - keep
    return Flow(Chain(*layers), (2,))


def channel_mask(channels):
    """flowlib's ChannelMask: keeps the first ⌈C/2⌉ channels; [1, 1, 1, C]."""
    keep = np.zeros((1, 1, 1, channels), np.float32)
    keep[..., : (channels + 1) // 2] = 1
    return keep


def glow_level(name, level, channels, levels, steps, hidden, seed):
    """flowlib's glowLevel: Squeeze2x2 → steps × (ActNorm → 1×1 conv →
    coupling) → FactorOut of the next level (all but the last) → Unsqueeze2x2.
    It keeps its input's shape."""
    ch = 4 * channels
    layers = [Squeeze()]
    for k in range(steps):
        # flowlib seeds each 1×1 convolution by its position: seed + 1000·level + k.
        rng = np.random.default_rng([seed, 1000 * level + k])
        # The mask flips at every step: what one coupling kept, the next transforms.
        layers += [ActNorm(name("actnorm"), ch), InvConv1x1(name("invertible_1x1_conv"), ch, rng),
                   image_coupling(name("affine_coupling"), ch, flipped=k % 2 == 1, hidden=hidden)]
    if level + 1 < levels:
        layers.append(FactorOut(name("factor_out"), ch,
                                glow_level(name, level + 1, ch // 2, levels, steps, hidden, seed)))
    layers.append(Unsqueeze())
    return Chain(*layers)


def glow(height=28, width=28, channels=1, levels=C.GLOW_LEVELS, steps=C.GLOW_STEPS, hidden=C.GLOW_HIDDEN, seed=1,
         dequantize=True):
    """flowlib's Glow(height, width, channels): dequantization → Logit(0.05) →
    the levels, over N(0, I) of the image's shape."""
    body = glow_level(Names(), 0, channels, levels, steps, hidden, seed)
    layers = ([UniformDequantization()] if dequantize else []) + [Logit(C.LOGIT_ALPHA), body]
    return Flow(Chain(*layers), (height, width, channels))


def coupling_flow():
    """flowbench's couplingFlow: dequantization → Logit(0.05) → Squeeze2x2 →
    one AffineCoupling(ChannelMask(4), ConvNet(64, 64)) with the contracting
    scale, over N(0, I) of [14, 14, 4]. Its loss has every log-det, so that it
    is in bits/dim like the other image cases."""
    coupling = image_coupling("affine_coupling", 4, flipped=False, hidden=C.GLOW_HIDDEN)
    return Flow(Chain(UniformDequantization(), Logit(C.LOGIT_ALPHA), Squeeze(), coupling), (14, 14, 4))


def count_parameters(params):
    return sum(int(v.size) for v in params.values())


# ----------------------------------------------------------------------------
# Adam, as GoMLX's: bias-corrected moments, ε added to sqrt(v̂).


def adam_init(params):
    return {"step": jnp.zeros((), jnp.int32),
            "m": {k: jnp.zeros_like(v) for k, v in params.items()},
            "v": {k: jnp.zeros_like(v) for k, v in params.items()}}


def adam_update(params, grads, state):
    step = state["step"] + 1
    b1, b2 = C.ADAM_BETA1, C.ADAM_BETA2
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    t = step.astype(jnp.float32)
    correction1, correction2 = 1 - b1 ** t, 1 - b2 ** t
    params = jax.tree.map(
        lambda p, m, v: p - C.LEARNING_RATE * (m / correction1) / (jnp.sqrt(v / correction2) + C.ADAM_EPSILON),
        params, m, v)
    return params, {"step": step, "m": m, "v": v}


# ----------------------------------------------------------------------------
# Compiled operations of a flow, built once per flow structure.


class Compiled:
    """The jitted functions of one flow: training steps (with and without
    ActNorm's data-dependent initialisation), log p and sampling. Each takes
    a random key and returns the next one, so that the noise is new at every
    call without work outside the compiled code."""

    def __init__(self, flow):
        self.flow = flow
        self.first_step = self._train_step(data_init=True)
        self.step = self._train_step(data_init=False)

        def log_prob(params, x, key):
            key, sub = jax.random.split(key)
            return flow.log_prob(params, x, Context(sub)), key

        def sample(params, key, n):
            key, sub = jax.random.split(key)
            return flow.sample(params, sub, n), key

        self.log_prob = jax.jit(log_prob)
        self.sample = jax.jit(sample, static_argnums=2)

    def _train_step(self, data_init):
        flow = self.flow

        def loss(params, x, key):
            ctx = Context(key, data_init)
            return -jnp.mean(flow.log_prob(params, x, ctx)), ctx.updates

        def step(params, opt, x, key):
            key, sub = jax.random.split(key)
            (value, updates), grads = jax.value_and_grad(loss, has_aux=True)(params, x, sub)
            # ActNorm's data-dependent values replace its parameters; they got a
            # zero gradient, so Adam leaves them there in this step.
            params = {**params, **updates}
            params, opt = adam_update(params, grads, opt)
            return params, opt, key, value

        # Donating params and opt lets XLA update them in place.
        return jax.jit(step, donate_argnums=(0, 1))


class Trainer:
    """Parameters, Adam's state and a key, trained by the compiled steps."""

    def __init__(self, compiled, seed):
        self.compiled = compiled
        self.params = compiled.flow.init(seed)
        self.opt = adam_init(self.params)
        self.key = jax.random.key(seed)
        self.steps = 0
        self.loss = None

    def step(self, x):
        fn = self.compiled.first_step if self.steps == 0 else self.compiled.step
        self.params, self.opt, self.key, self.loss = fn(self.params, self.opt, x, self.key)
        self.steps += 1

    def wait(self):
        """Blocks until the last step is done; fails if its loss is NaN."""
        jax.block_until_ready((self.params, self.loss))
        if math.isnan(float(self.loss)):
            raise FloatingPointError("the training loss became NaN")


def mean_log_prob(compiled, params, examples, chunk, seed):
    """Mean log p over examples, in chunks of one shape (one compilation),
    with the ActNorm layers as they are (no data-dependent init, as flowlib's
    evaluation graphs)."""
    key = jax.random.key(seed)
    total = 0.0
    for start in range(0, len(examples), chunk):
        lp, key = compiled.log_prob(params, examples[start:start + chunk], key)
        total += float(np.asarray(lp, np.float64).sum())
    return total / len(examples)


# ----------------------------------------------------------------------------
# The cases.


def training_worker(env, flow, train, test, batch, metric, eval_chunk):
    """A training case: one call is one Adam step on the next batch of a pool."""
    compiled = Compiled(flow)
    trainer = Trainer(compiled, env.seed)
    pool = [jnp.asarray(b) for b in C.batch_pool(train, batch, env.seed)]
    test = jnp.asarray(test)

    def call(n):
        for _ in range(n):
            trainer.step(pool[trainer.steps % len(pool)])
        trainer.wait()

    def learn(steps):
        fresh = Trainer(compiled, env.seed)  # The same initialisation as the timed model.
        # A pool of its own (seed + 1, as flowbench), independent of the timed calls.
        learn_pool = [jnp.asarray(b) for b in C.batch_pool(train, batch, env.seed + 1)]
        before = -mean_log_prob(compiled, fresh.params, test, eval_chunk, env.seed)
        for i in range(steps):
            fresh.step(learn_pool[i % len(learn_pool)])
        fresh.wait()
        after = -mean_log_prob(compiled, fresh.params, test, eval_chunk, env.seed)
        if "bits/dim" in metric:
            before, after = C.bits_per_dim(before, 784), C.bits_per_dim(after, 784)
        return before, after

    return C.Worker(call, 1, count_parameters(trainer.params), learn, metric)


def inference_worker(env, flow, train, train_batch, batch, sample, items):
    """log p of a fixed batch, or drawing a batch. Like flowbench, the model is
    the one after one training step, which initialises the ActNorm layers from
    data (a fresh flow would be the identity map)."""
    compiled = Compiled(flow)
    trainer = Trainer(compiled, env.seed)
    trainer.step(jnp.asarray(C.batch_pool(train, train_batch, env.seed)[0]))
    trainer.wait()
    params = trainer.params
    state = {"key": jax.random.key(env.seed + 7)}
    batch = jnp.asarray(batch)

    def call(n):
        key = state["key"]
        for _ in range(n):
            out, key = compiled.sample(params, key, items) if sample else compiled.log_prob(params, batch, key)
            np.asarray(out)  # The caller wants the result on the host; this also waits for it.
        state["key"] = key

    return C.Worker(call, items, count_parameters(params))


def build_realnvp2d_train(env):
    train, test = env.moons()
    return training_worker(env, realnvp2d(), train, test, C.MOONS_BATCH, "test NLL (nats)", C.MOONS_TEST)


def build_realnvp2d_inference(sample):
    def build(env):
        train, _ = env.moons()
        points = C.moons(C.POINTS_PER_CALL, env.seed + 2000)
        return inference_worker(env, realnvp2d(), train, C.MOONS_BATCH, points, sample, C.POINTS_PER_CALL)
    return build


def build_image_train(make_flow):
    """A training case on MNIST; make_flow(env) returns the flow."""
    def build(env):
        train, test = env.mnist()
        return training_worker(env, make_flow(env), train, test, C.IMAGE_BATCH, "test bits/dim", C.IMAGE_EVAL_CHUNK)
    return build


def build_glow_inference(sample):
    def build(env):
        train, test = env.mnist()
        items = C.IMAGE_BATCH if sample else C.IMAGE_LOGPROB_BATCH
        return inference_worker(env, glow(seed=env.seed), train, C.IMAGE_BATCH, test[:items], sample, items)
    return build


BUILDERS = {
    "realnvp2d-train": build_realnvp2d_train,
    "realnvp2d-logprob": build_realnvp2d_inference(sample=False),
    "realnvp2d-sample": build_realnvp2d_inference(sample=True),
    "coupling-train": build_image_train(lambda env: coupling_flow()),
    "glow-train": build_image_train(lambda env: glow(seed=env.seed)),
    "glow-logprob": build_glow_inference(sample=False),
    "glow-sample": build_glow_inference(sample=True),
}


# ----------------------------------------------------------------------------
# Self-test


def perturbed(params, seed, scale=0.1):
    """Every parameter moved off its initial value, so that the zero-initialised
    output layers no longer make the couplings and priors the identity."""
    rng = np.random.default_rng(seed)
    return {k: v + scale * rng.standard_normal(v.shape) for k, v in params.items()}


def check_bijector(name, bijector, params, points, tolerance):
    """Compares the bijector's log-det with log|det| of the brute-force
    Jacobian of Forward at each point (jax.jacfwd), and Inverse(Forward(x)) with x."""
    ok = True
    ctx = Context()

    def f(v):
        return bijector.forward(params, v[None], ctx)[0].ravel()

    jacobian = jax.jit(jax.jacfwd(f))
    log_det_of = jax.jit(lambda v: bijector.forward(params, v[None], ctx)[1][0])
    log_det_err = 0.0
    for x in points:
        brute = jnp.linalg.slogdet(jacobian(x).reshape(x.size, x.size))[1]
        log_det = log_det_of(x)
        log_det_err = max(log_det_err, abs(float(brute - log_det)))
    ok &= C.report(f"{name}: log-det vs log|det Jacobian| ({len(points)} points of {points[0].size} values)",
                   log_det_err, tolerance)
    @jax.jit
    def round_trip(x):
        z, ld_forward = bijector.forward(params, x, ctx)
        back, ld_inverse = bijector.inverse(params, z, ctx)
        return back, ld_forward, ld_inverse

    back, ld_forward, ld_inverse = round_trip(points)
    ok &= C.report(f"{name}: Inverse(Forward(x)) − x", float(jnp.abs(back - points).max()), tolerance)
    ok &= C.report(f"{name}: Inverse log-det + Forward log-det", float(jnp.abs(ld_forward + ld_inverse).max()),
                   tolerance)
    return ok


def data_initialised(flow, params, x):
    """params with the ActNorm layers set from the batch x."""
    @jax.jit
    def updates(params, x):
        ctx = Context(jax.random.key(0), data_init=True)
        flow.log_prob(params, x, ctx)
        return ctx.updates

    return {**params, **updates(params, x)}


def selftest():
    """Log-dets against brute-force Jacobians, in float64, for the moons
    RealNVP, a small Glow (every image layer: logit, squeeze, ActNorm, 1×1
    convolution, coupling, FactorOut with its prior, unsqueeze) and
    coupling-train's layers, with the image couplings sliced and masked (see
    common.CHANNEL_SPLIT); and the parameter counts against flowlib's."""
    jax.config.update("jax_enable_x64", True)
    ok = True
    rng = np.random.default_rng(0)
    as64 = lambda p: {k: jnp.asarray(v, jnp.float64) for k, v in p.items()}  # noqa: E731
    print("jax_ref self-test (float64):", file=sys.stderr)

    flow = realnvp2d()
    params = data_initialised(flow, as64(flow.init(0)), jnp.asarray(C.moons(512, 0), jnp.float64))
    points = jnp.asarray(C.moons(5, 1), jnp.float64)
    ok &= check_bijector("realnvp2d", flow.bijector, perturbed(params, 1), points, 1e-9)

    split = C.CHANNEL_SPLIT
    for C.CHANNEL_SPLIT in (True, False):
        form = "sliced" if C.CHANNEL_SPLIT else "masked"
        small = glow(8, 8, 1, levels=2, steps=2, hidden=(16, 16), seed=0, dequantize=False)
        images = jnp.asarray(rng.random((16, 8, 8, 1)))
        params = data_initialised(small, as64(small.init(0)), images)
        ok &= check_bijector(f"glow 8×8×1 (L=2, K=2, logit included, {form} couplings)", small.bijector,
                             perturbed(params, 2), images[:3], 1e-8)

        coupling = coupling_flow()
        bijective = Chain(*coupling.bijector.layers[1:])  # all but the (random) dequantization
        ok &= check_bijector(f"coupling-train's logit, squeeze, {form} coupling on 28×28×1", bijective,
                             perturbed(as64(coupling.init(0)), 3), jnp.asarray(rng.random((2, 28, 28, 1))), 1e-8)

        for flipped in (False, True):
            layer = image_coupling("c", 8, flipped, hidden=(16,))
            x = jnp.asarray(rng.standard_normal((2, 4, 4, 8)))
            y, _ = layer.forward(perturbed(as64(layer.init(rng)), 4), x, Context())
            keep = channel_mask(8) if not flipped else 1 - channel_mask(8)
            changed = (jnp.abs(y - x) > 0).astype(jnp.float64).max(axis=(0, 1, 2))
            ok &= C.report(f"{form} coupling, mask {'flipped' if flipped else 'as is'}: channels changed vs "
                           "ChannelMask's transformed ones", float(jnp.abs(changed - (1 - keep.ravel())).max()), 0)

        # flowlib's counts, by hand from the Go code.
        want = {"realnvp2d": 36_928, "coupling": 7_684 if C.CHANNEL_SPLIT else 11_144,
                "glow": 77_860 if C.CHANNEL_SPLIT else 119_380}
        for name, model in [("realnvp2d", realnvp2d()), ("coupling", coupling_flow()), ("glow", glow())]:
            got = count_parameters(model.init(0))
            print(f"  {'ok  ' if got == want[name] else 'FAIL'} {name} ({form}): {got} trainable parameters "
                  f"(flowlib {want[name]})", file=sys.stderr)
            ok &= got == want[name]
    C.CHANNEL_SPLIT = split
    print("self-test " + ("passed" if ok else "FAILED"), file=sys.stderr)
    return ok


if __name__ == "__main__":
    # XLA's CPU backend uses every core; report them all.
    sys.exit(C.run("jax", jax.__version__, os.cpu_count(), BUILDERS, selftest))
