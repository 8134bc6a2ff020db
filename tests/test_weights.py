"""medseg_edu.weights: the one owner of the bundled networks (recipes, files, sidecars, loading)."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from medseg_edu import nets, weights
from medseg_edu.train import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
#: the sidecar entries the bundled data/weights/*.json carry (and TRAINING.md is written from)
RECORD = ("architecture", "kwargs", "torch", "settings", "val_dice", "name", "recipe", "steps", "batch_size",
          "lr", "augmentation", "data", "seconds", "parameters", "machine", "date")


@pytest.fixture
def bundled(monkeypatch):
    monkeypatch.delenv("MEDSEG_EDU_WEIGHTS", raising=False)
    return weights.weights_dir()


def test_recipes_cover_the_names_and_build_their_networks():
    assert weights.NAMES == ("patch_cnn", "fcn", "unet", "dilated")
    assert set(weights.RECIPES) == set(weights.NAMES)
    for name, recipe in weights.RECIPES.items():
        assert recipe.architecture in weights.ARCHITECTURES.values(), name
        assert weights.ARCHITECTURES[recipe.architecture.__name__] is recipe.architecture
        assert recipe.data in ("synth", "synth_patches") and recipe.steps > 0 and recipe.batch_size > 0
        assert isinstance(recipe.architecture(**recipe.kwargs), torch.nn.Module)
    assert weights.RECIPES["patch_cnn"].data == "synth_patches"


def test_the_v1_weights_are_kept_beside_the_bundled_ones():
    v1, v2 = weights.load("unet", version=1), weights.load("unet")
    assert type(v1) is type(v2)
    assert (weights.weights_dir() / weights.V1 / "unet.pt").is_file()
    with pytest.raises(ValueError, match="version"):
        weights.load("unet", version=3)


def test_weights_dir_honours_the_environment(bundled, tmp_path, monkeypatch):
    assert bundled == ROOT / "data" / "weights"
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(tmp_path))
    assert weights.weights_dir() == tmp_path
    assert weights.files("unet") == (tmp_path / "unet.pt", tmp_path / "unet.json")


def test_load_gives_a_fresh_model_every_call(bundled):
    first, second = weights.load("unet"), weights.load("unet")
    assert first is not second and not first.training and not second.training
    assert next(first.parameters()).device.type == "cpu"
    before = second.head.weight.detach().clone()
    with torch.no_grad():
        first.head.weight.add_(1.0)  # train or edit one ...
    first.train()
    assert torch.equal(second.head.weight, before) and not second.training  # ... the other is untouched
    assert torch.equal(weights.load("unet").head.weight, before)
    assert next(weights.load("fcn", device="cpu").parameters()).device.type == "cpu"


@pytest.mark.parametrize("name", weights.NAMES)
def test_sidecar_round_trip(bundled, name):
    path, sidecar = weights.files(name)
    meta = weights.metadata(name)
    assert meta == json.loads(sidecar.read_text())
    for key in RECORD:
        assert key in meta, key
    assert meta["name"] == name and meta["architecture"] == weights.RECIPES[name].architecture.__name__
    assert path.stat().st_size <= 5 * 2**20
    model = weights.load(name)
    assert type(model) is weights.RECIPES[name].architecture and not model.training
    assert model.hparams == {**model.hparams, **meta["kwargs"]}
    assert nets.count_parameters(model) == meta["parameters"]
    # the weights re-load into a network built by hand from the sidecar
    fresh = weights.ARCHITECTURES[meta["architecture"]](**meta["kwargs"])
    load_checkpoint(fresh, path)
    for a, b in zip(fresh.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)


def test_unknown_names_and_missing_files_are_clear(bundled, tmp_path, monkeypatch):
    for call in (weights.load, weights.metadata, weights.files, weights.train):
        with pytest.raises(ValueError, match="unknown network 'resnet'"):
            call("resnet")
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make pretrained") as info:
        weights.load("unet")
    assert str(tmp_path / "unet.pt") in str(info.value) and "MEDSEG_EDU_WEIGHTS" in str(info.value)
    shutil.copy(bundled / "unet.pt", tmp_path / "unet.pt")  # weights without their sidecar: just as missing
    with pytest.raises(FileNotFoundError, match="make pretrained"):
        weights.load("unet")
    meta = json.loads((bundled / "unet.json").read_text())
    (tmp_path / "unet.json").write_text(json.dumps(dict(meta, architecture="FCN")))
    with pytest.raises(ValueError, match="'FCN' network, but 'unet' is a UNet"):
        weights.load("unet")
    (tmp_path / "unet.json").write_text(json.dumps(dict(meta, kwargs=dict(meta["kwargs"], width=8))))
    with pytest.raises(ValueError, match="width"):  # train.load_checkpoint refuses the wrong sizes
        weights.load("unet")


def test_training_writes_the_weights_and_the_sidecar_once(bundled, tmp_path, monkeypatch):
    out = tmp_path / "w"
    written = []
    real_write_text = Path.write_text

    def spy(self, *args, **kwargs):
        if self.suffix == ".json":
            written.append(self)
        return real_write_text(self, *args, **kwargs)

    from medseg_edu.data import synth

    # a two-scene bank stands in for the recipe's bank (built in seconds, cached by its size)
    monkeypatch.setattr(synth, "BANKS", {k: (first, 2, n_random, *rest)
                                         for k, (first, _, n_random, *rest) in synth.BANKS.items()})
    monkeypatch.setattr(Path, "write_text", spy)
    meta = weights.train("fcn", steps=2, out=out)
    assert written == [out / "fcn.json"]
    assert (out / "fcn.pt").is_file() and meta == json.loads((out / "fcn.json").read_text())
    assert set(meta) == set(weights.metadata("fcn", bundled))  # the same keys as the bundled sidecars
    assert meta["steps"] == meta["settings"]["steps"] == 2 and meta["name"] == "fcn"
    assert meta["recipe"] == weights.RECIPES["fcn"].kwargs and meta["augmentation"] == "randomise_batch"
    assert 0 <= meta["val_dice"] <= 1 and meta["seconds"] >= 0
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(out))
    model = weights.load("fcn")
    assert isinstance(model, nets.FCN) and not model.training
    assert nets.count_parameters(model) == meta["parameters"]


def test_the_retraining_time_is_stated_once_and_matches_the_sidecars_and_the_readme():
    seconds = sum(weights.metadata(name)["seconds"] for name in weights.NAMES)
    assert abs(seconds / 60 + 2.5 - weights.RETRAIN_MINUTES) < 1.5
    assert f"about {weights.RETRAIN_MINUTES} min on 2 CPU cores" in (ROOT / "README.md").read_text()
    with pytest.raises(FileNotFoundError, match=f"about {weights.RETRAIN_MINUTES} min"):
        weights.metadata("unet", ROOT / "no-such-folder")
