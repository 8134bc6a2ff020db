"""The pure parts of `make classroom` (tools/classroom.py): no hub is started, no network.

The hub itself is exercised by `make classroom-smoke` / `make classroom`.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    pytest.importorskip("psutil")
    pytest.importorskip("requests")
    pytest.importorskip("websocket")
    spec = importlib.util.spec_from_file_location("classroom_tool", ROOT / "tools" / "classroom.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def classroom():
    return load_tool()


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("10.0.0.1", False),
    ("example.org", False), ("", False),
])
def test_loopback_check(classroom, host, expected):
    assert classroom.is_loopback(host) is expected


def test_require_loopback_refuses_other_addresses(classroom):
    assert classroom.require_loopback("http://127.0.0.1:8000/hub/") == "http://127.0.0.1:8000/hub/"
    assert classroom.require_loopback("ws://[::1]:9/user/a/api/kernels/x/channels")
    for url in ("http://0.0.0.0:8000/", "http://10.1.2.3/", "ws://hub.example.org/user/a"):
        with pytest.raises(ValueError, match="non-loopback"):
            classroom.require_loopback(url)


def render(classroom, **overrides):
    values = dict(proxy_port=8001, hub_port=8002, proxy_api_port=8003, run_dir=Path("/tmp/run dir"),
                  home_root=Path("/tmp/homes"), singleuser_command=Path("/venv/bin/jupyterhub-singleuser"),
                  proxy_command=Path("/node/configurable-http-proxy"),
                  learner_environment={"OMP_NUM_THREADS": "2"})
    values.update(overrides)
    return classroom.render_hub_config(classroom.TEMPLATE.read_text(), **values)


def test_config_is_valid_python_bound_to_loopback(classroom):
    text = render(classroom)
    ast.parse(text)
    assert "$" not in text, "every placeholder is filled"
    assert 'c.JupyterHub.bind_url = "http://127.0.0.1:8001/"' in text
    assert 'c.JupyterHub.hub_ip = "127.0.0.1"' in text
    assert "c.JupyterHub.hub_port = 8002" in text
    assert 'c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8003"' in text
    assert 'c.Spawner.ip = "127.0.0.1"' in text
    assert "c.Spawner.environment = {'OMP_NUM_THREADS': '2'}" in text
    assert "'/tmp/run dir' + \"/jupyterhub.sqlite\"" in text  # paths are quoted literals


def test_config_loads_in_a_traitlets_config(classroom, monkeypatch):
    """Run the rendered file as JupyterHub would: every setting lands where it should."""
    traitlets = pytest.importorskip("traitlets.config")
    monkeypatch.setenv("CLASSROOM_DRIVER_TOKEN", "not-a-secret")
    config = traitlets.Config()
    exec(compile(render(classroom), "jupyterhub_config.py", "exec"), {"get_config": lambda: config})
    assert config.JupyterHub.authenticator_class == "dummy"
    assert config.JupyterHub.spawner_class == "simple"
    assert config.SimpleLocalProcessSpawner.home_dir_template == "/tmp/homes/{username}"
    assert config.Spawner.cmd == ["/venv/bin/jupyterhub-singleuser"]
    assert config.ConfigurableHTTPProxy.command == ["/node/configurable-http-proxy"]
    assert config.JupyterHub.services[0]["api_token"] == "not-a-secret"
    for url in (config.JupyterHub.bind_url, config.ConfigurableHTTPProxy.api_url):
        classroom.require_loopback(url)


@pytest.mark.parametrize("port", [0, 70000, "8000", None])
def test_config_rejects_bad_ports(classroom, port):
    with pytest.raises(ValueError, match="port"):
        render(classroom, hub_port=port)


def learner(name, ok=True, seconds=None, peak=800.0, cpu=40.0, errors=()):
    seconds = seconds if seconds is not None else {"00_start_here.ipynb": 10.0, "06_unet.ipynb": 50.0}
    return {"name": name, "ok": ok, "seconds": seconds, "total_seconds": sum(seconds.values()) + 5,
            "peak_mb": peak, "cpu_seconds": cpu, "errors": list(errors)}


def make_report(classroom, learners):
    return {"notebooks": ["00_start_here.ipynb", "06_unet.ipynb"], "learners": learners,
            "hub": {"peak_mb": 180.0, "cpu_seconds": 12.5}, "summary": classroom.summarise(learners)}


def test_summary_names_the_slowest_learner_and_failures(classroom):
    learners = [learner("learner1"), learner("learner2", seconds={"00_start_here.ipynb": 30.0}),
                learner("learner3", ok=False, seconds={"00_start_here.ipynb": 99.0}, peak=950.0,
                        errors=["RuntimeError: 06_unet.ipynb cell 4: MemoryError"])]
    summary = classroom.summarise(learners)
    assert summary["learners_ok"] == 2 and summary["learners"] == 3
    assert summary["slowest_learner"] == "learner3" and summary["slowest_seconds"] == 104.0
    assert summary["max_peak_mb"] == 950.0
    assert summary["failures"] == ["learner3: RuntimeError: 06_unet.ipynb cell 4: MemoryError"]


def test_table_has_a_row_per_learner_and_the_summary(classroom):
    learners = [learner("learner1"), learner("learner2", ok=False, seconds={"00_start_here.ipynb": 12.0},
                                             errors=["RuntimeError: no reply within 300 s"])]
    table = classroom.format_table(make_report(classroom, learners))
    lines = table.splitlines()
    assert lines[0].split() == ["learner", "ok", "00", "(s)", "06", "(s)", "total", "(s)", "peak", "MB", "CPU", "s"]
    assert lines[2].split() == ["learner1", "yes", "10.0", "50.0", "65.0", "800", "40.0"]
    assert lines[3].split() == ["learner2", "NO", "12.0", "-", "17.0", "800", "40.0"]
    assert len({len(line) for line in lines[:4]}) == 1, "columns are aligned"
    assert "learners ok: 1/2" in table
    assert "slowest learner: learner1 (65.0 s" in table
    assert "hub + proxy: peak 180 MB" in table
    assert "  learner2: RuntimeError: no reply within 300 s" in table


def test_table_without_failures(classroom):
    table = classroom.format_table(make_report(classroom, [learner("learner1")]))
    assert table.rstrip().endswith("failures: none")


def test_notebook_selection(classroom, tmp_path):
    for name in ("00_start_here.ipynb", "01_thresholding.ipynb", "06_unet.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in classroom.notebook_paths(["06", "00"], tmp_path)] == ["06_unet.ipynb",
                                                                                 "00_start_here.ipynb"]
    with pytest.raises(ValueError, match="07"):
        classroom.notebook_paths(["07"], tmp_path)


def test_default_notebooks_exist(classroom):
    assert [p.name[:2] for p in classroom.notebook_paths(classroom.DEFAULT_NOTEBOOKS)] == ["00", "01", "06"]


def test_run_is_bounded(classroom):
    assert classroom.TIME_LIMIT_S <= 20 * 60
    assert 0 < classroom.REQUEST_TIMEOUT_S <= 60
    assert classroom.CELL_TIMEOUT_S < classroom.TIME_LIMIT_S


def test_z2jh_values_use_the_charts_keys_and_open_notebook_00():
    """deploy/z2jh-values.yaml: keys of the Zero to JupyterHub chart, sizes set, nbgitpuller to 00."""
    from urllib.parse import parse_qs, unquote

    import yaml

    values = yaml.safe_load((ROOT / "deploy" / "z2jh-values.yaml").read_text())
    assert set(values) <= {"hub", "proxy", "singleuser", "cull", "prePuller", "scheduling", "ingress"}
    single = values["singleuser"]
    assert set(single) <= {"image", "memory", "cpu", "extraEnv", "storage", "startTimeout", "defaultUrl",
                           "lifecycleHooks", "profileList"}
    assert set(single["image"]) <= {"name", "tag", "pullPolicy"}
    assert set(single["memory"]) == set(single["cpu"]) == {"guarantee", "limit"}
    assert single["extraEnv"]["OMP_NUM_THREADS"] == str(single["cpu"]["limit"])
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    url = single["defaultUrl"]
    assert url.startswith("/git-pull?")
    query = parse_qs(url.split("?", 1)[1])
    opened = unquote(query["urlpath"][0])
    assert opened.endswith("notebooks/00_start_here.ipynb")
    assert (ROOT / "notebooks" / "00_start_here.ipynb").exists()
