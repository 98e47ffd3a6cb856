"""The deploy files: valid Kubernetes objects, consistent with each other, with the project's own
config loader, CLI, rule files and dashboards, and accepted by the real promtool and amtool."""

from __future__ import annotations

import copy
import fnmatch
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from alerts.model import build_model
from alerts.render import render_rules
from deploy import render as deploy_render
from smote_monitor import conventions
from smote_monitor.config import CONFIG_ENV, resolve_settings
from smote_monitor.server.service import parse_listen
from tests.deploy.conftest import (
    KUBERNETES,
    PROMETHEUS_CONFIG,
    ROOT,
    load_objects,
    manifest_files,
    one,
    tool,
)
from tests.monitor.cli_helpers import run_cli

# The newest Kubernetes whose schemas kubernetes-validate ships, and 1.29: the first release
# with native sidecars (restartPolicy: Always on an init container) on by default.
KUBERNETES_VERSIONS = [kubernetes_validate.latest_version(), "1.29"]
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
APP_KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
MONITORING_KUSTOMIZATION = KUBERNETES / "monitoring" / "kustomization.yaml"
NOT_IN_A_KUSTOMIZATION = {
    KUBERNETES / "db-upgrade-job.yaml",  # created once per upgrade
    KUBERNETES / "monitoring" / "prometheus-rules-configmap.yaml",  # Prometheus without operator
}
SIDECAR = "smote-monitor"


def _objects() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.relative_to(KUBERNETES)}:{obj['kind']}/{obj['metadata'].get('name') or ''}", obj)
        for path in manifest_files()
        for obj in load_objects(path)
    ]


def _core_objects() -> list[tuple[str, dict[str, Any]]]:
    return [(name, obj) for name, obj in _objects() if obj["kind"] not in CRD_KINDS]


def _deployment() -> dict[str, Any]:
    return one("Deployment", "fraud-model")


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def _sidecar() -> dict[str, Any]:
    (sidecar,) = [c for c in _pod(_deployment()).get("initContainers", []) if c["name"] == SIDECAR]
    return sidecar


def _port(container: dict[str, Any], name: str) -> int:
    (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return int(port)


def _secret_data() -> dict[str, str]:
    data: dict[str, str] = one("Secret", "smote-monitor")["stringData"]
    return data


def _env(container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet makes it: values, and keys of our Secret."""
    secrets = {"smote-monitor": _secret_data()}
    env = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def _mounted_files(pod: dict[str, Any], container: dict[str, Any], root: Path) -> dict[str, Path]:
    """Write the ConfigMaps the container mounts under ``root``; mount path → directory."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" not in volume:
            continue
        directory = root / mount["name"]
        directory.mkdir()
        configmap = one("ConfigMap", volume["configMap"]["name"])
        for key, text in configmap["data"].items():
            (directory / key).write_text(text, encoding="utf-8")
        mounts[mount["mountPath"]] = directory
    return mounts


def _local_path(path: str, mounts: dict[str, Path]) -> Path:
    for mount_path, directory in mounts.items():
        if PurePosixPath(path).is_relative_to(mount_path):
            return directory / PurePosixPath(path).relative_to(mount_path)
    raise AssertionError(f"{path} is on no ConfigMap the container mounts ({sorted(mounts)})")


def _usage(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``argv --help`` through the real CLI: it exits 0 with the sub-command's usage only when
    every option before ``--help`` exists (an unknown one exits 2, "No such option")."""
    assert argv[0] == "smote-monitor", argv
    return run_cli(*argv[1:], "--help", cwd=cwd)


def _assert_valid_invocation(argv: list[str], cwd: Path, command: str) -> None:
    done = _usage(argv, cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"smote_monitor {command} [OPTIONS]" in done.stdout, done.stdout


def _kustomization_resources(path: Path) -> list[Path]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [path.parent / name for name in data["resources"]]


# --- every object is a valid Kubernetes object --------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("name", "obj"), _core_objects(), ids=[n for n, _ in _core_objects()])
def test_every_manifest_validates_strictly_against_the_kubernetes_schemas(
    name: str, obj: dict[str, Any], version: str
) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


def test_the_manifests_hold_the_objects_of_the_example() -> None:
    kinds = sorted(obj["kind"] for _, obj in _objects())
    assert kinds == sorted(
        ["Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Job"]
        + ["ServiceMonitor", "PrometheusRule", "Secret"]
        + ["ConfigMap"] * 4  # rules, dashboards, datasource, dashboard provider
    )


def test_strict_validation_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(_deployment())
    _pod(deployment)["initContainers"][0]["livenesProbe"] = {"httpGet": {"path": "/healthz"}}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_every_manifest_is_in_a_kustomization_and_every_resource_exists() -> None:
    listed = _kustomization_resources(APP_KUSTOMIZATION) + _kustomization_resources(
        MONITORING_KUSTOMIZATION
    )
    assert all(path.is_file() for path in listed), listed
    assert sorted(listed + sorted(NOT_IN_A_KUSTOMIZATION)) == manifest_files()


@pytest.mark.parametrize("kustomization", [APP_KUSTOMIZATION, MONITORING_KUSTOMIZATION])
def test_kubectl_kustomize_builds_each_kustomization(kustomization: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (the kustomizations' files are checked above)")
    built = subprocess.run(
        [kubectl, "kustomize", str(kustomization.parent)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    objects = [o for o in yaml.safe_load_all(built) if o is not None]
    expected = [o for path in _kustomization_resources(kustomization) for o in load_objects(path)]
    assert len(objects) == len(expected)
    namespace = yaml.safe_load(kustomization.read_text(encoding="utf-8"))["namespace"]
    assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in objects} == {namespace}


# --- the Deployment: sidecar, probes, token, command ----------------------------------------


def test_the_sidecar_is_a_native_sidecar_beside_the_serving_container() -> None:
    pod = _pod(_deployment())
    assert _sidecar()["restartPolicy"] == "Always"
    assert [c["name"] for c in pod["containers"]] == ["model"]


def test_probes_point_at_healthz_and_readyz_on_the_metrics_port() -> None:
    sidecar = _sidecar()
    port = _port(sidecar, "metrics")
    assert port == 9464  # DESIGN's port
    probes = {
        kind: (sidecar[kind]["httpGet"]["path"], sidecar[kind]["httpGet"]["port"])
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes == {
        "startupProbe": ("/healthz", "metrics"),
        "livenessProbe": ("/healthz", "metrics"),
        "readinessProbe": ("/readyz", "metrics"),
    }


def test_the_sidecar_command_is_a_valid_serve_invocation_on_the_metrics_port(
    tmp_path: Path,
) -> None:
    command = _sidecar()["command"]
    _assert_valid_invocation(command, tmp_path, "serve")
    assert "--config" not in command  # the file comes from $SMOTE_MONITOR_CONFIG (env)
    assert "--allow-unauthenticated" not in command  # a public bind needs the token
    listen = command[command.index("--listen") + 1]
    assert parse_listen(listen) == ("0.0.0.0", _port(_sidecar(), "metrics"))


def test_the_cli_check_used_above_rejects_an_option_serve_lacks(tmp_path: Path) -> None:
    done = _usage(["smote-monitor", "serve", "--host", "0.0.0.0", "--port", "9464"], tmp_path)
    assert done.returncode == 2
    assert "No such option: --host" in done.stderr


def test_the_db_upgrade_job_upgrades_the_store_with_the_sidecars_image_and_config(
    tmp_path: Path,
) -> None:
    job = one("Job")
    pod = _pod(job)
    (container,) = pod["containers"]
    assert container["image"] == _sidecar()["image"]
    sidecar_env, env = _env(_sidecar()), _env(container)
    for name in (CONFIG_ENV, "SMOTE_MONITOR_DATABASE_URL"):
        assert env[name] == sidecar_env[name]
    _assert_valid_invocation(container["command"], tmp_path, "db upgrade")
    # And for real, with the job's config, on a store of this machine's instead of the cluster's.
    env[CONFIG_ENV] = str(_local_path(env[CONFIG_ENV], _mounted_files(pod, container, tmp_path)))
    env["SMOTE_MONITOR_DATABASE_URL"] = f"sqlite:///{tmp_path}/store.db"
    done = run_cli(*container["command"][1:], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    status = run_cli("db", "status", cwd=tmp_path, env=env)
    assert status.returncode == 0 and "up to date" in status.stdout.lower(), status.stdout


def test_the_token_and_the_store_url_come_from_the_secret() -> None:
    for container in [_sidecar(), _pod(_deployment())["containers"][0]]:
        refs = {
            var["name"]: var["valueFrom"]["secretKeyRef"]
            for var in container["env"]
            if "valueFrom" in var
        }
        assert refs["SMOTE_MONITOR_TOKEN"] == {
            "name": "smote-monitor",
            "key": "SMOTE_MONITOR_TOKEN",
        }
    assert _sidecar_refs()["SMOTE_MONITOR_DATABASE_URL"]["name"] == "smote-monitor"
    assert set(_secret_data()) == {"SMOTE_MONITOR_TOKEN", "SMOTE_MONITOR_DATABASE_URL"}


def _sidecar_refs() -> dict[str, dict[str, str]]:
    return {
        v["name"]: v["valueFrom"]["secretKeyRef"] for v in _sidecar()["env"] if "valueFrom" in v
    }


def test_the_secrets_example_values_are_marked_to_replace() -> None:
    assert all("REPLACE_ME" in value for value in _secret_data().values())


def test_the_sidecar_runs_unprivileged_on_a_read_only_root_with_tmp_writable() -> None:
    pod = _pod(_deployment())
    sidecar = _sidecar()
    assert pod["securityContext"]["runAsNonRoot"] is True
    context = sidecar["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["runAsUser"] > 0
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = [
        m["mountPath"]
        for m in sidecar["volumeMounts"]
        if "emptyDir" in volumes[m["name"]] and not m.get("readOnly")
    ]
    assert writable == ["/tmp"]  # tempfile's directory: the run reports
    assert {"requests", "limits"} <= set(sidecar["resources"])


# --- the config: loaded by smote-monitor's own loader, as the pod would ---------------------


def _pod_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    pod = _pod(_deployment())
    mounts = _mounted_files(pod, _sidecar(), tmp_path)
    env = _env(_sidecar())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = _local_path(env[CONFIG_ENV], mounts)
    return resolve_settings(config, discover=False)


def test_the_config_loads_with_the_store_and_token_of_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _pod_settings(tmp_path, monkeypatch)
    secret = _secret_data()
    assert settings.database_url == secret["SMOTE_MONITOR_DATABASE_URL"]
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.auth_token_env == "SMOTE_MONITOR_TOKEN"
    assert settings.auth_token == secret["SMOTE_MONITOR_TOKEN"]
    fraud = settings.datasets["fraud"]
    assert fraud.production.kind == "push"
    assert fraud.slices and fraud.windows and fraud.slo.minority_recall > 0


def test_the_config_leaves_the_store_url_to_the_secret() -> None:
    text = one("ConfigMap", "smote-monitor-config")["data"]["smote-monitor.yaml"]
    assert "database_url" not in yaml.safe_load(text)


def test_the_config_fits_the_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _pod_settings(tmp_path, monkeypatch)
    # A running evaluation gets shutdown_timeout after SIGTERM; the kubelet must wait longer.
    assert settings.shutdown_timeout < _pod(_deployment())["terminationGracePeriodSeconds"]
    # The root file system is read-only: a spool must be on the emptyDir.
    assert PurePosixPath(settings.spool_dir).is_relative_to("/tmp")


def test_the_shipped_rules_are_the_ones_rendered_for_this_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = render_rules(build_model(_pod_settings(tmp_path, monkeypatch)))
    committed = {
        p.name: p.read_text(encoding="utf-8") for p in (ROOT / "alerts" / "rules").glob("*.yml")
    }
    assert rendered == committed, (
        "the deploy config's SLOs differ from those alerts/rules/ were rendered for"
    )


@pytest.mark.slow
def test_the_sidecar_command_serves_probes_and_metrics_with_the_pods_config(
    tmp_path: Path,
) -> None:
    """The container's command and environment, for real: only the store (an SQLite file here,
    the Secret names a cluster's PostgreSQL) and the address (a free loopback port) differ."""
    from tests.server.helpers import free_port

    pod = _pod(_deployment())
    sidecar = _sidecar()
    mounts = _mounted_files(pod, sidecar, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOTE_MONITOR_")}
    env.update(_env(sidecar))
    env[CONFIG_ENV] = str(_local_path(env[CONFIG_ENV], mounts))
    env["SMOTE_MONITOR_DATABASE_URL"] = f"sqlite:///{tmp_path}/store.db"
    env["PYTHONPATH"] = str(ROOT)
    port = free_port()
    argv = sidecar["command"]
    argv = [arg if arg != "0.0.0.0:9464" else f"127.0.0.1:{port}" for arg in argv]
    assert argv != sidecar["command"]
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "smote_monitor", *argv[1:]],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                ready = httpx.get(url + sidecar["readinessProbe"]["httpGet"]["path"], timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        assert ready.status_code == 200 and ready.json()["role"] == "leader"
        alive = httpx.get(url + sidecar["livenessProbe"]["httpGet"]["path"], timeout=5)
        assert alive.status_code == 200
        metrics = httpx.get(url + "/metrics", timeout=30).text
        assert f"{conventions.MONITOR_BUILD_INFO.name}{{" in metrics
        assert f"{conventions.MONITOR_STORE_UP.name} 1.0" in metrics
        push = f"{url}/api/v1/datasets/fraud/predictions"
        assert httpx.post(push, json={"rows": []}, timeout=5).status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=45) == 0
        finally:
            if process.poll() is None:
                process.kill()
            log.close()


# --- Service, ServiceMonitor, PrometheusRule ---------------------------------------------


def _service() -> dict[str, Any]:
    return one("Service", "fraud-model-smote-monitor")


def test_the_service_selects_the_pods_and_exposes_the_metrics_port() -> None:
    deployment = _deployment()
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = _service()["spec"]["selector"]
    assert selector.items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (port,) = _service()["spec"]["ports"]
    assert port["name"] == "metrics"
    assert port["port"] == port["targetPort"] == _port(_sidecar(), "metrics")


def test_the_servicemonitor_selects_the_service_and_its_metrics_port() -> None:
    monitor = one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["name"]
    spec = monitor["spec"]
    service = _service()
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    app_namespace = yaml.safe_load(APP_KUSTOMIZATION.read_text(encoding="utf-8"))["namespace"]
    assert spec["namespaceSelector"]["matchNames"] == [app_namespace]
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    # The catalog's `job` label (the scheduled jobs) must survive the scrape.
    assert endpoint["honorLabels"] is True
    assert conventions.LABEL_JOB == "job"


def test_the_prometheusrule_carries_every_rendered_group(tmp_path: Path) -> None:
    rule = one("PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["name"]
    groups = rule["spec"]["groups"]
    committed = [
        group
        for path in sorted((ROOT / "alerts" / "rules").glob("*.rules.yml"))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    ]
    assert groups == committed
    assert all(group["name"] and group["rules"] for group in groups)


def test_promtool_accepts_the_prometheusrule_groups(tmp_path: Path) -> None:
    promtool = tool("promtool")
    rules = tmp_path / "prometheusrule.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": one("PrometheusRule")["spec"]["groups"]}))
    done = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


# --- Alertmanager, Prometheus, Grafana -----------------------------------------------------


def test_amtool_accepts_the_embedded_alertmanager_config(tmp_path: Path) -> None:
    amtool = tool("amtool")
    text = one("Secret", "alertmanager-smote-monitor")["stringData"]["alertmanager.yaml"]
    assert text == (ROOT / "alerts" / "alertmanager.yml").read_text(encoding="utf-8")
    config = tmp_path / "alertmanager.yaml"
    config.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [amtool, "check-config", str(config)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_accepts_the_prometheus_config_with_the_rules_configmap(tmp_path: Path) -> None:
    promtool = tool("promtool")
    check = [promtool, "check", "config"]
    done = subprocess.run([*check, str(PROMETHEUS_CONFIG)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # Again with the rules ConfigMap where rule_files looks, so promtool checks them too.
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    (pattern,) = config["rule_files"]
    rules = one("ConfigMap", "smote-monitor-prometheus-rules")["data"]
    assert rules and all(fnmatch.fnmatch(name, PurePosixPath(pattern).name) for name in rules)
    for name, text in rules.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    config["rule_files"] = [str(tmp_path / PurePosixPath(pattern).name)]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run([*check, str(local)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rule files found" in done.stdout


def test_the_prometheus_config_scrapes_every_replica_of_the_service() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job["honor_labels"] is True
    assert job["metrics_path"] == "/metrics"
    (sd,) = job["dns_sd_configs"]
    service = _service()
    namespace = yaml.safe_load(APP_KUSTOMIZATION.read_text(encoding="utf-8"))["namespace"]
    assert sd["names"] == [f"{service['metadata']['name']}.{namespace}.svc.cluster.local"]
    assert sd["port"] == service["spec"]["ports"][0]["port"]
    assert service["spec"]["clusterIP"] == "None"  # one A record per pod
    assert service["spec"]["publishNotReadyAddresses"] is True


def test_the_dashboards_configmap_holds_the_rendered_dashboards() -> None:
    boards = one("ConfigMap", "smote-monitor-grafana-dashboards")
    assert boards["metadata"]["labels"]["grafana_dashboard"] == "1"
    committed = {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "dashboards" / "json").glob("*.json"))
    }
    assert boards["data"] == committed
    provider = one("ConfigMap", "smote-monitor-grafana-dashboard-provider")["data"]
    (text,) = provider.values()
    assert text == (
        ROOT / "dashboards" / "provisioning" / "dashboards" / "smote-monitor.yml"
    ).read_text(encoding="utf-8")


def test_the_datasource_points_at_the_in_cluster_prometheus_without_taking_the_default() -> None:
    data = one("ConfigMap", "smote-monitor-grafana-datasource")["data"]
    (datasource,) = yaml.safe_load(data["prometheus.yml"])["datasources"]
    committed = yaml.safe_load(
        (ROOT / "dashboards" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource == {**committed, **deploy_render.DATASOURCE_OVERRIDES}
    assert datasource["url"].startswith("http://") and datasource["isDefault"] is False


# --- the generated files are committed as the generator renders them -------------------------


def test_the_committed_deploy_files_are_what_the_generator_renders() -> None:
    assert deploy_render.stale() == [], (
        f"deploy/kubernetes/monitoring is stale: run `{deploy_render.COMMAND}` and commit"
    )
    for name, text in deploy_render.render().items():
        assert text.startswith(f"# {deploy_render.STAMP}\n"), name


def test_the_generator_notices_a_changed_source(tmp_path: Path) -> None:
    for part in ("alerts/rules", "dashboards/json", "dashboards/provisioning"):
        shutil.copytree(ROOT / part, tmp_path / part)
    shutil.copy(ROOT / "alerts" / "alertmanager.yml", tmp_path / "alerts" / "alertmanager.yml")
    shutil.copytree(ROOT / deploy_render.OUT, tmp_path / deploy_render.OUT)
    assert deploy_render.stale(tmp_path) == []
    config = tmp_path / "alerts" / "alertmanager.yml"
    config.write_text(config.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert deploy_render.stale(tmp_path) == [
        tmp_path / deploy_render.OUT / deploy_render.ALERTMANAGER_SECRET
    ]


def test_the_check_command_passes_on_the_committed_files() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.render", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
