"""Figure 4's typed settings: built once from their config sections, every key checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deepftle.images.settings import AttackConfig, BottleneckSettings, TsneSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("config", ["config.yaml", "tests/config/test_mnist.yaml"])
def test_every_config_section_becomes_its_settings(config):
    mnist = yaml.safe_load((ROOT / config).read_text())["mnist"]
    attack = AttackConfig.from_config(mnist["adversarial"])
    assert attack.paths.targets == tuple(mnist["adversarial"]["paths"]["targets"])
    assert attack.source_class == mnist["adversarial"]["source_class"]
    tsne = TsneSettings.from_config(mnist["tsne"])
    assert tsne.fit_settings()["perplexity"] == mnist["tsne"]["perplexity"]
    assert "transform_iter" not in tsne.fit_settings()
    assert (
        BottleneckSettings.from_config(mnist["bottleneck"]).epochs == mnist["bottleneck"]["epochs"]
    )


def test_an_unknown_or_missing_key_is_named():
    mnist = yaml.safe_load((ROOT / "config.yaml").read_text())["mnist"]
    with pytest.raises(ValueError, match=r"mnist.bottleneck: unknown key\(s\) \['lr2'\]"):
        BottleneckSettings.from_config(dict(mnist["bottleneck"], lr2=1))
    paths = dict(mnist["adversarial"]["paths"])
    del paths["starts"]
    with pytest.raises(
        ValueError, match=r"mnist.adversarial.paths: .*missing key\(s\) \['starts'\]"
    ):
        AttackConfig.from_config(dict(mnist["adversarial"], paths=paths))
    with pytest.raises(ValueError, match="embed must be pixels or hidden"):
        TsneSettings.from_config(dict(mnist["tsne"], embed="umap"))
