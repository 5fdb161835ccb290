"""The engine's guarantee where users' models test it, clause by clause (docs/library.md,
"Guarantee"): batch-coupled models, branches autograd does not see, small singular values at
k > 1, deep chains on the generic path, saturated units, depth counting, the caller's tensors.

Every number is checked against a float64 reference: the explicit Jacobian (``jacrev``) and
``svdvals``, a closed-form Jacobian where autograd's own derivative is inaccurate
(saturated tanh), or a 400-digit mpmath product (a 400-layer linear chain).
"""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import jacrev, vmap

import deepftle

TOL = {torch.float32: 1e-4, torch.float64: 1e-10}


def reference(model, x, depth):
    """log sigma_i / L of the explicit float64 Jacobian of a float64 copy of ``model``."""
    m64 = copy.deepcopy(model).double() if isinstance(model, nn.Module) else model
    x64 = x.double()
    J = vmap(jacrev(lambda z: m64(z[None]).reshape(-1)))(x64)
    J = J.reshape(x64.shape[0], -1, x64[0].numel())
    return torch.log(torch.linalg.svdvals(J)) / depth


def close(lam, ref, dtype, k=None):
    """Within the tolerance of ``dtype``; -inf exactly where the reference is -inf."""
    k = k or lam.shape[1]
    lam, ref = lam.double(), ref[:, :k]
    same_inf = torch.equal(torch.isneginf(lam), torch.isneginf(ref))
    finite = torch.isfinite(ref)
    return same_inf and (lam[finite] - ref[finite]).abs().max().item() <= TOL[dtype]


def with_cut(ref, depth, rel=1e-10):
    """The reference with singular values below ``rel`` sigma_1 (rounding noise of a rank-
    deficient float64 Jacobian) as -inf."""
    return ref.masked_fill((ref - ref[:, :1]) * depth < math.log(rel), -math.inf)


# --- points must not interact ----------------------------------------------------------------


class MaxNormalised(nn.Module):
    """Divides by the largest |x| over the whole batch."""

    def __init__(self, quiet=False):
        super().__init__()
        self.lin, self.quiet = nn.Linear(4, 3), quiet

    def forward(self, x):
        if self.quiet:  # the statistic computed without autograd: only values show it
            with torch.no_grad():
                scale = x.abs().max()
        else:
            scale = x.abs().max()
        return self.lin(torch.tanh(x / scale))


class Centred(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x):
        return self.lin(torch.tanh(x - x.mean(dim=0)))


class Attention(nn.Module):
    def __init__(self, batch_first):
        super().__init__()
        self.att = nn.MultiheadAttention(8, 2, batch_first=batch_first)

    def forward(self, x):
        return self.att(x, x, x, need_weights=False)[0]


def test_batch_statistics_in_eval_mode_are_a_value_error():
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(2, 4, 3),
        nn.BatchNorm2d(4, track_running_stats=False),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(144, 5),
    ).eval()
    with pytest.raises(ValueError, match=r"'1' \(BatchNorm2d\) has track_running_stats=False"):
        deepftle.ftle(m, torch.randn(6, 2, 8, 8))


@pytest.mark.parametrize(
    "make, points",
    [
        (lambda: MaxNormalised(), 5),
        (lambda: MaxNormalised(quiet=True), 5),
        (lambda: MaxNormalised(), 1),
        (lambda: Centred(), 4),
    ],
)
@pytest.mark.parametrize("method", ["auto", "forward", "reverse"])
def test_a_statistic_of_the_batch_is_a_value_error(make, points, method):
    torch.manual_seed(1)
    with pytest.raises(ValueError, match="couples the points of a batch"):
        deepftle.ftle(make(), torch.randn(points, 4), depth=1, method=method)


def test_attention_across_the_batch_axis_is_a_value_error_and_within_a_point_is_exact():
    torch.manual_seed(2)
    x = torch.randn(4, 3, 8)
    with pytest.raises(ValueError, match="batch_first=True"):
        deepftle.ftle(Attention(batch_first=False).eval(), x, depth=1)
    m = Attention(batch_first=True).eval()
    lam = deepftle.ftle(m, x, k=3, depth=1)
    assert close(lam, reference(m, x, 1), torch.float32)


# --- autograd must see the whole map ----------------------------------------------------------


class NoGradBranch(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.a, self.c, self.b = nn.Linear(4, 16), nn.Linear(4, 16), nn.Linear(16, d)

    def forward(self, x):
        with torch.no_grad():
            g = torch.tanh(self.c(x))
        return self.b(torch.tanh(self.a(x)) + g)


class Cut(nn.Module):
    """A branch of the output cut from autograd by ``how``."""

    def __init__(self, how):
        super().__init__()
        self.a, self.how = nn.Linear(4, 6), how

    def forward(self, x):
        h = self.a(x)
        if self.how == "straight_through":
            return h + (torch.round(h) - h).detach()
        if self.how == "data":
            return h / h.norm(dim=1, keepdim=True).data
        return torch.tanh(h) * h.detach()


class Logged(nn.Module):
    """Detached copies kept aside (logging) and a no_grad branch on constants: the output's
    path is whole, no error."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 6), nn.Linear(6, 3)

    def forward(self, x):
        h = torch.tanh(self.a(x))
        self.kept = h.detach()
        with torch.no_grad():
            self.count = torch.ones(()) * 2
        mask = (x[:, :1] > 10).float().detach()  # piecewise constant: derivative 0 either way
        return self.b(h) * (1 + 0 * mask)


@pytest.mark.parametrize("d_out", [2, 6, 40])
@pytest.mark.parametrize("method", ["auto", "forward", "reverse"])
def test_a_no_grad_branch_is_a_value_error_on_every_method(d_out, method):
    torch.manual_seed(3)
    with pytest.raises(ValueError, match="torch.no_grad"):
        deepftle.ftle(NoGradBranch(d_out), torch.randn(5, 4), 2, depth=2, method=method)


@pytest.mark.parametrize(
    "how, named",
    [("straight_through", r"\.detach\(\)"), ("data", r"\.data"), ("detach", r"\.detach\(\)")],
)
@pytest.mark.parametrize("method", ["auto", "forward", "reverse"])
def test_a_detached_path_is_a_value_error_naming_it(how, named, method):
    torch.manual_seed(4)
    with pytest.raises(ValueError, match=f"depends on the input through {named}"):
        deepftle.ftle(Cut(how), torch.randn(5, 4), depth=1, method=method)


def test_detached_copies_off_the_output_path_are_no_error():
    torch.manual_seed(5)
    m, x = Logged(), torch.randn(5, 4)
    lam = deepftle.ftle(m, x, k=3)
    assert close(lam, reference(m, x, 2), torch.float32)
    assert not torch._C._functorch.is_functorch_wrapped_tensor(m.kept)


# --- k > 1: small singular values -------------------------------------------------------------


def graded(n, spectrum, seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.linalg.qr(torch.randn(n, n, generator=g))[0]
    v = torch.linalg.qr(torch.randn(n, n, generator=g))[0]
    return u @ torch.diag(torch.tensor(spectrum)) @ v.T


SPECTRUM = [1, 1e-2, 1e-4, 1e-5, 5e-6, 3e-6]


@pytest.mark.parametrize("where", [0, 2, 4])  # the ill-conditioned layer: first, middle, last
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_small_singular_values_at_k_above_one(where, dtype):
    torch.manual_seed(6)
    m = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6))
    with torch.no_grad():
        m[where].weight.copy_(graded(6, SPECTRUM, where))
    m = m.to(dtype)
    x = (torch.randn(20, 6) * 0.5).to(dtype)
    ref = reference(m, x, 3)
    assert close(deepftle.ftle(m, x, 6), ref, dtype)  # fused
    for method in ("forward", "reverse"):
        assert close(deepftle.ftle(m, x, 6, method=method), ref, dtype), method


def test_small_singular_values_of_the_issue_two_layer_net():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6))
    with torch.no_grad():
        m[0].weight.copy_(graded(6, SPECTRUM, 7))
    x = torch.randn(20, 6) * 0.5
    ref = reference(m, x, 2)
    assert close(deepftle.ftle(m, x, 6), ref, torch.float32)
    assert close(deepftle.ftle(m, x, 6, method="generic"), ref, torch.float32)


def test_a_float32_function_that_cannot_run_in_float64_warns_at_k_above_one():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6))
    with torch.no_grad():
        m[0].weight.copy_(graded(6, SPECTRUM, 7))
    x = torch.randn(20, 6) * 0.5
    with pytest.warns(RuntimeWarning, match=r"20 of 20 points .* could not run in float64"):
        deepftle.ftle(lambda z: m(z), x, 6, depth=2)
    plain = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6))
    with warnings.catch_warnings():  # well-conditioned: no warning
        warnings.simplefilter("error")
        deepftle.ftle(lambda z: plain(z), x, 2, depth=2)


# --- deep chains on the generic path ----------------------------------------------------------


def _chain(depth=400, seed=1):
    torch.manual_seed(seed)
    ws = [torch.randn(6, 6, dtype=torch.float64) / 6**0.5 for _ in range(depth)]
    seq = nn.Sequential(*[nn.Linear(6, 6, bias=False) for _ in range(depth)]).double()
    with torch.no_grad():
        for layer, w in zip(seq, ws, strict=True):
            layer.weight.copy_(w)
    return seq, ws


def _mpmath_exponents(ws, k):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 400
    prod = mpmath.eye(6)
    for w in ws:
        prod = mpmath.matrix(w.tolist()) * prod
    s = sorted(mpmath.svd_r(prod, compute_uv=False), reverse=True)
    return torch.tensor([float(mpmath.log(v) / len(ws)) for v in s[:k]], dtype=torch.float64)


def test_a_deep_chain_is_exact_on_every_staged_path():
    seq, ws = _chain()
    x = torch.randn(1, 6, dtype=torch.float64)
    exact = _mpmath_exponents(ws, 3)
    assert (deepftle.ftle(seq, x, 3)[0] - exact).abs().max() <= 1e-10  # fused
    assert (deepftle.ftle(seq, x, 3, method="forward")[0] - exact).abs().max() <= 1e-10
    nested = nn.Sequential(*[nn.Sequential(*list(seq)[i : i + 100]) for i in range(0, 400, 100)])
    assert (deepftle.ftle(nested, x, 3, method="forward")[0] - exact).abs().max() <= 1e-10
    seq.register_forward_hook(lambda m, a, o: o)  # a hook: generic path, staged
    assert (deepftle.ftle(seq, x, 3)[0] - exact).abs().max() <= 1e-10


def test_a_formed_jacobian_of_a_deep_chain_gives_minus_inf_below_its_cut_never_wrong_numbers():
    seq, ws = _chain()
    x = torch.randn(1, 6, dtype=torch.float64)
    exact = _mpmath_exponents(ws, 3)
    lam = deepftle.ftle(seq, x, 3, method="reverse")[0]
    finite = torch.isfinite(lam)
    assert finite[0] and (lam[finite] - exact[finite]).abs().max() <= 1e-10
    # the rest lie below max(m, n) L eps sigma_1: sigma_2 / sigma_1 = exp(-400 * 0.116)
    assert torch.isneginf(lam[~finite]).all() and (~finite).any()


def test_a_hook_reading_the_input_is_not_staged():
    torch.manual_seed(8)
    seq = nn.Sequential(*[m for _ in range(10) for m in (nn.Linear(5, 5), nn.Tanh())]).double()
    seq.register_forward_hook(lambda m, a, o: o + 0.5 * a[0])  # a residual around the stack
    x = torch.randn(4, 5, dtype=torch.float64)
    lam = deepftle.ftle(seq, x, 5, method="forward")
    assert close(lam, reference(seq, x, 10), torch.float64)


# --- saturated units --------------------------------------------------------------------------


def _saturated(bias, seed=80):
    torch.manual_seed(seed)
    l1, l2, l3 = nn.Linear(4, 30), nn.Linear(30, 30), nn.Linear(30, 40)
    with torch.no_grad():
        l1.bias.fill_(bias)
        l2.bias.fill_(bias)
    return nn.Sequential(l1, nn.Tanh(), l2, nn.Tanh(), l3)


def _closed_form_exponents(seq, x, k):
    """J = W3 D2 W2 D1 W1 in float64, D = 1 / cosh(b)^2 (no cancellation)."""
    l1, _, l2, _, l3 = [m.double() if isinstance(m, nn.Linear) else m for m in copy.deepcopy(seq)]
    x = x.double()
    b1 = x @ l1.weight.T + l1.bias
    b2 = torch.tanh(b1) @ l2.weight.T + l2.bias
    d1, d2 = torch.cosh(b1) ** -2, torch.cosh(b2) ** -2
    J = l3.weight @ (d2[:, :, None] * (l2.weight @ (d1[:, :, None] * l1.weight)))
    return torch.log(torch.linalg.svdvals(J)[:, :k]) / 3


@pytest.mark.parametrize("bias", [6.0, 12.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_saturated_tanh_on_every_path(bias, dtype):
    seq = _saturated(bias).to(dtype)
    x = (torch.randn(3, 4) * 0.1).to(dtype)
    ref = _closed_form_exponents(seq, x, 2)
    assert torch.isfinite(ref).all()
    assert close(deepftle.ftle(seq, x, 2), ref, dtype)
    for method in ("forward", "reverse"):
        assert close(deepftle.ftle(seq, x, 2, method=method), ref, dtype), method
        assert close(deepftle.ftle(lambda z: seq(z), x, 2, depth=3, method=method), ref, dtype), (
            method
        )


@pytest.mark.parametrize("functional", [False, True])
def test_saturated_sigmoid_on_both_paths(functional):
    torch.manual_seed(9)
    seq = nn.Sequential(nn.Linear(3, 8), nn.Sigmoid(), nn.Linear(8, 4)).double()
    with torch.no_grad():
        seq[0].bias.fill_(30.0)
    x = torch.randn(5, 3, dtype=torch.float64) * 0.1
    b = x @ seq[0].weight.T + seq[0].bias
    d = torch.sigmoid(b) * torch.sigmoid(-b)
    J = seq[2].weight @ (d[:, :, None] * seq[0].weight)
    ref = torch.log(torch.linalg.svdvals(J)) / 2
    model = (
        (lambda z: F.linear(torch.sigmoid(seq[0](z)), seq[2].weight, seq[2].bias))
        if functional
        else seq
    )
    kw = {"depth": 2} if functional else {}
    assert close(deepftle.ftle(model, x, 3, **kw), ref, torch.float64)
    assert close(deepftle.ftle(model, x, 3, method="reverse", **kw), ref, torch.float64)


# --- depth ------------------------------------------------------------------------------------


class Aux(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.aux = nn.Linear(4, 8), nn.Linear(8, 3), nn.Linear(4, 2)

    def forward(self, x):
        h = torch.tanh(self.a(x))
        self.last_aux = self.aux(x)  # called, not on the output's path
        return self.b(h)


class Shared(nn.Module):
    """One Linear called twice on the path, one side branch off it."""

    def __init__(self):
        super().__init__()
        self.a, self.side = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x):
        h = torch.tanh(self.a(x))
        self.side(h)
        return self.a(h)


@pytest.mark.parametrize("make, depth", [(Aux, 2), (Shared, 2)])
def test_depth_counts_the_weight_layers_on_the_output_path(make, depth):
    torch.manual_seed(10)
    m, x = make(), torch.randn(3, 4)
    assert close(deepftle.ftle(m, x, 2), reference(m, x, depth), torch.float32)


def test_depth_of_a_named_module_counts_its_own_path():
    torch.manual_seed(11)
    m, x = Aux(), torch.randn(3, 4)
    lam = deepftle.ftle(m, x, layers=["a", "b", "aux"])
    assert torch.allclose(lam[0], deepftle.ftle(m, x, layers=["a"], depth=1)[0])
    assert torch.allclose(lam[1], deepftle.ftle(m, x, layers=["b"], depth=2)[0])
    assert torch.allclose(lam[2], deepftle.ftle(m, x, layers=["aux"], depth=1)[0])


def test_a_module_that_does_not_run_is_a_value_error_naming_it():
    m = Aux()
    with pytest.raises(ValueError, match="module 'unused' does not run"):
        m.unused = nn.Linear(3, 3)
        deepftle.ftle(m, torch.randn(3, 4), layers=["unused"])


def test_a_compiled_model_is_its_eager_module():
    torch.manual_seed(12)
    seq = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    x = torch.randn(5, 4)
    compiled = torch.compile(seq, backend="eager")
    assert torch.equal(deepftle.ftle(compiled, x, 2), deepftle.ftle(seq, x, 2))
    assert close(
        deepftle.ftle(compiled, x, 2, method="reverse"), reference(seq, x, 2), torch.float32
    )


# --- the caller's tensors ---------------------------------------------------------------------


class Doubling(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)

    def forward(self, x):
        x.mul_(2)
        return self.a(torch.tanh(x))


class InPlaceReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)

    def forward(self, x):
        return self.a(torch.relu_(x))


@pytest.mark.parametrize("make", [Doubling, InPlaceReLU])
@pytest.mark.parametrize("method", ["auto", "forward", "reverse", "lanczos"])
def test_the_input_is_never_modified_and_in_place_use_of_it_is_differentiated(make, method):
    torch.manual_seed(13)
    m, x = make(), torch.randn(6, 4)
    before = x.clone()
    lam = deepftle.ftle(m, x, 3, method=method)
    assert torch.equal(x, before)
    m64 = copy.deepcopy(m).double()
    ref = with_cut(reference(lambda z: m64(z.clone()), x, 1), 1)
    assert close(lam, ref, torch.float32)


# --- minor: spectral_norm, (P, S, E) input ----------------------------------------------------


def test_old_style_spectral_norm_is_exact_and_left_usable():
    torch.manual_seed(14)
    m = nn.Sequential(nn.utils.spectral_norm(nn.Linear(4, 6)), nn.Tanh(), nn.Linear(6, 3)).eval()
    x = torch.randn(5, 4)
    lam = deepftle.ftle(m, x, 2, method="reverse")
    assert not torch._C._functorch.is_functorch_wrapped_tensor(m[0].weight)
    twin = copy.deepcopy(m)  # would fail on a torch.func wrapper
    assert close(lam, reference(twin, x, 2), torch.float32)


@pytest.mark.parametrize("style", ["hook", "parametrization"])
@pytest.mark.parametrize("method", ["auto", "fused", "reverse"])
def test_spectral_norm_in_training_mode_is_refused_on_every_path(style, method):
    norm = nn.utils.spectral_norm if style == "hook" else nn.utils.parametrizations.spectral_norm
    m = nn.Sequential(norm(nn.Linear(4, 6)), nn.Tanh(), nn.Linear(6, 3))
    with pytest.raises(ValueError, match="spectral_norm in training mode"):
        deepftle.ftle(m, torch.randn(5, 4), method=method)


def test_per_token_input_to_a_sequential_of_linear_layers():
    torch.manual_seed(15)
    seq = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    x = torch.randn(5, 7, 4)
    lam = deepftle.ftle(seq, x, 4)
    assert close(lam, reference(seq, x, 2), torch.float32)
    with pytest.raises(ValueError, match=r"points of shape \(P, d_in\)"):
        deepftle.ftle(seq, x, method="fused")


def test_the_exact_zero_gives_minus_inf_on_the_staged_forward_path():
    torch.manual_seed(16)
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4)).double()
    with torch.no_grad():
        seq[0].bias.copy_(torch.tensor([-100.0, -100.0, 100.0, 100.0]))  # two units dead
    x = torch.randn(3, 3, dtype=torch.float64)
    for method in ("auto", "forward", "reverse"):
        lam = deepftle.ftle(seq, x, 3, method=method)
        assert torch.isneginf(lam[:, 2]).all(), method
        assert torch.isfinite(lam[:, :2]).all(), method


def test_checks_cost_a_few_points_whatever_the_batch(monkeypatch):
    """The coupling and hidden-path checks run the model on SAMPLE_POINTS points only."""
    from deepftle.ftle import _probes as probes

    seen = []
    real = probes._sample

    def spy(x):
        out = real(x)
        seen.append(out.shape[0])
        return out

    monkeypatch.setattr(probes, "_sample", spy)
    torch.manual_seed(17)
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(72, 3)).eval()
    deepftle.ftle(m, torch.randn(500, 1, 8, 8))
    assert seen and max(seen) <= probes.SAMPLE_POINTS
    assert math.isfinite(probes.SAMPLE_POINTS)
