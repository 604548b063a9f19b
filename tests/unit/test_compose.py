"""Consistency of docker-compose.yml and deploy/ with the code they run.

No Docker engine runs here, so these tests read the files: the worker environment must
build the real ``Settings``, topic-init must create the topics the workers read with one
partition count, Prometheus must scrape the workers' web port, and every metric the alert
rules and the dashboard query must exist in ``PipelineMetrics``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from streams.metrics import PipelineMetrics
from streams.settings import Settings, TopicSettings
from web.access import exposure_problem

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_PATH = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE_PATH = DEPLOY / "env.example"
DOCKERFILE_PATH = DEPLOY / "Dockerfile"
ALERTS_PATH = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS_PATH = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD_PATH = DEPLOY / "grafana" / "dashboards" / "churnwatch.json"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
PRODUCTION_DOC_PATH = ROOT / "docs" / "production.md"

ENV_PREFIX = "CHURNWATCH_"
# Kafka's group.min.session.timeout.ms default: brokers refuse shorter session timeouts.
KAFKA_MIN_SESSION_TIMEOUT_S = 6.0
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?P<modifier>:?[-?][^}]*)?\}")
_METRIC_NAME = re.compile(r"\bchurnwatch_[a-z0-9_]+")


# --- readers -----------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a .env file, comments and blank lines skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose-style ``${NAME}``, ``${NAME:?error}``, ``${NAME:-default}`` and ``$$``.

    >>> interpolate("a=${A:?set A} b=${B:-2} $$x", {"A": "1"})
    'a=1 b=2 $x'
    """

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match["name"]
        if name in variables:
            return variables[name]
        modifier = (match["modifier"] or "").lstrip(":")
        if modifier.startswith("-"):
            return modifier[1:]
        raise KeyError(f"{name} is required by docker-compose.yml but has no value")

    return _VARIABLE.sub(substitute, text)


def command_text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else " ".join(command)


def bind_mounts(service: dict[str, Any]) -> dict[PurePosixPath, Path]:
    """Container path -> host path of a service's bind mounts (short volume syntax)."""
    mounts: dict[PurePosixPath, Path] = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts[PurePosixPath(target)] = (ROOT / source).resolve()
    return mounts


def host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """Where a file the container reads comes from on the host, if it is bind-mounted."""
    wanted = PurePosixPath(container_path)
    for target, source in sorted(bind_mounts(service).items(), key=lambda item: -len(item[0].parts)):
        if wanted == target or target in wanted.parents:
            return source.joinpath(*wanted.relative_to(target).parts)
    return None


def settings_env_names(model: type[BaseModel], prefix: str = ENV_PREFIX) -> set[str]:
    """Every environment variable a settings model reads: prefix plus ``__``-joined field path.

    >>> sorted(settings_env_names(Settings))[:2]
    ['CHURNWATCH_ALLOWED_LATENESS_DAYS', 'CHURNWATCH_BATCHING']
    """
    names: set[str] = set()
    for field_name, field in model.model_fields.items():
        env_name = f"{prefix}{field_name}".upper()
        names.add(env_name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= settings_env_names(annotation, f"{env_name}__")
    return names


def exported_metric_names() -> set[str]:
    """Series names a worker's ``/metrics`` can expose, suffixes included."""
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}
    names: set[str] = set()
    for family in PipelineMetrics().registry.collect():
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def heading_anchor(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading.

    >>> heading_anchor("Consumer lag high (per partition)")
    'consumer-lag-high-per-partition'
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(pending)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in logical]


def dockerfile_values(instruction: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions(DOCKERFILE_PATH) if name == instruction]


def created_topics(service: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Topic -> (partitions, replication factor) from topic-init's ``--topic`` lines."""
    topics: dict[str, tuple[int, int]] = {}
    for line in command_text(service["command"]).splitlines():
        words = shlex.split(line) if "--topic" in line else []
        if "--topic" in words:
            flags = ("--topic", "--partitions", "--replication-factor")
            value = {flag: words[words.index(flag) + 1] for flag in flags}
            topics[value["--topic"]] = (int(value["--partitions"]), int(value["--replication-factor"]))
    return topics


def is_pinned(image: str) -> bool:
    """An image reference with a full x.y.z version in its tag, or a digest.

    >>> [is_pinned(i) for i in ("redis:7.4.2", "redis:7", "redis", "redis:latest", "a@sha256:" + "0" * 64)]
    [True, False, False, False, True]
    """
    if re.search(r"@sha256:[0-9a-f]{64}$", image):
        return True
    _, _, tag = image.rpartition("/")[2].rpartition(":")
    return bool(re.search(r"\d+\.\d+\.\d+", tag))


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    """docker-compose.yml before interpolation (secrets still as ``${NAME:?...}``)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as Compose sees it with the values of deploy/env.example."""
    text = interpolate(COMPOSE_PATH.read_text(encoding="utf-8"), read_env_file(ENV_EXAMPLE_PATH))
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    defined: dict[str, dict[str, Any]] = compose["services"]
    return defined


@pytest.fixture(scope="module")
def workers(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services built from deploy/Dockerfile."""
    return {
        name: service
        for name, service in services.items()
        if isinstance(service.get("build"), dict)
        and service["build"].get("dockerfile") == "deploy/Dockerfile"
    }


@pytest.fixture
def worker_settings(
    workers: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Settings]:
    """Each worker's ``Settings``, built from its compose environment alone."""
    built: dict[str, Settings] = {}
    for name, service in workers.items():
        with monkeypatch.context() as scoped:
            for variable in [v for v in os.environ if v.upper().startswith(ENV_PREFIX)]:
                scoped.delenv(variable)
            for variable, value in service["environment"].items():
                scoped.setenv(variable, str(value))
            built[name] = Settings()
    return built


@pytest.fixture(scope="module")
def topic_init(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return services["topic-init"]


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# --- the worker environment ---------------------------------------------------------------


class TestWorkerEnvironment:
    def test_there_are_at_least_two_workers(self, workers: dict[str, dict[str, Any]]) -> None:
        """Two or more worker services share the partitions, so one can fail without stopping alerts."""
        assert len(workers) >= 2

    def test_every_churnwatch_variable_names_a_settings_field(
        self, workers: dict[str, dict[str, Any]]
    ) -> None:
        """A misspelt CHURNWATCH_ variable would be ignored silently, so each must name a Settings field."""
        known = settings_env_names(Settings)
        unknown = {
            f"{name}: {variable}"
            for name, service in workers.items()
            for variable in service["environment"]
            if variable.upper().startswith(ENV_PREFIX) and variable.upper() not in known
        }
        assert not unknown

    def test_worker_environment_builds_valid_settings(self, worker_settings: dict[str, Settings]) -> None:
        """Every worker's environment parses into Settings (types and ranges included)."""
        assert all(isinstance(settings, Settings) for settings in worker_settings.values())
        assert worker_settings

    def test_workers_use_external_kafka_and_redis(self, worker_settings: dict[str, Settings]) -> None:
        """Workers get a broker and a Redis URL, so none starts the embedded stack."""
        assert all(s.bootstrap and s.redis_url for s in worker_settings.values())

    def test_bootstrap_lists_only_kafka_services(
        self, worker_settings: dict[str, Settings], services: dict[str, dict[str, Any]]
    ) -> None:
        """Every bootstrap address is a Kafka service of this compose file on its client port."""
        for settings in worker_settings.values():
            assert settings.bootstrap is not None
            for address in settings.bootstrap.split(","):
                host, _, port = address.partition(":")
                assert services[host]["image"].startswith("apache/kafka:")
                assert f"PLAINTEXT://{address}" == services[host]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
                assert port == "9092"

    def test_group_timings_suit_a_real_kafka(self, worker_settings: dict[str, Settings]) -> None:
        """Session timeouts are within what Kafka accepts, with at least three heartbeats per session."""
        for settings in worker_settings.values():
            assert settings.kafka.session_timeout_s >= KAFKA_MIN_SESSION_TIMEOUT_S
            assert settings.kafka.heartbeat_interval_s * 3 <= settings.kafka.session_timeout_s

    def test_workers_share_one_consumer_group(self, worker_settings: dict[str, Settings]) -> None:
        """One app id (the consumer group) across workers, so Kafka splits partitions between them."""
        assert len({settings.worker.app_id for settings in worker_settings.values()}) == 1

    def test_pseudonym_key_comes_from_a_required_variable(
        self, raw_compose: dict[str, Any], workers: dict[str, dict[str, Any]]
    ) -> None:
        """The key is never written in the compose file, and Compose refuses to start without it."""
        for name in workers:
            value = raw_compose["services"][name]["environment"]["CHURNWATCH_PSEUDONYM_KEY"]
            assert re.fullmatch(r"\$\{CHURNWATCH_PSEUDONYM_KEY:\?[^}]+\}", value)

    def test_workers_listening_beyond_loopback_have_a_queue_token(
        self, raw_compose: dict[str, Any], worker_settings: dict[str, Settings]
    ) -> None:
        """Prometheus needs every interface, so the worker would refuse to start without the queue
        page's token; the token comes from a required variable, never the compose file."""
        for name, settings in worker_settings.items():
            assert exposure_problem(settings.worker.web_bind, settings.web_token) is None, name
            value = raw_compose["services"][name]["environment"]["CHURNWATCH_WEB_TOKEN"]
            assert re.fullmatch(r"\$\{CHURNWATCH_WEB_TOKEN:\?[^}]+\}", value)

    def test_workers_do_not_run_with_the_development_key(self, worker_settings: dict[str, Settings]) -> None:
        """The example environment yields a real key, not the built-in development one."""
        assert not any(settings.uses_development_key for settings in worker_settings.values())

    def test_every_interpolated_variable_is_in_env_example(self) -> None:
        """deploy/env.example lists every variable docker-compose.yml interpolates."""
        text = COMPOSE_PATH.read_text(encoding="utf-8")
        used = {match["name"] for match in _VARIABLE.finditer(text) if match["name"]}
        assert used
        assert used <= set(read_env_file(ENV_EXAMPLE_PATH))


# --- topics -----------------------------------------------------------------------------


class TestTopics:
    def test_topic_init_creates_every_configured_topic(
        self, topic_init: dict[str, Any], worker_settings: dict[str, Settings]
    ) -> None:
        """topic-init creates exactly the topics the workers' TopicSettings name."""
        fields = TopicSettings.model_fields.items()
        string_fields = [name for name, field in fields if field.annotation is str]
        for settings in worker_settings.values():
            configured = {getattr(settings.topics, name) for name in string_fields}
            assert set(created_topics(topic_init)) == configured

    def test_topics_share_the_workers_partition_count(
        self, topic_init: dict[str, Any], worker_settings: dict[str, Settings]
    ) -> None:
        """Every topic has CHURNWATCH_TOPICS__PARTITIONS partitions, which keeps the inputs co-partitioned;
        the training topic has one, so a single worker of the group learns."""
        created = created_topics(topic_init)
        training = {settings.topics.training for settings in worker_settings.values()}
        partition_counts = {partitions for name, (partitions, _) in created.items() if name not in training}
        assert partition_counts == {settings.topics.partitions for settings in worker_settings.values()}
        assert {created[name][0] for name in training} == {1}

    def test_topics_use_the_workers_replication_factor(
        self, topic_init: dict[str, Any], worker_settings: dict[str, Settings]
    ) -> None:
        """topic-init replicates as CHURNWATCH_TOPICS__REPLICAS says (Faust declares topics the same way)."""
        factors = {factor for _, factor in created_topics(topic_init).values()}
        assert factors == {settings.topics.replicas for settings in worker_settings.values()}

    def test_replication_factor_fits_the_brokers(
        self, topic_init: dict[str, Any], services: dict[str, dict[str, Any]]
    ) -> None:
        """No topic asks for more replicas than there are brokers in the KRaft quorum."""
        brokers = [s for s in services.values() if "KAFKA_NODE_ID" in s.get("environment", {})]
        voters = brokers[0]["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert len(voters) == len(brokers)
        assert max(factor for _, factor in created_topics(topic_init).values()) <= len(brokers)


# --- services, images, the worker image ------------------------------------------------------


class TestServices:
    def test_depends_on_names_defined_services(self, services: dict[str, dict[str, Any]]) -> None:
        """Every depends_on entry is a service of this compose file."""
        for service in services.values():
            assert set(service.get("depends_on", {})) <= set(services)

    def test_depends_on_conditions_match_what_dependencies_report(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        """One-shot services are awaited to completion, long-running ones to a healthcheck they define."""
        for service in services.values():
            for dependency, rule in service.get("depends_on", {}).items():
                target = services[dependency]
                if target.get("restart") == "no":
                    assert rule["condition"] == "service_completed_successfully"
                else:
                    assert rule["condition"] == "service_healthy"
                    assert "healthcheck" in target

    def test_images_are_pinned_to_a_version(self, services: dict[str, dict[str, Any]]) -> None:
        """Every image names a full version (no `latest`, no floating major tag)."""
        assert not [service["image"] for service in services.values() if not is_pinned(service["image"])]

    def test_dockerfile_base_image_is_pinned(self) -> None:
        """The worker image builds on a fixed Python release."""
        (base,) = dockerfile_values("FROM")
        assert base.startswith("python:3.11.")
        assert is_pinned(base)

    def test_worker_image_tag_is_the_project_version(
        self, workers: dict[str, dict[str, Any]], pyproject: dict[str, Any]
    ) -> None:
        """The built image is tagged with pyproject's version, so a deployment names what it runs."""
        assert {service["image"] for service in workers.values()} == {
            f"churnwatch:{pyproject['project']['version']}"
        }

    def test_dockerfile_runs_the_worker_console_script(
        self, workers: dict[str, dict[str, Any]], pyproject: dict[str, Any]
    ) -> None:
        """The image runs `churnwatch worker`, the console script pyproject declares, unchanged by compose."""
        (entrypoint,) = dockerfile_values("ENTRYPOINT")
        (command,) = dockerfile_values("CMD")
        assert json.loads(entrypoint) == ["churnwatch"]
        assert json.loads(command) == ["worker"]
        assert "churnwatch" in pyproject["project"]["scripts"]
        assert not [name for name, s in workers.items() if "entrypoint" in s or "command" in s]

    def test_dockerfile_copies_what_pip_install_needs(self, pyproject: dict[str, Any]) -> None:
        """The build context copied in holds pyproject, its readme and every package it installs."""
        copied = {
            source.rstrip("/")
            for arguments in dockerfile_values("COPY")
            for source in shlex.split(arguments)[:-1]
        }
        includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
        packages = {pattern.rstrip("*") for pattern in includes}
        assert packages | {"pyproject.toml", pyproject["project"]["readme"]} <= copied

    def test_worker_image_runs_as_a_non_root_user(self) -> None:
        """The last USER of the image is neither root nor uid 0."""
        users = dockerfile_values("USER")
        assert users
        assert users[-1].split(":")[0] not in {"root", "0"}

    def test_dockerfile_healthcheck_probes_health(self) -> None:
        """The image's own HEALTHCHECK asks the worker's /health page."""
        (healthcheck,) = dockerfile_values("HEALTHCHECK")
        assert "/health" in healthcheck


# --- health and scraping ------------------------------------------------------------------


class TestHealthAndScraping:
    def test_worker_healthcheck_probes_its_web_port(
        self, workers: dict[str, dict[str, Any]], worker_settings: dict[str, Settings]
    ) -> None:
        """Each worker's compose healthcheck asks /health on the port its settings serve."""
        for name, service in workers.items():
            probe = command_text(service["healthcheck"]["test"])
            port = worker_settings[name].worker.web_port
            assert re.search(rf"http://(127\.0\.0\.1|localhost):{port}/health\b", probe)

    def test_prometheus_scrapes_every_worker_on_its_web_port(
        self, worker_settings: dict[str, Settings]
    ) -> None:
        """The churnwatch job scrapes exactly the worker services, each on its web port, at /metrics."""
        config = yaml.safe_load(PROMETHEUS_PATH.read_text(encoding="utf-8"))
        (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "churnwatch"]
        targets = {target for static in job["static_configs"] for target in static["targets"]}
        assert job.get("metrics_path", "/metrics") == "/metrics"
        assert targets == {f"{name}:{s.worker.web_port}" for name, s in worker_settings.items()}

    def test_prometheus_reads_the_config_from_deploy(self, services: dict[str, dict[str, Any]]) -> None:
        """The --config.file Prometheus is started with is deploy/prometheus/prometheus.yml."""
        prometheus = services["prometheus"]
        (flag,) = [arg for arg in prometheus["command"] if arg.startswith("--config.file=")]
        assert host_path(prometheus, flag.split("=", 1)[1]) == PROMETHEUS_PATH.resolve()

    def test_prometheus_rule_files_are_mounted(self, services: dict[str, dict[str, Any]]) -> None:
        """Every rule file prometheus.yml loads is deploy/prometheus/alerts.yml inside the container."""
        config = yaml.safe_load(PROMETHEUS_PATH.read_text(encoding="utf-8"))
        mounted = [host_path(services["prometheus"], path) for path in config["rule_files"]]
        assert mounted == [ALERTS_PATH.resolve()]


# --- metrics in alert rules and the dashboard ------------------------------------------------


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS_PATH.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD_PATH.read_text(encoding="utf-8"))
    return loaded


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])]


class TestMetricNames:
    def test_alert_rules_use_only_exported_metrics(self) -> None:
        """Each churnwatch_* series an alert rule reads is exposed by PipelineMetrics."""
        used = {name for rule in alert_rules() for name in _METRIC_NAME.findall(rule["expr"])}
        assert used
        assert used <= exported_metric_names()

    def test_dashboard_queries_use_only_exported_metrics(self) -> None:
        """Each churnwatch_* series a dashboard panel queries is exposed by PipelineMetrics."""
        used = {name for expr in dashboard_exprs() for name in _METRIC_NAME.findall(expr)}
        assert used
        assert used <= exported_metric_names()

    def test_every_alert_names_a_severity_and_a_runbook_section(self) -> None:
        """Alerts carry a severity and a runbook link to an existing heading of docs/production.md."""
        headings = re.findall(r"^#+\s+(.+)$", PRODUCTION_DOC_PATH.read_text(encoding="utf-8"), re.MULTILINE)
        anchors = {heading_anchor(heading) for heading in headings}
        for rule in alert_rules():
            assert rule["labels"]["severity"] in {"warning", "critical"}
            path, _, anchor = rule["annotations"]["runbook"].partition("#")
            assert path == "docs/production.md"
            assert anchor in anchors


# --- Grafana --------------------------------------------------------------------------------


class TestGrafana:
    def test_dashboard_provider_loads_the_dashboard_file(self, services: dict[str, dict[str, Any]]) -> None:
        """The file provider's path, inside the Grafana container, is the directory of churnwatch.json."""
        provider_file = PROVISIONING / "dashboards" / "churnwatch.yml"
        providers = yaml.safe_load(provider_file.read_text(encoding="utf-8"))
        grafana = services["grafana"]
        assert host_path(grafana, "/etc/grafana/provisioning") == PROVISIONING.resolve()
        (provider,) = providers["providers"]
        assert host_path(grafana, provider["options"]["path"]) == DASHBOARD_PATH.parent.resolve()

    def test_dashboard_panels_have_unique_ids(self) -> None:
        """The dashboard is JSON whose panel ids are distinct, as Grafana requires."""
        ids = [panel["id"] for panel in dashboard()["panels"]]
        assert len(ids) == len(set(ids))

    def test_dashboard_queries_the_provisioned_datasource(self) -> None:
        """Every panel and query names the uid of a provisioned datasource."""
        provisioned = yaml.safe_load(
            (PROVISIONING / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
        )
        uids = {source["uid"] for source in provisioned["datasources"]}
        for panel in dashboard()["panels"]:
            assert panel["datasource"]["uid"] in uids
            assert {target["datasource"]["uid"] for target in panel["targets"]} <= uids

    def test_datasource_points_at_the_prometheus_service(self, services: dict[str, dict[str, Any]]) -> None:
        """The Prometheus datasource URL is the prometheus service on its default port."""
        provisioned = yaml.safe_load(
            (PROVISIONING / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
        )
        (source,) = provisioned["datasources"]
        assert source["url"] == "http://prometheus:9090"
        assert services["prometheus"]["image"].startswith("prom/prometheus:")
