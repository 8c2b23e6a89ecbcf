"""The proxy config: the paper's hyperparameters as defaults, locked fields, clear errors."""

import pytest

from jaxproxy.configs import proxy as proxy_config


@pytest.mark.parametrize("encoder", proxy_config.ENCODERS)
@pytest.mark.parametrize("synth", sorted(proxy_config.PAPER_SYNTH))
def test_every_synth_and_encoder_has_paper_hyperparameters(synth, encoder):
    config = proxy_config.get_config(f"synth={synth},encoder={encoder}")
    lr, b1, b2, eps = proxy_config.PAPER_HPARAMS[(proxy_config.PAPER_SYNTH[synth], encoder)]
    assert (config.lr, config.b1, config.b2, config.eps) == (lr, b1, b2, eps)
    assert config.batch_size == (256 if encoder == "tfm" else 512)
    assert config.weight_decay == 0.0 and config.num_epochs == 30
    assert config.schedule.constant_steps == 7_500 and config.schedule.min_lr == 2e-6


def test_facts_table_spot_checks():
    dexed_tfm = proxy_config.get_config("synth=dexed,encoder=tfm")
    assert (dexed_tfm.lr, dexed_tfm.b1, dexed_tfm.b2, dexed_tfm.eps) == (1e-3, 0.91, 0.987, 2e-8)
    diva_mlp = proxy_config.get_config("synth=diva,encoder=mlp_oh")
    assert (diva_mlp.lr, diva_mlp.eps) == (1.4e-2, 2e-8)


def test_locked_and_bad_arguments():
    config = proxy_config.get_config("encoder=hn_pt,smoke")
    assert config.num_train_steps > 0 and config.encoder_kwargs.d_token == 8
    with pytest.raises(AttributeError):
        config.learning_rate = 1.0  # a typo must not silently add a field
    with pytest.raises(ValueError, match="unknown argument 'synt'"):
        proxy_config.get_config("synt=dx7")
    with pytest.raises(ValueError, match="encoder must be one of"):
        proxy_config.get_config("encoder=cnn")


def test_default_audio_model_is_mn04_when_its_weights_are_cached(tmp_path, monkeypatch, caplog):
    from data_gen.audio import efficientat_cache

    monkeypatch.setenv(efficientat_cache.CACHE_ENV, str(tmp_path))
    with caplog.at_level("WARNING"):
        assert proxy_config.get_config("synth=dexed").audio_model == "mel128"
    assert "audio model: mel128 (the paper's mn04 needs its official weights" in caplog.text
    cached = tmp_path / "efficientat" / efficientat_cache.CHECKPOINT_FILES["mn04_as"]
    cached.parent.mkdir()
    cached.write_bytes(b"weights")
    config = proxy_config.get_config("synth=dexed")
    assert config.audio_model == "mn04" and config.train_data == "data/dexed_mn04_train"
    assert proxy_config.get_config("audio_model=mel128").audio_model == "mel128"


def test_paper_era_diva_is_the_released_data_variant():
    config = proxy_config.get_config("synth=diva@paper_era,encoder=hn_oh,audio_model=mn04")
    assert config.synth == "diva@paper_era" and config.lr == 4e-3
