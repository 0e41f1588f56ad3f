"""PyTorch reference implementation of flowbook's benchmark cases.

    python bench/reference/torch_ref.py CASE [--mnist DIR] [--seed N]
    python bench/reference/torch_ref.py --selftest

A worker of the benchmark (the protocol is in common.py): it builds one case
(see common.CASES) and times it on the CPU for the driver. The models are
flowlib's, layer for layer: the same architecture, parameter count, initial
distributions, float32 arithmetic and Adam. Only the memory layout differs:
images are NCHW here, PyTorch's native layout and its fastest on the CPU,
where flowlib is NHWC; channel-wise operations therefore work on axis 1
instead of the last axis, and every layer keeps flowlib's channel order.

"Forward" is flowlib's direction, data → latent, and every bijector returns
(output, log|det J|) with one log-det per example:
    log p(x) = log N(Forward(x); 0, I) + Σ log-dets of Forward.

--selftest compares the log-dets with brute-force Jacobians
(torch.autograd.functional.jacobian) and checks that Inverse undoes Forward.

PyTorch uses its default thread count (all cores) unless FLOWBOOK_TORCH_THREADS
is set, as the driver does for its "torch Nt" configurations.
"""

import math
import os
import sys
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402  (after the path tweak that makes it importable)


# ----------------------------------------------------------------------------
# Initialisation: GoMLX's default, He normal, and zeros for output layers.


def he_normal_(weight, fan_in):
    """N(0, 2/fan_in), GoMLX's default initializer for weights."""
    with torch.no_grad():
        weight.normal_(0.0, math.sqrt(2.0 / fan_in))


def dense(n_in, n_out, zero=False):
    """A dense layer, flowlib's layers.DenseWithBias: He-normal weights (or
    zeros for a conditioner's output layer), zero biases."""
    layer = nn.Linear(n_in, n_out)
    nn.init.zeros_(layer.bias)
    if zero:
        nn.init.zeros_(layer.weight)
    else:
        he_normal_(layer.weight, n_in)
    return layer


def conv(n_in, n_out, kernel, zero=False):
    """flowlib's Conv2D: stride 1, "same" zero padding, bias; fan_in = k·k·C_in."""
    layer = nn.Conv2d(n_in, n_out, kernel, padding=kernel // 2)
    nn.init.zeros_(layer.bias)
    if zero:
        nn.init.zeros_(layer.weight)
    else:
        he_normal_(layer.weight, kernel * kernel * n_in)
    return layer


# ----------------------------------------------------------------------------
# Conditioners: the networks inside coupling layers (they need not be invertible).


class MLP(nn.Module):
    """flowlib's MLP(hidden...): dense + ReLU per hidden size, then a
    zero-initialised dense output layer, so that a coupling starts as the identity."""

    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        sizes = [n_in, *hidden]
        self.hidden = nn.ModuleList(dense(a, b) for a, b in zip(sizes, sizes[1:]))
        self.output = dense(sizes[-1], n_out, zero=True)

    def forward(self, x):
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.output(x)


class ConvNet(nn.Module):
    """flowlib's ConvNet(hidden...): a 3×3 convolution to hidden[0] channels,
    1×1 convolutions to the next sizes, each followed by ReLU, and a
    zero-initialised 3×3 output convolution."""

    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        sizes = [n_in, *hidden]
        self.hidden = nn.ModuleList(conv(a, b, 3 if i == 0 else 1) for i, (a, b) in enumerate(zip(sizes, sizes[1:])))
        self.output = conv(sizes[-1], n_out, 3, zero=True)

    def forward(self, x):
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.output(x)


# ----------------------------------------------------------------------------
# Bijectors. Features (vectors [B, F]) and channels (images [B, C, H, W]) are
# both on axis 1, so the same code serves both.


def sum_per_example(x):
    return x.flatten(1).sum(1)


def along_axis1(v, x):
    """v [F] shaped to broadcast along axis 1 of x."""
    return v.view(1, -1, *([1] * (x.dim() - 2)))


class ActNorm(nn.Module):
    """Glow's per-channel affine map, flowlib's ActNorm:
        Forward y = (x − loc)·exp(−log_scale), log-det −P·Σ log_scale (P pixels).
    Data-dependent initialisation: the first Forward in training mode sets loc
    and log_scale to the batch's per-channel mean and log sqrt(var + 1e-6) and
    uses those values (as constants, like flowlib's StopGradient), so this
    first step gives the layer no gradient; training continues from them."""

    def __init__(self, features):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(features))
        self.log_scale = nn.Parameter(torch.zeros(features))
        self.initialized = False

    def _params(self, x, from_data):
        loc, log_scale = self.loc, self.log_scale
        if from_data and self.training and not self.initialized:
            with torch.no_grad():
                axes = [0, *range(2, x.dim())]  # all but the channel axis
                loc = x.mean(axes)
                log_scale = torch.log(torch.sqrt(x.var(axes, unbiased=False) + C.ACTNORM_EPSILON))
                self.loc.copy_(loc)
                self.log_scale.copy_(log_scale)
            self.initialized = True
        positions = x[0, 0].numel()  # 1 for vectors, H·W for images
        return along_axis1(loc, x), along_axis1(log_scale, x), positions, log_scale

    def forward(self, x):
        loc, log_scale, positions, flat = self._params(x, True)
        return (x - loc) * torch.exp(-log_scale), (-positions * flat.sum()).expand(x.shape[0])

    def inverse(self, y):
        loc, log_scale, positions, flat = self._params(y, False)
        return y * torch.exp(log_scale) + loc, (positions * flat.sum()).expand(y.shape[0])


def bounded_log_scale(raw, contracting):
    """s from the conditioner's raw log-scale: 3·tanh(raw/3) (bounded), or with
    contracting Glow's log sigmoid(raw + 2) − log sigmoid(2) (the identity at
    0, at most a 1.14× stretch; flowlib's image couplings use it)."""
    if contracting:
        return -F.softplus(-(raw + 2)) + C.LOG_SIGMOID_2_NEG  # log sigmoid(v) = −softplus(−v)
    return C.SCALE_BOUND * torch.tanh(raw / C.SCALE_BOUND)


class AffineCoupling(nn.Module):
    """RealNVP's affine coupling, flowlib's AffineCoupling. keep (0/1, shaped
    to broadcast against x) marks the values passed through unchanged; the
    conditioner sees x·keep and gives (raw log-scale, shift) for all values,
    both then zeroed on the kept ones:
        Forward y = x·exp(s) + t, log-det Σ s,
    with s = bounded_log_scale(raw)."""

    def __init__(self, keep, conditioner, contracting):
        super().__init__()
        self.register_buffer("keep", keep)
        self.register_buffer("transform", 1 - keep)
        self.conditioner = conditioner
        self.contracting = contracting

    def _scale_and_shift(self, x):
        raw, shift = self.conditioner(x * self.keep).chunk(2, dim=1)
        return bounded_log_scale(raw, self.contracting) * self.transform, shift * self.transform

    def forward(self, x):
        s, t = self._scale_and_shift(x)
        return x * torch.exp(s) + t, sum_per_example(s)

    def inverse(self, y):
        s, t = self._scale_and_shift(y)
        return (y - t) * torch.exp(-s), -sum_per_example(s)


class ChannelCoupling(nn.Module):
    """flowlib's AffineCoupling with ChannelMask(channels) (flipped or not) in
    its sliced form (see common.CHANNEL_SPLIT): the kept channels, the first
    ⌈C/2⌉ (or, flipped, the others), go unchanged; a ConvNet maps them to s and
    t for the other channels only:
        Forward y_moved = x_moved·exp(s) + t, log-det Σ s."""

    def __init__(self, channels, flipped, hidden, contracting):
        super().__init__()
        first = (channels + 1) // 2  # the channels ChannelMask keeps when not flipped
        self.flipped = flipped
        self.sizes = [first, channels - first]  # torch.split's two parts, in channel order
        n_kept = channels - first if flipped else first
        self.conditioner = ConvNet(n_kept, hidden, 2 * (channels - n_kept))
        self.contracting = contracting

    def _halves(self, x):
        """(kept, moved) channels of x."""
        a, b = torch.split(x, self.sizes, dim=1)
        return (b, a) if self.flipped else (a, b)

    def _join(self, kept, moved):
        return torch.cat([moved, kept] if self.flipped else [kept, moved], dim=1)

    def _scale_and_shift(self, kept):
        raw, shift = self.conditioner(kept).chunk(2, dim=1)
        return bounded_log_scale(raw, self.contracting), shift

    def forward(self, x):
        kept, moved = self._halves(x)
        s, t = self._scale_and_shift(kept)
        return self._join(kept, moved * torch.exp(s) + t), sum_per_example(s)

    def inverse(self, y):
        kept, moved = self._halves(y)
        s, t = self._scale_and_shift(kept)
        return self._join(kept, (moved - t) * torch.exp(-s)), -sum_per_example(s)


def image_coupling(channels, flipped, hidden):
    """The affine coupling of flowlib's image flows: ChannelMask(channels),
    ConvNet(hidden...), the contracting scale; sliced or masked as flowlib's
    coupling.go does it (common.CHANNEL_SPLIT)."""
    if C.CHANNEL_SPLIT:
        return ChannelCoupling(channels, flipped, hidden, contracting=True)
    keep = channel_mask(channels)
    if flipped:
        keep = 1 - keep
    return AffineCoupling(keep, ConvNet(channels, hidden, 2 * channels), contracting=True)


def random_rotation(n, rng):
    """A random n×n orthogonal matrix, Haar distributed like flowlib's
    Gram–Schmidt on a Gaussian matrix (QR with the signs of R's diagonal fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


class InvConv1x1(nn.Module):
    """Glow's invertible 1×1 convolution in flowlib's LU form:
        W = P · L · (U + diag(sign · exp(log_scale))),  log|det W| = Σ log_scale,
    P a fixed permutation, L unit lower and U strictly upper triangular. As in
    flowlib, "lower" and "upper" are full C×C variables of which only the strict
    triangles are used (so they count C² parameters each), and the start is the
    LU decomposition of a random rotation.
        Forward y = W·x at every pixel, log-det H·W_img·log|det W|."""

    def __init__(self, channels, rng):
        super().__init__()
        p, lower, upper = scipy.linalg.lu(random_rotation(channels, rng))  # rotation = p @ lower @ upper
        diag = np.diag(upper)
        as32 = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
        self.lower = nn.Parameter(as32(np.tril(lower, -1)))
        self.upper = nn.Parameter(as32(np.triu(upper, 1)))
        self.log_scale = nn.Parameter(as32(np.log(np.abs(diag))))
        self.register_buffer("perm", as32(p))
        self.register_buffer("sign", as32(np.sign(diag)))
        self.register_buffer("eye", torch.eye(channels))

    def _factors(self):
        lower = self.eye + torch.tril(self.lower, -1)
        upper = torch.triu(self.upper, 1) + torch.diag(self.sign * torch.exp(self.log_scale))
        return lower, upper

    def forward(self, x):
        lower, upper = self._factors()
        w = self.perm @ lower @ upper
        pixels = x.shape[2] * x.shape[3]
        return F.conv2d(x, w[:, :, None, None]), (pixels * self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, y):
        lower, upper = self._factors()
        # W⁻¹ = U⁻¹ · L⁻¹ · Pᵀ, from two triangular solves.
        lower_inv = torch.linalg.solve_triangular(lower, self.eye, upper=False, unitriangular=True)
        upper_inv = torch.linalg.solve_triangular(upper, self.eye, upper=True)
        w_inv = upper_inv @ lower_inv @ self.perm.T
        pixels = y.shape[2] * y.shape[3]
        return F.conv2d(y, w_inv[:, :, None, None]), (-pixels * self.log_scale.sum()).expand(y.shape[0])


def squeeze2x2(x):
    """[B, C, H, W] → [B, 4C, H/2, W/2]; output channel (2·dy + dx)·C + c holds
    channel c of the pixel at offset (dy, dx) of its 2×2 block (flowlib's order)."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4)  # [b, dy, dx, c, h/2, w/2]
    return x.reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze2x2(y):
    b, c4, h, w = y.shape
    y = y.reshape(b, 2, 2, c4 // 4, h, w).permute(0, 3, 4, 1, 5, 2)  # [b, c, h, dy, w, dx]
    return y.reshape(b, c4 // 4, 2 * h, 2 * w)


class Squeeze(nn.Module):
    """flowlib's Squeeze2x2 (space to depth); it only moves values: log-det 0."""

    def forward(self, x):
        return squeeze2x2(x), x.new_zeros(x.shape[0])

    def inverse(self, y):
        return unsqueeze2x2(y), y.new_zeros(y.shape[0])


class Unsqueeze(nn.Module):
    """flowlib's Unsqueeze2x2, the inverse of Squeeze as a layer of its own."""

    def forward(self, x):
        return unsqueeze2x2(x), x.new_zeros(x.shape[0])

    def inverse(self, y):
        return squeeze2x2(y), y.new_zeros(y.shape[0])


class FactorOut(nn.Module):
    """The multi-scale split, flowlib's FactorOut with the learned prior: the
    first half of the channels (x_kept) goes on through inner, the second half
    (x_out) leaves, standardised by a Gaussian whose mean and log σ a
    ConvNet(32) (zero-initialised output, so it starts as N(0, 1)) reads from
    x_kept (before inner):
        Forward ε = (x_out − μ)·exp(−log σ), log σ = 3·tanh(raw/3), log-det −Σ log σ
        y = concat(inner(x_kept), ε) on channels."""

    def __init__(self, channels, inner):
        super().__init__()
        self.inner = inner
        self.prior = ConvNet(channels // 2, C.PRIOR_HIDDEN, channels)

    def _prior(self, kept):
        mean, raw = self.prior(kept).chunk(2, dim=1)
        return mean, C.SCALE_BOUND * torch.tanh(raw / C.SCALE_BOUND)

    def forward(self, x):
        kept, out = x.chunk(2, dim=1)
        mean, log_std = self._prior(kept)
        out = (out - mean) * torch.exp(-log_std)
        kept, log_det = self.inner(kept)
        return torch.cat([kept, out], dim=1), log_det - sum_per_example(log_std)

    def inverse(self, y):
        kept, out = y.chunk(2, dim=1)
        kept, log_det = self.inner.inverse(kept)  # The prior reads x_kept: undo inner first.
        mean, log_std = self._prior(kept)
        out = out * torch.exp(log_std) + mean
        return torch.cat([kept, out], dim=1), log_det + sum_per_example(log_std)


class UniformDequantization(nn.Module):
    """flowlib's UniformDequantization(256): y = (x + u)/256 with u ~ U[δ, 1−δ),
    δ = 1e-4; log-det D·(log(1 − 2δ) − log 256), flowlib's convention. Inverse
    is quantization back to the integers 0..255."""

    def forward(self, x):
        u = C.DEQUANTIZATION_MARGIN + (1 - 2 * C.DEQUANTIZATION_MARGIN) * torch.rand_like(x)
        values = x[0].numel()
        return (x + u) / C.LEVELS, x.new_full((x.shape[0],), values * C.DEQUANTIZATION_LOGDET_PER_VALUE)

    def inverse(self, y):
        values = y[0].numel()
        x = torch.clamp(torch.floor(y * C.LEVELS), 0, C.LEVELS - 1)
        return x, y.new_full((y.shape[0],), values * math.log(C.LEVELS))


class Logit(nn.Module):
    """flowlib's Logit(α): p = α + (1 − 2α)·y, z = log p − log(1 − p)."""

    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def forward(self, y):
        p = self.alpha + (1 - 2 * self.alpha) * y
        log_p, log_1mp = torch.log(p), torch.log1p(-p)
        return log_p - log_1mp, sum_per_example(math.log(1 - 2 * self.alpha) - log_p - log_1mp)

    def inverse(self, z):
        y = (torch.sigmoid(z) - self.alpha) / (1 - 2 * self.alpha)
        # log p + log(1 − p) with p = sigmoid(z), without cancellation.
        return y, sum_per_example(-F.softplus(-z) - F.softplus(z) - math.log(1 - 2 * self.alpha))


class Chain(nn.Module):
    """Composition: Forward applies layers[0] first; the log-dets add."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        total = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, log_det = layer(x)
            total = total + log_det
        return x, total

    def inverse(self, y):
        total = y.new_zeros(y.shape[0])
        for layer in reversed(self.layers):
            y, log_det = layer.inverse(y)
            total = total + log_det
        return y, total


class Flow(nn.Module):
    """A bijector (data → latent) over a standard normal base of event shape."""

    def __init__(self, bijector, event):
        super().__init__()
        self.bijector = bijector
        self.event = tuple(event)

    def log_prob(self, x):
        z, log_det = self.bijector(x)
        return -0.5 * sum_per_example(z * z + C.LOG_2PI) + log_det

    def sample(self, n):
        x, _ = self.bijector.inverse(torch.randn(n, *self.event))
        return x


# ----------------------------------------------------------------------------
# The models of the cases.


def realnvp2d():
    """flowlib's RealNVP(2): 8 × (ActNorm(2) → AffineCoupling(HalfMask, MLP(64, 64))),
    the mask flipped each layer, over N(0, I₂)."""
    keep = torch.tensor([[1.0, 0.0]])  # HalfMask(2) keeps ⌈2/2⌉ = 1 coordinate
    layers = []
    for _ in range(C.REALNVP_COUPLINGS):
        layers += [ActNorm(2), AffineCoupling(keep, MLP(2, C.REALNVP_HIDDEN, 4), contracting=False)]
        keep = 1 - keep
    return Flow(Chain(*layers), (2,))


def channel_mask(channels):
    """flowlib's ChannelMask: keeps the first ⌈C/2⌉ channels; [1, C, 1, 1]."""
    keep = torch.zeros(1, channels, 1, 1)
    keep[:, : (channels + 1) // 2] = 1
    return keep


def glow_level(level, channels, levels, steps, hidden, seed):
    """flowlib's glowLevel: Squeeze2x2 → steps × (ActNorm → 1×1 conv →
    coupling) → FactorOut of the next level (all but the last) → Unsqueeze2x2.
    It keeps its input's shape."""
    ch = 4 * channels
    layers = [Squeeze()]
    for k in range(steps):
        # flowlib seeds each 1×1 convolution by its position: seed + 1000·level + k.
        rng = np.random.default_rng([seed, 1000 * level + k])
        # The mask flips at every step: what one coupling kept, the next transforms.
        layers += [ActNorm(ch), InvConv1x1(ch, rng), image_coupling(ch, flipped=k % 2 == 1, hidden=hidden)]
    if level + 1 < levels:
        layers.append(FactorOut(ch, glow_level(level + 1, ch // 2, levels, steps, hidden, seed)))
    layers.append(Unsqueeze())
    return Chain(*layers)


def glow(height=28, width=28, channels=1, levels=C.GLOW_LEVELS, steps=C.GLOW_STEPS, hidden=C.GLOW_HIDDEN, seed=1,
         dequantize=True):
    """flowlib's Glow(height, width, channels): dequantization → Logit(0.05) →
    the levels, over N(0, I) of the image's shape."""
    body = glow_level(0, channels, levels, steps, hidden, seed)
    layers = ([UniformDequantization()] if dequantize else []) + [Logit(C.LOGIT_ALPHA), body]
    return Flow(Chain(*layers), (channels, height, width))


def coupling_flow():
    """flowbench's couplingFlow: dequantization → Logit(0.05) → Squeeze2x2 →
    one AffineCoupling(ChannelMask(4), ConvNet(64, 64)) with the contracting
    scale, over N(0, I) of [4, 14, 14]. Its loss has every log-det, so that it
    is in bits/dim like the other image cases."""
    coupling = image_coupling(4, flipped=False, hidden=C.GLOW_HIDDEN)
    return Flow(Chain(UniformDequantization(), Logit(C.LOGIT_ALPHA), Squeeze(), coupling), (4, 14, 14))


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------
# Training and evaluation.


class Trainer:
    """A flow and Adam minimising the mean −log p(x) of a batch (flowbench's
    objective: no gradient clipping, no schedule)."""

    def __init__(self, flow):
        self.flow = flow
        self.params = list(flow.parameters())
        self.opt = torch.optim.Adam(self.params, lr=C.LEARNING_RATE, betas=(C.ADAM_BETA1, C.ADAM_BETA2),
                                    eps=C.ADAM_EPSILON, foreach=True)
        self.steps = 0

    def step(self, x):
        self.opt.zero_grad(set_to_none=True)
        loss = -self.flow.log_prob(x).mean()
        loss.backward()
        if self.steps == 0:
            # The ActNorm layers set themselves from this batch and got no
            # gradient; give them a zero one so that Adam counts this step for
            # them too (GoMLX's Adam has one step counter for all variables).
            for p in self.params:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
        self.opt.step()
        self.steps += 1
        return loss


def mean_log_prob(flow, examples, chunk):
    """Mean log p over examples, in chunks, without gradients, in evaluation
    mode (ActNorm does not initialise itself there, as in flowlib)."""
    flow.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(examples), chunk):
            total += flow.log_prob(examples[start:start + chunk]).double().sum().item()
    flow.train()
    return total / len(examples)


def to_torch_images(images):
    """NHWC numpy (flowlib's layout) → NCHW torch."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


# ----------------------------------------------------------------------------
# The cases.


def training_worker(env, new_flow, train, test, batch, metric, eval_chunk):
    """A training case: one call is one Adam step on the next batch of a pool."""
    torch.manual_seed(env.seed)
    trainer = Trainer(new_flow())
    pool = [torch.from_numpy(b) for b in train_pool(train, batch, env.seed)]

    def call(n):
        for _ in range(n):
            loss = trainer.step(pool[trainer.steps % len(pool)])
        if not math.isfinite(loss.item()):
            raise FloatingPointError("the training loss became NaN")

    def learn(steps):
        torch.manual_seed(env.seed)  # The same initialisation as the timed model.
        fresh = Trainer(new_flow())
        # A pool of its own (seed + 1, as flowbench), independent of the timed calls.
        learn_pool = [torch.from_numpy(b) for b in train_pool(train, batch, env.seed + 1)]
        before = -mean_log_prob(fresh.flow, test, eval_chunk)
        for i in range(steps):
            fresh.step(learn_pool[i % len(learn_pool)])
        after = -mean_log_prob(fresh.flow, test, eval_chunk)
        if "bits/dim" in metric:
            before, after = C.bits_per_dim(before, 784), C.bits_per_dim(after, 784)
        return before, after

    return C.Worker(call, 1, count_parameters(trainer.flow), learn, metric)


def train_pool(train, batch, seed):
    """The pool of batches, in torch's layout."""
    pool = C.batch_pool(train, batch, seed)
    return [b if b.ndim == 2 else np.ascontiguousarray(b.transpose(0, 3, 1, 2)) for b in pool]


def inference_worker(env, flow_after_one_step, batch, sample, items):
    """log p of a fixed batch, or drawing a batch, with no gradients."""
    flow = flow_after_one_step
    flow.eval()

    def call(n):
        with torch.inference_mode():
            for _ in range(n):
                out = flow.sample(items) if sample else flow.log_prob(batch)
                out.numpy()  # The caller wants the result on the host (a no-op on the CPU).

    return C.Worker(call, items, count_parameters(flow))


def one_step(env, flow, train, batch):
    """Like flowbench, the inference cases use the model after one training
    step, which initialises the ActNorm layers from data (a fresh flow would
    be the identity map)."""
    Trainer(flow).step(torch.from_numpy(train_pool(train, batch, env.seed)[0]))
    return flow


def build_realnvp2d_train(env):
    train, test = env.moons()
    return training_worker(env, realnvp2d, train, torch.from_numpy(test), C.MOONS_BATCH, "test NLL (nats)",
                           C.MOONS_TEST)


def build_realnvp2d_inference(sample):
    def build(env):
        train, _ = env.moons()
        torch.manual_seed(env.seed)
        flow = one_step(env, realnvp2d(), train, C.MOONS_BATCH)
        points = torch.from_numpy(C.moons(C.POINTS_PER_CALL, env.seed + 2000))
        return inference_worker(env, flow, points, sample, C.POINTS_PER_CALL)
    return build


def build_image_train(make_flow):
    """A training case on MNIST; make_flow(env) returns a fresh flow."""
    def build(env):
        train, test = env.mnist()
        return training_worker(env, lambda: make_flow(env), train, to_torch_images(test), C.IMAGE_BATCH,
                               "test bits/dim", C.IMAGE_EVAL_CHUNK)
    return build


def build_glow_inference(sample):
    def build(env):
        train, test = env.mnist()
        torch.manual_seed(env.seed)
        flow = one_step(env, glow(seed=env.seed), train, C.IMAGE_BATCH)
        items = C.IMAGE_BATCH if sample else C.IMAGE_LOGPROB_BATCH
        return inference_worker(env, flow, to_torch_images(test[:items]), sample, items)
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


def perturb_(flow, scale=0.1):
    """Moves every parameter off its initial value, so that the zero-initialised
    output layers no longer make the couplings and priors the identity."""
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn_like(p))


def check_bijector(name, bijector, points, tolerance):
    """Compares the bijector's log-det with log|det| of the brute-force
    Jacobian of Forward at each point, and Inverse(Forward(x)) with x."""
    ok = True
    log_det_err = 0.0
    for x in points:
        def f(v):
            return bijector(v.unsqueeze(0))[0].flatten()
        jac = torch.autograd.functional.jacobian(f, x, vectorize=True).reshape(x.numel(), x.numel())
        brute = torch.linalg.slogdet(jac).logabsdet
        _, log_det = bijector(x.unsqueeze(0))
        log_det_err = max(log_det_err, abs(brute.item() - log_det.item()))
    ok &= C.report(f"{name}: log-det vs log|det Jacobian| ({len(points)} points of {points[0].numel()} values)",
                   log_det_err, tolerance)
    z, ld_forward = bijector(points)
    back, ld_inverse = bijector.inverse(z)
    ok &= C.report(f"{name}: Inverse(Forward(x)) − x", (back - points).abs().max().item(), tolerance)
    ok &= C.report(f"{name}: Inverse log-det + Forward log-det", (ld_forward + ld_inverse).abs().max().item(),
                   tolerance)
    return ok


def selftest():
    """Log-dets against brute-force Jacobians, in float64, for the moons
    RealNVP, a small Glow (every image layer: logit, squeeze, ActNorm, 1×1
    convolution, coupling, FactorOut with its prior, unsqueeze) and
    coupling-train's layers, with the image couplings sliced and masked (see
    common.CHANNEL_SPLIT); and the parameter counts against flowlib's."""
    torch.manual_seed(0)
    ok = True
    print("torch_ref self-test (float64):", file=sys.stderr)

    flow = realnvp2d().double()
    flow.log_prob(torch.from_numpy(C.moons(512, 0)).double())  # ActNorm's data-dependent init
    perturb_(flow)
    ok &= check_bijector("realnvp2d", flow.bijector, torch.from_numpy(C.moons(5, 1)).double(), 1e-9)

    split = C.CHANNEL_SPLIT
    for C.CHANNEL_SPLIT in (True, False):
        form = "sliced" if C.CHANNEL_SPLIT else "masked"
        small = glow(8, 8, 1, levels=2, steps=2, hidden=(16, 16), seed=0, dequantize=False).double()
        images = torch.rand(16, 1, 8, 8, dtype=torch.float64)
        small.log_prob(images)  # ActNorm's data-dependent init
        perturb_(small)
        ok &= check_bijector(f"glow 8×8×1 (L=2, K=2, logit included, {form} couplings)", small.bijector,
                             images[:3], 1e-8)

        coupling = coupling_flow().double()
        perturb_(coupling)
        bijective = Chain(*coupling.bijector.layers[1:])  # all but the (random) dequantization
        ok &= check_bijector(f"coupling-train's logit, squeeze, {form} coupling on 28×28×1", bijective,
                             torch.rand(2, 1, 28, 28, dtype=torch.float64), 1e-8)

        for flipped in (False, True):
            layer = image_coupling(8, flipped, hidden=(16,)).double()
            perturb_(layer)
            x = torch.randn(2, 8, 4, 4, dtype=torch.float64)
            keep = channel_mask(8) if not flipped else 1 - channel_mask(8)
            changed = ((layer(x)[0] - x).abs() > 0).double().amax(dim=(0, 2, 3)).view(1, -1, 1, 1)
            ok &= C.report(f"{form} coupling, mask {'flipped' if flipped else 'as is'}: channels changed vs "
                           "ChannelMask's transformed ones", (changed - (1 - keep)).abs().max().item(), 0)

        # flowlib's counts, by hand from the Go code.
        want = {"realnvp2d": 36_928, "coupling": 7_684 if C.CHANNEL_SPLIT else 11_144,
                "glow": 77_860 if C.CHANNEL_SPLIT else 119_380}
        for name, model in [("realnvp2d", realnvp2d()), ("coupling", coupling_flow()), ("glow", glow())]:
            got = count_parameters(model)
            print(f"  {'ok  ' if got == want[name] else 'FAIL'} {name} ({form}): {got} trainable parameters "
                  f"(flowlib {want[name]})", file=sys.stderr)
            ok &= got == want[name]
    C.CHANNEL_SPLIT = split
    print("self-test " + ("passed" if ok else "FAILED"), file=sys.stderr)
    return ok


if __name__ == "__main__":
    # The driver's "torch Nt" configurations set the thread count this way.
    if os.environ.get("FLOWBOOK_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["FLOWBOOK_TORCH_THREADS"]))
    sys.exit(C.run("torch", torch.__version__, torch.get_num_threads(), BUILDERS, selftest))
