#!/usr/bin/python3
"""Static checks of wsgate's deployment artifacts (deploy/), run by tests/deploy/check.sh.

    /usr/bin/python3 tests/deploy/check_deploy.py [WSGATE_BINARY]

Needs Debian's python3-yaml only. Optional tools are used when present and skipped (reported
as "skip") otherwise: kubectl (kustomize render), systemd-analyze, apt-cache, and the wsgate
binary (--check-config on every config the artifacts ship). Prints one line per check and a
final line "deploy-checks: N passed, M failed"; exits 1 when any check failed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
WSGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "gateway", "wsgate"))

passed = 0
failed = 0
PLAIN_APIS = {"v1", "apps/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1",
              "monitoring.coreos.com/v1"}


def result(name, problems):
    """problems: list of strings (empty = pass), or None = skipped."""
    global passed, failed
    if problems is None:
        print(f"skip - {name}")
    elif problems:
        failed += 1
        print(f"FAIL - {name}")
        for p in problems:
            print(f"       {p}")
    else:
        passed += 1
        print(f"ok   - {name}")


def rel(path):
    return os.path.relpath(path, ROOT)


def run(cmd, timeout=20, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def duration_seconds(text):
    """wsgate durations: 30s, 250ms, 1h30m, 0 (docs/configuration.md)."""
    text = str(text)
    if text == "0":
        return 0.0
    parts = re.findall(r"(\d+)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(int(n) * scale[u] for n, u in parts)


def compose_duration(text):
    """Compose durations: 40s, 1m30s, 500ms."""
    return duration_seconds(str(text))


def drain_budget(config_text):
    """drain_timeout + close_timeout of a wsgate config (defaults 30s and 5s)."""
    cfg = yaml.safe_load(config_text) or {}
    drain = duration_seconds(cfg.get("drain_timeout", "30s"))
    close = duration_seconds((cfg.get("limits") or {}).get("close_timeout", "5s"))
    return drain, close


# 1. Every YAML file under deploy/ parses (multi-document files too), the dashboard JSON too.
def check_yaml_parses():
    problems = []
    count = 0
    for dirpath, _, files in os.walk(DEPLOY):
        for f in sorted(files):
            path = os.path.join(dirpath, f)
            try:
                if f.endswith((".yaml", ".yml")):
                    list(yaml.safe_load_all(open(path)))
                    count += 1
                elif f.endswith(".json"):
                    json.load(open(path))
                    count += 1
            except Exception as e:  # noqa: BLE001 - report any parse error
                problems.append(f"{rel(path)}: {e}")
    result(f"{count} YAML/JSON files under deploy/ parse", problems)


# 2. Kustomize: every kustomization's references exist; render with kubectl when available.
def kustomization_refs(directory, problems, seen):
    if directory in seen:
        return
    seen.add(directory)
    kfile = os.path.join(directory, "kustomization.yaml")
    if not os.path.isfile(kfile):
        problems.append(f"{rel(directory)}: no kustomization.yaml")
        return
    k = yaml.safe_load(open(kfile))
    refs = list(k.get("resources", [])) + list(k.get("components", []))
    for p in k.get("patches", []) or []:
        if "path" in p:
            refs.append(p["path"])
    for p in k.get("patchesStrategicMerge", []) or []:
        refs.append(p)
    for g in k.get("configMapGenerator", []) or []:
        for f in g.get("files", []) or []:
            refs.append(f.split("=", 1)[-1])
    for r in refs:
        path = os.path.normpath(os.path.join(directory, r))
        if os.path.isdir(path):
            kustomization_refs(path, problems, seen)
        elif not os.path.isfile(path):
            problems.append(f"{rel(kfile)}: {r} does not exist")
        else:
            try:
                docs = [d for d in yaml.safe_load_all(open(path)) if d]
            except Exception as e:  # noqa: BLE001
                problems.append(f"{rel(path)}: {e}")
                continue
            if r in k.get("resources", []):
                for d in docs:
                    if d.get("apiVersion") not in PLAIN_APIS:
                        problems.append(f"{rel(path)}: apiVersion {d.get('apiVersion')} not in {sorted(PLAIN_APIS)}")


def render(overlay):
    """Rendered objects of an overlay (kubectl kustomize), or None without kubectl."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return None, "kubectl not found"
    try:
        out = run([kubectl, "kustomize", overlay], timeout=30)
    except subprocess.TimeoutExpired:
        return [], "kubectl kustomize timed out"
    if out.returncode != 0:
        return [], out.stderr.strip() or "kubectl kustomize failed"
    return [d for d in yaml.safe_load_all(out.stdout) if d], None


def fallback_objects(overlay):
    """Without kubectl: the base's objects, with the overlay's ConfigMap file (what the checks need)."""
    objs = []
    base = os.path.join(K8S, "base")
    k = yaml.safe_load(open(os.path.join(base, "kustomization.yaml")))
    for r in k.get("resources", []):
        objs += [d for d in yaml.safe_load_all(open(os.path.join(base, r))) if d]
    config_dir = overlay
    ko = yaml.safe_load(open(os.path.join(overlay, "kustomization.yaml")))
    if not any(g.get("name") == "wsgate-config" for g in ko.get("configMapGenerator", []) or []):
        config_dir = base
    objs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "wsgate-config"},
                 "data": {"wsgate.yaml": open(os.path.join(config_dir, "wsgate.yaml")).read()}})
    return objs


def find(objs, kind, name=None):
    return [o for o in objs if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)]


def check_rendered(label, objs):
    problems = []
    for o in objs:
        if o.get("apiVersion") not in PLAIN_APIS:
            problems.append(f"{o.get('kind')} {o['metadata'].get('name')}: apiVersion {o.get('apiVersion')}")
    deps = find(objs, "Deployment", "wsgate")
    cms = find(objs, "ConfigMap", "wsgate-config")
    if len(deps) != 1 or len(cms) != 1:
        result(f"{label}: Deployment wsgate and ConfigMap wsgate-config", [f"found {len(deps)} and {len(cms)}"])
        return
    config_text = cms[0]["data"]["wsgate.yaml"]
    spec = deps[0]["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in spec["containers"]}
    c = containers.get("wsgate")
    if c is None:
        result(f"{label}: container wsgate", ["missing"])
        return
    cfg = yaml.safe_load(config_text)
    admin_port = int(str((cfg.get("admin") or {}).get("address", "127.0.0.1:9901")).rsplit(":", 1)[1])
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}

    def probe(kind, path):
        p = c.get(kind) or {}
        g = p.get("httpGet") or {}
        port = g.get("port")
        port = ports.get(port, port)
        if g.get("path") != path or port != admin_port:
            problems.append(f"{kind}: expected httpGet {path} on the admin port {admin_port}, got {g}")

    probe("readinessProbe", "/readyz")
    probe("livenessProbe", "/healthz")
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(part) or {}):
                problems.append(f"resources.{part}.{r} missing")
    # Grace period: preStop sleep + drain_timeout + close_timeout must fit inside it.
    drain, close = drain_budget(config_text)
    pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
    sleep = float(pre[-1]) if pre and pre[0].endswith("sleep") else 0.0
    if not pre:
        problems.append("lifecycle.preStop missing")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if not grace > sleep + drain + close:
        problems.append(f"terminationGracePeriodSeconds {grace} <= preStop {sleep:g}s + drain_timeout {drain:g}s"
                        f" + close_timeout {close:g}s")
    psc = spec.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True:
        problems.append("pod securityContext.runAsNonRoot is not true")
    if "fsGroup" not in psc:
        problems.append("pod securityContext.fsGroup missing")
    for name, cont in containers.items():
        csc = cont.get("securityContext") or {}
        if csc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"container {name}: readOnlyRootFilesystem is not true")
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"container {name}: allowPrivilegeEscalation is not false")
    if not ((spec.get("affinity") or {}).get("podAntiAffinity")):
        problems.append("podAntiAffinity missing")
    workers = cfg.get("workers", "auto")
    cpu = str((res.get("limits") or {}).get("cpu", ""))
    if workers == "auto":
        problems.append("workers: auto counts the node's cores, not the pod's CPU: set it to the CPU limit")
    elif cpu.isdigit() and int(cpu) != int(workers):
        problems.append(f"workers {workers} != CPU limit {cpu}")
    mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
    if "/etc/wsgate" not in mounts:
        problems.append("config not mounted as the /etc/wsgate directory (a subPath mount never updates)")
    for kind in ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"):
        if not find(objs, kind):
            problems.append(f"no {kind}")
    for hpa in find(objs, "HorizontalPodAutoscaler"):
        types = [m["type"] for m in hpa["spec"].get("metrics", [])]
        if "Resource" not in types:
            problems.append("HPA without a CPU (Resource) metric")
    # Selectors must select the pod template's labels.
    labels = deps[0]["spec"]["template"]["metadata"].get("labels", {})
    for o in find(objs, "Service") + find(objs, "PodDisruptionBudget") + find(objs, "NetworkPolicy"):
        if o["metadata"]["name"].startswith("echo"):
            continue
        sel = (o["spec"].get("selector") or o["spec"].get("podSelector") or {})
        sel = sel.get("matchLabels", sel)
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            problems.append(f"{o['kind']} {o['metadata']['name']}: selector {sel} does not match the pods {labels}")
    result(f"{label}: probes, resources, grace period > preStop + drain, non-root, read-only root, objects", problems)
    return config_text


def check_kustomize():
    configs = []
    problems = []
    kustomization_refs(os.path.join(K8S, "overlays", "example"), problems, set())
    result("deploy/k8s: every kustomization reference exists and parses, plain APIs", problems)
    for overlay in ("base", "overlays/example"):
        path = os.path.join(K8S, overlay)
        objs, why = render(path)
        if objs is None:
            result(f"kubectl kustomize deploy/k8s/{overlay}", None)
            print(f"       ({why}; checking the files without rendering)")
            objs = fallback_objects(path)
        else:
            result(f"kubectl kustomize deploy/k8s/{overlay} renders ({len(objs)} objects)", [why] if why else [])
            if why:
                continue
        text = check_rendered(f"deploy/k8s/{overlay}", objs)
        if text:
            configs.append((f"deploy/k8s/{overlay} ConfigMap", text))
    return configs


# 3. Every wsgate config the artifacts ship passes wsgate --check-config.
def check_configs(extra):
    if not os.access(WSGATE, os.X_OK):
        result("wsgate --check-config on the shipped configs", None)
        print(f"       ({rel(WSGATE)} not built)")
        return
    items = [("deploy/container/wsgate.yaml", open(os.path.join(DEPLOY, "container", "wsgate.yaml")).read())]
    items += extra
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in items:
            path = os.path.join(tmp, "wsgate.yaml")
            open(path, "w").write(text)
            out = run([WSGATE, "--check-config", path])
            if out.returncode != 0:
                problems.append(f"{name}: {out.stderr.strip()}")
    result(f"wsgate --check-config on {len(items)} shipped configs", problems)


# 4. systemd unit: required directives; systemd-analyze verify on a copy pointing at a real binary.
REQUIRED_UNIT = {
    "Type": "exec", "LimitNOFILE": "1048576", "DynamicUser": "yes", "ProtectSystem": "strict",
    "ProtectHome": "yes", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
    "AmbientCapabilities": "CAP_NET_BIND_SERVICE", "KillSignal": "SIGTERM", "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "ConfigurationDirectory": "wsgate",
}


def check_systemd():
    unit = os.path.join(DEPLOY, "systemd", "wsgate.service")
    text = open(unit).read()
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            k, v = line.split("=", 1)
            values.setdefault(k.strip(), []).append(v.strip())
    problems = []
    for k, v in REQUIRED_UNIT.items():
        if v not in values.get(k, []):
            problems.append(f"{k}={v} missing (have {values.get(k)})")
    if not any("--check-config" in v for v in values.get("ExecStartPre", [])):
        problems.append("ExecStartPre without --check-config")
    if not any(v == "/bin/kill -HUP $MAINPID" for v in values.get("ExecReload", [])):
        problems.append("ExecReload=/bin/kill -HUP $MAINPID missing")
    if "@system-service" not in values.get("SystemCallFilter", []):
        problems.append("SystemCallFilter=@system-service missing")
    drain, close = drain_budget(open(os.path.join(DEPLOY, "wsgate.yaml")).read())
    stop = duration_seconds(values.get("TimeoutStopSec", ["90s"])[0])
    if not stop > drain + close:
        problems.append(f"TimeoutStopSec {stop:g}s <= drain_timeout {drain:g}s + close_timeout {close:g}s")
    result("deploy/systemd/wsgate.service: required directives, TimeoutStopSec > drain", problems)

    analyze = shutil.which("systemd-analyze")
    if not analyze:
        result("systemd-analyze verify deploy/systemd/wsgate.service", None)
        return
    binary = WSGATE if os.access(WSGATE, os.X_OK) else "/bin/true"
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "wsgate.service")
        open(copy, "w").write(text.replace("/usr/bin/wsgate", binary))
        out = run([analyze, "verify", copy], cwd=tmp)
    msgs = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    result("systemd-analyze verify deploy/systemd/wsgate.service",
           [] if out.returncode == 0 and not msgs else msgs or [f"exit {out.returncode}"])


# 5. compose.yaml: references resolve, files exist, stop grace > drain.
def check_compose():
    path = os.path.join(DEPLOY, "compose.yaml")
    c = yaml.safe_load(open(path))
    services = c.get("services", {})
    problems = []
    for name, s in services.items():
        if "image" not in s and "build" not in s:
            problems.append(f"{name}: neither image nor build")
        b = s.get("build")
        if isinstance(b, dict):
            ctx = os.path.normpath(os.path.join(DEPLOY, b.get("context", ".")))
            if not os.path.isfile(os.path.join(ctx, b.get("dockerfile", "Dockerfile"))):
                problems.append(f"{name}: build dockerfile {b.get('dockerfile')} not found in {rel(ctx)}")
        for v in s.get("volumes", []) or []:
            src = v.split(":", 1)[0] if isinstance(v, str) else v.get("source", "")
            if src.startswith((".", "/")):
                if not os.path.exists(os.path.normpath(os.path.join(DEPLOY, src))):
                    problems.append(f"{name}: volume source {src} does not exist")
            elif src not in (c.get("volumes") or {}):
                problems.append(f"{name}: named volume {src} not declared")
        deps = s.get("depends_on", [])
        for d in (deps if isinstance(deps, list) else deps.keys()):
            if d not in services:
                problems.append(f"{name}: depends_on unknown service {d}")
        nm = s.get("network_mode", "")
        if nm.startswith("service:") and nm.split(":", 1)[1] not in services:
            problems.append(f"{name}: network_mode refers to unknown service")
        if nm and s.get("ports"):
            problems.append(f"{name}: ports together with network_mode")
    for needed in ("wsgate", "prometheus", "grafana"):
        if needed not in services:
            problems.append(f"no {needed} service")
    echoes = [n for n, s in services.items() if "wsgate-echo" in str(s.get("entrypoint", "")) + str(s.get("command", ""))]
    if len(echoes) < 2:
        problems.append(f"expected two echo backends, found {echoes}")
    gw = services.get("wsgate", {})
    drain, close = drain_budget(open(os.path.join(DEPLOY, "container", "wsgate.yaml")).read())
    grace = compose_duration(gw.get("stop_grace_period", "10s"))
    if not grace > drain + close:
        problems.append(f"wsgate stop_grace_period {grace:g}s <= drain_timeout + close_timeout {drain + close:g}s")
    # The container config's backends are the echo services.
    cfg = yaml.safe_load(open(os.path.join(DEPLOY, "container", "wsgate.yaml")))
    for b in cfg.get("backends", []):
        for e in b["endpoints"]:
            host = e.rsplit(":", 1)[0]
            if host not in services:
                problems.append(f"container config endpoint {e}: no compose service {host}")
    # Grafana provisioning: the dashboard path the provider reads is mounted.
    prov = yaml.safe_load(open(os.path.join(DEPLOY, "grafana", "provisioning", "dashboards", "wsgate.yaml")))
    dash_dir = prov["providers"][0]["options"]["path"]
    mounts = [v.split(":")[1] for v in services.get("grafana", {}).get("volumes", [])]
    if not any(m.startswith(dash_dir + "/") or m == dash_dir for m in mounts):
        problems.append(f"grafana: nothing mounted under the provider path {dash_dir}")
    result(f"deploy/compose.yaml: {len(services)} services, references and files resolve", problems)


# 6. Dockerfile: referenced files exist in the context, runtime essentials present.
def check_dockerfile():
    path = os.path.join(DEPLOY, "Dockerfile")
    text = open(path).read()
    lines = re.sub(r"\\\n", " ", text).splitlines()
    problems = []
    ignore = [line.strip() for line in open(os.path.join(ROOT, ".dockerignore"))
              if line.strip() and not line.startswith("#")]
    for line in lines:
        m = re.match(r"\s*COPY\s+(?!--from)(.*)", line)
        if m:
            args = [a for a in m.group(1).split() if not a.startswith("--")]
            for src in args[:-1]:
                if not os.path.exists(os.path.join(ROOT, src)):
                    problems.append(f"COPY source {src} does not exist")
                elif any(src == i or src.startswith(i.rstrip("/") + "/") for i in ignore):
                    problems.append(f"COPY source {src} is excluded by .dockerignore")
    for ref in re.findall(r"(?<![\w/])(?:tools|deploy)/[\w./-]+", text):
        ref = ref.rstrip(".")
        if not os.path.exists(os.path.join(ROOT, ref)) and ref not in ("deploy/Dockerfile",):
            problems.append(f"referenced path {ref} does not exist")
    for needed in ("tools/install-deps.sh", "tools/build.sh release --target wsgate wsgate-echo",
                   "HEALTHCHECK", "/healthz", "STOPSIGNAL SIGTERM", "EXPOSE", "/etc/wsgate/wsgate.yaml"):
        if needed not in text:
            problems.append(f"no {needed!r}")
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    if len(froms) < 2:
        problems.append("not multi-stage")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    if not users or users[-1].split(":")[0] in ("0", "root"):
        problems.append("final stage does not switch to a non-root USER")
    for ign in ("build", ".git"):
        if ign not in ignore:
            problems.append(f".dockerignore does not exclude {ign}")
    for kept in ("tools", "deploy", "gateway", "CMakeLists.txt"):
        if kept in ignore:
            problems.append(f".dockerignore excludes {kept}")
    result("deploy/Dockerfile: multi-stage, non-root, HEALTHCHECK, referenced files in the context", problems)

    # The runtime packages exist in the configured Debian archive (when apt knows any package).
    m = re.search(r"AS runtime.*?apt-get install -y --no-install-recommends(.*?)&&", re.sub(r"\\\n", " ", text), re.S)
    apt_cache = shutil.which("apt-cache")
    if not m or not apt_cache:
        result("runtime packages known to apt", None if apt_cache else None)
        return
    pkgs = m.group(1).split()
    try:
        out = run([apt_cache, "policy"] + pkgs, timeout=20)
    except subprocess.TimeoutExpired:
        result("runtime packages known to apt", ["apt-cache timed out"])
        return
    if "Candidate:" not in out.stdout:
        result("runtime packages known to apt", None)
        print("       (apt has no package lists)")
        return
    missing = [p for p in pkgs if re.search(rf"^{re.escape(p)}:\n\s+Installed: .*\n\s+Candidate: \(none\)", out.stdout, re.M)
               or f"{p}:" not in out.stdout]
    result(f"runtime packages known to apt ({' '.join(pkgs)})", [f"unknown: {missing}"] if missing else [])


def main():
    check_yaml_parses()
    configs = check_kustomize()
    check_configs(configs)
    check_systemd()
    check_compose()
    check_dockerfile()
    print(f"deploy-checks: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
