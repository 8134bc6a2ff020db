"""medseg_edu.weights: the one owner of the bundled networks and of checkpoints (recipes, files, sidecars, loading).

Training a bundled recipe is :func:`medseg_edu.train.train_bundled` (tested here, beside the files it
writes); ``fit(..., checkpoint=)`` saving through ``save_checkpoint`` is tested in tests/test_train.py."""

import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from medseg_edu import nets, train, weights
from medseg_edu.weights import WeightsFileError, load_checkpoint, save_checkpoint

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
    with pytest.raises(ValueError, match="version must be one of"):
        weights.load("unet", version=6)


@pytest.mark.parametrize("version, bank", [(3, "synth bank v3"), (4, "canal_at_apex"), (5, "random new tissue grey")])
def test_versions_3_to_5_are_u_net_candidates_and_say_why_they_are_not_the_default(version, bank):
    v2, candidate = weights.load("unet"), weights.load("unet", version=version)
    assert type(candidate) is type(v2)
    assert not torch.equal(v2.state_dict()["head.weight"], candidate.state_dict()["head.weight"])
    meta = weights.metadata("unet", version=version)
    assert meta["version"] == version and meta["with_v1"] and meta["lr_decay"] == "cosine"
    assert bank in meta["data"] and "real scans" in meta["not_default_because"]
    for name in ("fcn", "dilated", "patch_cnn"):
        with pytest.raises(FileNotFoundError, match="single U-Net candidate"):
            weights.load(name, version=version)


def test_version_4_keeps_two_more_seeds_of_its_recipe():
    members = weights.load_members("unet", version=4)
    assert len(members) == 3 and all(not m.training for m in members)
    heads = [m.state_dict()["head.weight"] for m in members]
    assert torch.equal(heads[0], weights.load("unet", version=4).state_dict()["head.weight"])  # its own comes first
    assert not torch.equal(heads[0], heads[1]) and not torch.equal(heads[1], heads[2])
    folder = weights.weights_dir() / weights.V4
    assert [meta["seed"] for meta in weights.member_metadata("unet", version=4)] == [0, 1, 2]
    for stem in ("unet_seed1", "unet_seed2"):   # the same recipe, only the seed differs
        meta = json.loads((folder / f"{stem}.json").read_text())
        assert {k: meta[k] for k in ("data", "steps", "lr", "kwargs")} == {
            k: weights.metadata("unet", version=4)[k] for k in ("data", "steps", "lr", "kwargs")}


def test_members_come_in_seed_order_not_name_order(bundled, tmp_path, monkeypatch):
    copy = tmp_path / weights.V4
    shutil.copytree(bundled / weights.V4, copy)
    for suffix in (".pt", ".json"):  # a tenth seed: "unet_seed10" sorts before "unet_seed2" as text
        shutil.copy(copy / f"unet_seed2{suffix}", copy / f"unet_seed10{suffix}")
    sidecar = copy / "unet_seed10.json"
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "seed": 10}))
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(tmp_path))
    assert [meta["seed"] for meta in weights.member_metadata("unet", version=4)] == [0, 1, 2, 10]
    assert len(weights.load_members("unet", version=4)) == 4


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_version_without_members_says_which_has_them(version):
    with pytest.raises(ValueError, match=r"keeps no other seed.*versions with members: \[4, 5\]"):
        weights.load_members("unet", version=version)
    with pytest.raises(ValueError, match="keeps no other seed"):
        weights.member_metadata("unet", version=version)


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
    for call in (weights.load, weights.metadata, weights.files, train.train_bundled):
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
    with pytest.raises(ValueError, match=r"holds weights for FCN\(.*\), but the model is UNet\("):
        weights.load("unet")
    (tmp_path / "unet.json").write_text(json.dumps(dict(meta, kwargs=dict(meta["kwargs"], width=8))))
    with pytest.raises(ValueError, match="width"):  # the weights' sizes are checked as they load
        weights.load("unet")


def _copy_bundled(name, folder, change_sidecar=None):
    """``folder/<name>.pt`` and ``.json``: the bundled pair, the sidecar's fields changed by ``change_sidecar``."""
    folder.mkdir(parents=True, exist_ok=True)
    source = weights.weights_dir()
    shutil.copy(source / f"{name}.pt", folder / f"{name}.pt")
    meta = json.loads((source / f"{name}.json").read_text())
    (folder / f"{name}.json").write_text(json.dumps(dict(meta, **(change_sidecar or {}))))
    return folder / f"{name}.pt", meta


def test_load_and_load_checkpoint_share_one_architecture_check(bundled, tmp_path, monkeypatch):
    path, meta = _copy_bundled("unet", tmp_path, dict(architecture="FCN"))
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(tmp_path))
    with pytest.raises(ValueError) as by_name:
        weights.load("unet")
    with pytest.raises(ValueError) as by_path:
        load_checkpoint(nets.UNet(**meta["kwargs"]), path)
    assert str(by_name.value) == str(by_path.value)
    assert str(path) in str(by_name.value) and "FCN(" in str(by_name.value) and "make pretrained" in str(by_name.value)


def test_load_checkpoint_reads_the_sidecar_as_load_does(bundled, tmp_path, monkeypatch):
    path, _ = _copy_bundled("unet", tmp_path)
    sidecar = path.with_suffix(".json")
    sidecar.write_bytes(sidecar.read_bytes()[: 40])  # cut short
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsFileError) as by_name:
        weights.load("unet")
    with pytest.raises(WeightsFileError) as by_path:
        load_checkpoint(nets.UNet(), path)
    assert str(by_name.value) == str(by_path.value)
    assert str(sidecar) in str(by_path.value) and "is not valid JSON" in str(by_path.value)


def test_load_checkpoint_refuses_damaged_weights_as_load_does(bundled, tmp_path):
    path, meta = _copy_bundled("unet", tmp_path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(WeightsFileError, match="is cut short") as info:
        load_checkpoint(nets.UNet(**meta["kwargs"]), path)
    assert str(path) in str(info.value) and "weights_only" not in str(info.value)


def test_a_checkpoint_of_ones_own_loads_like_a_bundled_one(tmp_path):
    model = nets.FCN(width=4, depth=2)
    path = save_checkpoint(model, tmp_path / "mine.pt", note="mine")
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["architecture"] == "FCN" and sidecar["kwargs"]["width"] == 4 and sidecar["note"] == "mine"
    fresh = nets.FCN(width=4, depth=2)
    assert load_checkpoint(fresh, path)["note"] == "mine"
    for a, b in zip(fresh.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="sidecar"):
        save_checkpoint(model, tmp_path / "mine.json")


def test_weights_never_imports_train():
    """train imports weights (to save checkpoints), never the other way round: no cycle."""
    import ast

    imported = []  # every dotted name an import statement mentions, at any depth of the module
    for node in ast.walk(ast.parse(Path(weights.__file__).read_text())):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported += [f"{node.module or ''}.{alias.name}" for alias in node.names]
    assert imported and not [name for name in imported if "train" in name.split(".")], imported
    assert not hasattr(weights, "train")  # training a recipe lives in train.train_bundled
    assert not any(hasattr(train, name) for name in ("save_checkpoint", "load_checkpoint"))  # no aliases


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
    meta = train.train_bundled("fcn", steps=2, out=out)
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


def test_the_retraining_time_is_stated_once_and_matches_the_measured_runs_and_the_readme():
    """The time quoted is the slower measured run, rounded up; the bundled sidecars' training time (bank v2,
    12-02) is below every run of today, which renders the bigger bank v3 and trains longer on it."""
    runs = json.loads((ROOT / "benchmarks" / "make_pretrained_runs.json").read_text())["runs"]
    walls = [run["wall_minutes"] for run in runs]
    assert weights.RETRAIN_MINUTES == math.ceil(max(walls))
    for run in runs:
        parts = run["bank_minutes"] + run["training_minutes"] + run["evaluation_minutes"]
        assert abs(parts - run["wall_minutes"]) <= 1.0, run["date"]
    seconds = sum(weights.metadata(name)["seconds"] for name in weights.NAMES)
    assert seconds / 60 < min(run["training_minutes"] for run in runs)
    readme = (ROOT / "README.md").read_text()
    assert f"about {weights.RETRAIN_MINUTES} min on 2 CPU cores" in readme
    guide = (ROOT / "docs" / "instructor_guide.md").read_text()
    guide = " ".join(guide.split())   # the sentence may wrap anywhere
    assert "`make pretrained` does not re-create them" in guide
    assert f"({min(walls)}–{weights.RETRAIN_MINUTES} min on a 2-core CPU" in guide
    assert ", ".join(str(round(w)) for w in walls[:-1]) + f" and {round(walls[-1])} min" in readme
    with pytest.raises(FileNotFoundError, match=f"about {weights.RETRAIN_MINUTES} min"):
        weights.metadata("unet", ROOT / "no-such-folder")
