"""Typed, frozen settings of Figure 4's stages, each built once from its config section
(``mnist.bottleneck``, ``mnist.tsne``, ``mnist.adversarial``) by :meth:`from_config`, where an
unknown or missing key is an error naming it; the stages take them as they are."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["BottleneckSettings", "TsneSettings", "PathsSettings", "AttackConfig"]


def _from_config(cls, section: str, config: dict, **nested):
    """``cls(**config)`` with every key checked against the dataclass's fields; ``nested``:
    field name -> settings class of a sub-section."""
    if not isinstance(config, dict):
        raise TypeError(f"{section} must be a mapping, got {config!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - set(fields))
    missing = sorted(
        name
        for name, f in fields.items()
        if name not in config
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )
    if unknown or missing:
        raise ValueError(f"{section}: unknown key(s) {unknown}, missing key(s) {missing}")
    values = dict(config)
    for name, sub in nested.items():
        values[name] = sub.from_config(values[name], section=f"{section}.{name}")
    return cls(**values)


@dataclass(frozen=True)
class BottleneckSettings:
    """The bottleneck map of Fig. 4(a): two neurons before the softmax layer, retrained with
    the output layer (``mnist.bottleneck``)."""

    epochs: int
    lr: float
    batch_size: int
    seed: int

    @classmethod
    def from_config(cls, config: dict, section: str = "mnist.bottleneck"):
        return _from_config(cls, section, config)


@dataclass(frozen=True)
class TsneSettings:
    """The openTSNE map (``mnist.tsne``): what it embeds (``pixels`` or ``hidden``) and the
    openTSNE settings; ``transform_iter`` places the attack path's images."""

    embed: str
    perplexity: float
    pca: bool
    n_jobs: int
    seed: int
    n_iter: int
    early_exaggeration_iter: int
    transform_iter: int

    def __post_init__(self):
        if self.embed not in ("pixels", "hidden"):
            raise ValueError(f"mnist.tsne.embed must be pixels or hidden, got {self.embed!r}")

    @classmethod
    def from_config(cls, config: dict, section: str = "mnist.tsne"):
        return _from_config(cls, section, config)

    def fit_settings(self) -> dict:
        """The keyword arguments of :func:`deepftle.images.tsne.fit_tsne`."""
        return dict(
            perplexity=self.perplexity,
            pca=self.pca,
            n_jobs=self.n_jobs,
            seed=self.seed,
            n_iter=self.n_iter,
            early_exaggeration_iter=self.early_exaggeration_iter,
        )


@dataclass(frozen=True)
class PathsSettings:
    """The attack repeated from many starts (``mnist.adversarial.paths``)."""

    starts: int
    targets: tuple
    n_random: int

    @classmethod
    def from_config(cls, config: dict, section: str = "mnist.adversarial.paths"):
        s = _from_config(cls, section, config)
        return dataclasses.replace(s, targets=tuple(int(t) for t in s.targets))


@dataclass(frozen=True)
class AttackConfig:
    """The targeted attack of Fig. 4(a) and its repetitions (``mnist.adversarial``)."""

    source_class: int
    target_class: int
    start_index: int | None
    min_start_prob: float
    candidates: int
    method: str
    step: float
    eps: float | None
    stop_prob: float
    max_steps: int
    n_random: int
    max_detour: float
    paths: PathsSettings

    @classmethod
    def from_config(cls, config: dict, section: str = "mnist.adversarial"):
        return _from_config(cls, section, config, paths=PathsSettings)
