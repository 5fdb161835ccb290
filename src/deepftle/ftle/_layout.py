"""What a model is made of: its depth L, the maps to named modules, and its stages.

``L`` in :math:`\\lambda = L^{-1}\\log\\sigma` counts the weight layers on a point's path to
the output (calls of ``nn.Linear``, ``nn.Bilinear`` and convolutions whose output depends on
the input and which the output depends on: forward hooks and autograd's graph of one probe
point). Normalisation layers and elementwise activations do not count. A model with
parameters held by any other kind of module (``nn.MultiheadAttention``'s projections, a
custom module's own weights) or a plain function has no known layout: pass ``depth=``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

COUNTED = (
    nn.Linear,
    nn.Bilinear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
# modules whose own parameters do not make them a layer of the depth count
NOT_COUNTED = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.PReLU, nn.RMSNorm)


@dataclass(frozen=True)
class Target:
    """One map whose exponents are wanted: input -> ``fn(x)`` flattened, over ``depth`` layers."""

    name: str | None  # module name, or None for the model's output
    fn: Callable[[torch.Tensor], torch.Tensor]  # (P, *in_shape) -> (P, d_out)
    depth: int
    stages: list[Callable] | None = None  # consecutive pieces of fn (forward-mode renormalisation)
    chain: list | None = None  # fn as affine maps and activations (:mod:`._chain`), if it is one


def _unknown_owners(model: nn.Module) -> list[str]:
    """Modules holding parameters that neither count as a layer nor are known not to."""
    return [
        f"{name or '(model)'} ({type(m).__name__})"
        for name, m in model.named_modules()
        if any(True for _ in m.parameters(recurse=False))
        and not isinstance(m, COUNTED + NOT_COUNTED)
    ]


def _flat_output(y, P: int, what: str = "the model") -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        kind = type(y).__name__
        hint = (
            " (select one tensor, e.g. a wrapper returning out[0])"
            if isinstance(y, (tuple, list, dict))
            else ""
        )
        raise ValueError(f"{what} must return a tensor (P, *out_shape), got a {kind}{hint}")
    if y.dim() == 0 or y.shape[0] != P:
        raise ValueError(
            f"{what} maps {P} points to an output of shape {tuple(y.shape)}: "
            f"expected a leading batch axis of {P}"
        )
    return y.reshape(P, -1)


def on_copies(fn) -> Callable:
    """``fn`` called on a copy of its input: whatever it does to its input in place (``x.mul_``,
    ``torch.relu_(x)``), the caller's tensor and the engine's other passes do not see it."""

    def call(x):
        return fn(x.clone())

    return call


def _detached_call(model) -> Callable:
    """``model`` as a function of its input only: a module runs with its parameters detached
    (``torch.func.functional_call``), so that no autograd graph is built for the weights (3x
    faster VJPs of a small CNN); hooks on its submodules still fire. Either
    way the call gets a copy of its input (:func:`on_copies`)."""
    if not isinstance(model, nn.Module):
        return on_copies(model)
    state = {**{n: p.detach() for n, p in model.named_parameters()}, **dict(model.named_buffers())}

    def call(x):  # on a copy: the model may change its input in place
        return torch.func.functional_call(model, state, (x.clone(),))

    return call


def whole_model(model) -> Callable:
    call = _detached_call(model)

    def fn(x):
        return _flat_output(call(x), x.shape[0])

    return fn


def module_output(model: nn.Module, name: str, module: nn.Module) -> Callable:
    """x -> output of ``module`` when ``model`` runs on x (captured by a forward hook).

    The hook keeps a copy of the output (``clone``: differentiable, and under torch.func's
    transforms carrying the tangents of that moment), so that what the model does with the
    tensor afterwards (``ReLU(inplace=True)``, ``out += identity``) does not change the map."""

    call = _detached_call(model)

    def keep(captured, out):
        captured.append(out.clone() if isinstance(out, torch.Tensor) else out)

    def fn(x):
        captured = []
        handle = module.register_forward_hook(lambda m, args, out: keep(captured, out))
        try:
            call(x)
        finally:
            handle.remove()
        if len(captured) != 1:
            raise ValueError(
                f"module {name!r} ran {len(captured)} times in one forward pass: "
                f"the map to its output is not defined"
            )
        return _flat_output(captured[0], x.shape[0], f"module {name!r}")

    return fn


def hooked(module: nn.Module) -> bool:
    """Forward hooks (on the module or on every module) that may change what it computes."""
    from torch.nn.modules import module as base

    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or base._global_forward_hooks
        or base._global_forward_pre_hooks
    )


def reads_as(module: nn.Module, cls: type) -> bool:
    """``module`` computes what ``cls`` computes, so that a path may read it off its type and
    attributes: an instance of ``cls`` (or of a subclass) whose ``forward`` is ``cls.forward``
    (a subclass with its own ``forward`` computes something else), not replaced on the
    instance, and no forward hooks."""
    return (
        isinstance(module, cls)
        and type(module).forward is cls.forward
        and "forward" not in vars(module)
        and not hooked(module)
    )


def plain_sequential(module: nn.Module) -> bool:
    """An ``nn.Sequential`` whose map is the composition of its children: not a subclass with
    its own ``forward`` (a residual block written as a Sequential), no forward hooks."""
    return reads_as(module, nn.Sequential)


def _leaves(seq: nn.Sequential) -> list[nn.Module]:
    """The children of ``seq``, those of nested plain Sequentials opened (each leaf a stage)."""
    out = []
    for child in seq:
        out.extend(_leaves(child) if plain_sequential(child) else [child])
    return out


def _own_hooks(model: nn.Module) -> tuple[list, list] | None:
    """The forward pre-hooks and hooks of ``model`` itself, or None where the model's map is
    not its forward with them applied in order (hooks taking kwargs, global hooks)."""
    from torch.nn.modules import module as base

    if (
        model._forward_hooks_with_kwargs
        or model._forward_pre_hooks_with_kwargs
        or base._global_forward_hooks
        or base._global_forward_pre_hooks
    ):
        return None
    return list(model._forward_pre_hooks.values()), list(model._forward_hooks.values())


def run_stage(stage, h, origin):
    """One stage on ``h``; a stage that reads the model's input (``reads_origin``: the
    Sequential's forward hooks get it as their ``args``) gets ``origin`` too."""
    return stage(h, origin) if getattr(stage, "reads_origin", False) else stage(h)


def sequential_stages(model: nn.Module) -> tuple[list[Callable] | None, bool]:
    """The leaves of an ``nn.Sequential`` (nested plain Sequentials opened) as consecutive
    stages, and whether the stages hold the Sequential's own forward hooks: a pre-hook stage
    before the children, a hook stage after them (its ``args`` the model's input, taken as a
    constant: the caller checks the staged derivative against the model's). None for other
    models, a Sequential subclass with its own ``forward``, and hooks taking kwargs or global
    hooks.

    A first child that is an ``nn.Linear`` carries its weight as ``linear_weight``: its
    Jacobian is that weight at every point."""
    if (
        not (
            isinstance(model, nn.Sequential)
            and type(model).forward is nn.Sequential.forward
            and "forward" not in vars(model)
        )
        or len(model) == 0
    ):
        return None, False
    hooks = _own_hooks(model)
    if hooks is None:
        return None, False
    pre, post = hooks
    leaves = _leaves(model)
    stages = [_detached_call(child) for child in leaves]
    if pre:

        def before(h):
            for hook in pre:
                result = hook(model, (h,))
                if result is not None:
                    h = result[0] if isinstance(result, tuple) else result
            return h

        stages.insert(0, before)
    elif reads_as(leaves[0], nn.Linear):  # an affine first stage (see _generic._folded_jacobian)
        stages[0].linear_weight = leaves[0].weight.detach()
    if post:

        def after(h, origin):
            for hook in post:
                result = hook(model, (origin,), h)
                if result is not None:
                    h = result
            return h

        after.reads_origin = True
        stages.append(after)
    return (stages if len(stages) > 1 else None), bool(pre or post)


def eager_module(model):
    """The module a ``torch.compile``'d model wraps (the same map, run eagerly: its hooks
    fire, torch.func transforms it), else ``model``."""
    compiled = getattr(getattr(torch, "_dynamo", None), "eval_frame", None)
    wrapper = getattr(compiled, "OptimizedModule", None)
    return model._orig_mod if wrapper is not None and isinstance(model, wrapper) else model


def _reachable(node) -> set:
    """The autograd nodes that ``node`` (a ``grad_fn``) depends on, itself included."""
    seen, todo = set(), [node]
    while todo:
        n = todo.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        todo.extend(child for child, _ in n.next_functions)
    return seen


def count_layers(model, probe: torch.Tensor, names: list[str]) -> tuple[int | None, dict]:
    """Weight-layer calls on the path from the input to the output in one forward pass of
    ``probe`` and, for each named module, those on the path to its output: a call counts when
    its output depends on the input and the output depends on it (autograd's graph of the
    pass, the parameters detached). ``(None, {})`` when the layout is unknown. A named module
    that does not run is a ValueError. Where the output is not connected to the input (the
    differentiability check reports it later), every call counts."""
    model = eager_module(model)
    if not isinstance(model, nn.Module) or _unknown_owners(model):
        return None, {}
    modules = dict(model.named_modules())
    calls = []  # grad_fn of every weight-layer call's output (None: not from the input)
    ends = {}  # grad_fn of each named module's output

    def node(out):
        return out.grad_fn if isinstance(out, torch.Tensor) else None

    handles = [
        m.register_forward_hook(lambda m, a, out: calls.append(node(out)))
        for m in model.modules()
        if isinstance(m, COUNTED)
    ]
    for name in names:
        handles.append(
            modules[name].register_forward_hook(
                lambda m, a, out, name=name: ends.__setitem__(name, node(out))
            )
        )
    try:
        with torch.enable_grad():
            out = _detached_call(model)(probe.detach().clone().requires_grad_(True))
    finally:
        for h in handles:
            h.remove()
    missing = [n for n in names if n not in ends]
    if missing:
        raise ValueError(
            f"module {missing[0]!r} does not run when the model runs on x: there "
            f"is no map from the input to its output"
        )

    def on_path(end) -> int:
        if end is None:
            return len(calls)
        reach = _reachable(end)
        return sum(c is not None and c in reach for c in calls)

    return on_path(node(out)), {n: on_path(ends[n]) for n in names}


def unknown_layout_message(model) -> str:
    if not isinstance(model, nn.Module):
        return f"a plain callable ({getattr(model, '__name__', type(model).__name__)})"
    owners = _unknown_owners(model)
    return "parameters held by " + ", ".join(owners[:3]) + (" ..." if len(owners) > 3 else "")


def squeeze_result(lam, vecs, *, single: bool, per_layer: bool, return_directions: bool):
    """The public result from the ``(depths, P, ...)`` arrays of either path: a single ``k``
    drops the exponent axis (``single``), ``layers=None`` drops the depth axis."""
    if single:
        lam = lam[:, 0]
        vecs = None if vecs is None else vecs[:, 0]
    if not per_layer:
        lam = lam[0]
        vecs = None if vecs is None else vecs[0]
    return (lam, vecs) if return_directions else lam
