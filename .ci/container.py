"""Runs the image the way GitHub and GitLab run it, against the bundled mock; called by .ci/container,
which builds the image, starts the mocks and cleans up. Prints one line per check and a summary of the
measured numbers; exits 1 if any check failed.

Configuration comes from the environment .ci/container sets: QD_PODMAN (JSON list: the podman
command with its storage options), QD_IMAGE, QD_WORK (a scratch directory), QD_MOCK_HAPPY,
QD_MOCK_STUCK, QD_MOCK_FAIL (mock URLs), QD_BINARY_STATIC, QD_BINARY_DYNAMIC, QD_BUSYBOX,
QD_TINI (files, for the size report), ENVIRONMENT_ID (the mock's fixture environment),
QD_GITLAB_GRACE (seconds between SIGTERM and SIGKILL on a GitLab stop).
"""

import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import yaml

PODMAN = json.loads(os.environ["QD_PODMAN"])
IMAGE = os.environ["QD_IMAGE"]
WORK = Path(os.environ["QD_WORK"])
MOCK = {name: os.environ[f"QD_MOCK_{name.upper()}"] for name in ("happy", "stuck", "fail")}
ENVIRONMENT_ID = os.environ["ENVIRONMENT_ID"]
GRACE = int(os.environ.get("QD_GITLAB_GRACE", "10"))
# What these machines need (see .ci/container): the host network for the mock on 127.0.0.1, limits
# the host accepts, and never a pull (no registry is reachable: a missing image must fail at once).
RUN = ["--pull", "never", "--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
COMMIT = "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a"
TOKEN = f"qov_container_SECRET_{uuid.uuid4().hex[:12]}"
# Budgets. The issue-13 rule: whatever the phase, the tool is out within 8 s of a signal (GitHub
# kills 10 s after its first one).
SIGNAL_EXIT_BUDGET_S = 8.0
RELEASE_IMAGE_BUDGET = 5_000_000  # bytes, uncompressed
# Pieces of the release image that cannot be had here (no registry): busybox:1.37.0-musl is
# published at about 1.3-1.5 MB uncompressed; Alpine's tini-static is a few tens of KB; musl's
# static libc adds roughly 0.1 MB to a Rust binary. Upper ends are used.
BUSYBOX_MUSL_ESTIMATE = 1_500_000
TINI_MUSL_ESTIMATE = 100_000
MUSL_LIBC_ESTIMATE = 150_000

failures = []
numbers = {}


def check(ok, what, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}{f' ({detail})' if detail else ''}", flush=True)
    if not ok:
        failures.append(what)
    return ok


def podman(*args, timeout=60, check_rc=True, **kw):
    done = subprocess.run(PODMAN + list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check_rc and done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])}... exited {done.returncode}: {done.stderr.strip()}")
    return done


def remove(name):
    podman("rm", "--force", "--time", "0", name, check_rc=False)


def mock_requests(url):
    with urllib.request.urlopen(f"{url}/_mock/requests", timeout=5) as answer:
        return json.load(answer)


def mock_reset(url):
    request = urllib.request.Request(f"{url}/_mock/reset", method="POST")
    urllib.request.urlopen(request, timeout=5).read()


def cancels(url):
    return [r for r in mock_requests(url) if r["method"] == "POST" and r["path"].endswith("/cancelDeployment")]


def wait_until_running(url, proc, limit=20.0):
    """Waits until our deployment runs (the mock's `stuck` scenario keeps it DEPLOYING): the deploy
    POST is recorded and the tool has polled twice since (a poll tick reads `/status`, or
    `/statuses` on the tick after a change)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        log = mock_requests(url)
        posts = [i for i, r in enumerate(log) if r["method"] == "POST" and r["path"].endswith("/service/deploy")]
        if posts and sum(1 for r in log[posts[0]:] if r["path"].endswith(("/status", "/statuses"))) >= 2:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


class Exit:
    """Records when a process ends (a thread waits on it), so that a time is measured to its exit."""

    def __init__(self, proc):
        self.proc, self.at = proc, None
        threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self):
        self.proc.wait()
        self.at = time.monotonic()

    def wait(self, timeout):
        end = time.monotonic() + timeout
        while self.at is None and time.monotonic() < end:
            time.sleep(0.01)
        return self.at is not None


# --------------------------------------------------------------------------------------------
# 0. The built image against the Dockerfile's final stage
# --------------------------------------------------------------------------------------------
def final_stage(path):
    text = re.sub(r"\\\n", " ", Path(path).read_text())
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    start = max(i for i, l in enumerate(lines) if l.upper().startswith("FROM "))
    stage = {"copies": [], "entrypoint": None, "env": {}}
    for line in lines[start + 1:]:
        op, _, args = line.partition(" ")
        op = op.upper()
        if op == "COPY":
            stage["copies"].append([w for w in args.split() if not w.startswith("--")][-1])
        elif op == "ENTRYPOINT":
            stage["entrypoint"] = json.loads(args)
        elif op == "ENV":
            stage["env"].update(dict(p.split("=", 1) for p in args.split()))
    return stage


def image_matches_dockerfile():
    print("\n--- the built twin against the Dockerfile's final stage")
    release = final_stage("Dockerfile")
    config = json.loads(podman("image", "inspect", IMAGE).stdout)[0]["Config"]
    check(config.get("Entrypoint") == release["entrypoint"], "entrypoint is the Dockerfile's",
          f"{config.get('Entrypoint')}")
    check(not config.get("User"), "no USER (GitHub's file commands are bind mounts of the runner user)")
    check(not config.get("WorkingDir"), "no WORKDIR (GitHub and GitLab set their own)")
    env = dict(e.split("=", 1) for e in config.get("Env") or [])
    check("/usr/local/bin" in env.get("PATH", "").split(":") and all(env.get(k) == v for k, v in release["env"].items()),
          "environment: the base's PATH (finds qovery-deploy) and the Dockerfile's ENV", f"{env}")
    paths = release["copies"] + ["/bin/sh", "/usr/local/bin/qovery-deploy", "/usr/local/bin/qovery-deploy-cleanup"]
    probe = " && ".join(f"test -x {shlex.quote(p)}" for p in paths)
    done = podman("run", "--rm", *RUN, "--entrypoint", "/bin/sh", IMAGE, "-c", probe, check_rc=False)
    check(done.returncode == 0, "every file the Dockerfile copies, and /bin/sh, is there and executable", " ".join(paths))


# --------------------------------------------------------------------------------------------
# 1 and 2. GitHub: a docker action
# --------------------------------------------------------------------------------------------
def action_inputs():
    """Every input of action.yml with its default, as the runner passes them: INPUT_ + the name
    upper-cased with spaces replaced by `_` (hyphens kept)."""
    spec = yaml.safe_load(Path("action.yml").read_text())
    return {f"INPUT_{name.replace(' ', '_').upper()}": str(d.get("default", "")) for name, d in spec["inputs"].items()}


def github_run(name, mock, with_, stdout_path, entrypoint=None, extra_env=None, root_name=None):
    """Starts the action's container as the runner does: `run --rm --workdir /github/workspace`, each
    variable as `-e NAME` (the value in the client's environment, never on its command line), the
    runner's directories bind-mounted under /github. Returns the client process, the host directory
    of the file commands and their file names by variable."""
    root = WORK / (root_name or name)
    temp = root / "_temp"
    commands = temp / "_runner_file_commands"
    for d in (temp / "_github_home", temp / "_github_workflow", commands, root / "workspace"):
        d.mkdir(parents=True, exist_ok=True)
    suffix = uuid.uuid4()
    files = {k: f"{k.lower()}_{suffix}" for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE", "GITHUB_ENV", "GITHUB_PATH")}
    for f in files.values():
        (commands / f).touch()
    env = action_inputs()
    env.update(extra_env or {})
    env.update({f"INPUT_{k.replace(' ', '_').upper()}": v for k, v in with_.items()})
    env["INPUT_API-URL"] = mock
    env.update({k: f"/github/file_commands/{f}" for k, f in files.items()})
    env.update({"HOME": "/github/home", "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": "/github/workspace",
                "GITHUB_SHA": COMMIT, "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "1", "RUNNER_OS": "Linux"})
    args = ["run", "--rm", "--name", name, *RUN, "--workdir", "/github/workspace"]
    if entrypoint:
        args += ["--entrypoint", entrypoint]
    for key in env:
        args += ["-e", key]
    args += ["-v", f"{temp / '_github_home'}:/github/home", "-v", f"{temp / '_github_workflow'}:/github/workflow",
             "-v", f"{commands}:/github/file_commands", "-v", f"{root / 'workspace'}:/github/workspace", IMAGE]
    client_env = {"PATH": os.environ["PATH"], **env}
    out = open(stdout_path, "w")
    proc = subprocess.Popen(PODMAN + args, env=client_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return proc, commands, files


def github_outputs(path):
    outputs, lines = {}, iter(Path(path).read_text().splitlines())
    for line in lines:
        if "<<" in line:
            key, delim = line.split("<<", 1)
            outputs[key] = "\n".join(iter(lambda: next(lines), delim))
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


def github_deploy(scenario, expected_code, expected_result):
    mock = MOCK[scenario]
    mock_reset(mock)
    name = f"qd-gh-{scenario}"
    log = WORK / f"{name}.log"
    with_ = {"api-token": TOKEN, "environment-id": ENVIRONMENT_ID, "applications": "api, web", "containers": "worker",
             "databases": "postgres", "poll-interval": "1s", "timeout": "2m"}
    try:
        proc, commands, files = github_run(name, mock, with_, log)
        finished = Exit(proc).wait(90)
    finally:
        remove(name)
    text = log.read_text()
    if not check(finished and proc.returncode == expected_code, f"GitHub run ({scenario}): exit {expected_code}",
                 f"exit {proc.returncode}"):
        print(text)
        return
    outputs = github_outputs(commands / files["GITHUB_OUTPUT"])
    summary = (commands / files["GITHUB_STEP_SUMMARY"]).read_text()
    # Every output action.yml declares (the contract test ties it to the code): each run writes them
    # all, empty where they do not apply.
    expected_keys = set(yaml.safe_load(Path("action.yml").read_text())["outputs"])
    check(set(outputs) == expected_keys and outputs["result"] == expected_result,
          f"GitHub run ({scenario}): outputs written through the bind mount, result={expected_result}",
          f"result={outputs.get('result')} state={outputs.get('state')}")
    services = json.loads(outputs.get("services", "[]"))
    check([s["name"] for s in services] == ["api", "web", "worker", "postgres"], f"GitHub run ({scenario}): services output",
          ", ".join(f"{s['name']}={s['state']}" for s in services))
    rows = [l for l in summary.splitlines() if l.startswith("| ") and not l.startswith("| Service")]
    check(len(rows) == 4 and outputs.get("console-url", "-") in summary, f"GitHub run ({scenario}): step summary table and console link",
          f"{len(rows)} rows")
    first = text.splitlines()[0] if text else ""
    leaks = [p for p, t in [("log", text.replace(f"::add-mask::{TOKEN}", "", 1)), ("outputs", (commands / files["GITHUB_OUTPUT"]).read_text()),
                            ("summary", summary)] if TOKEN in t]
    check(first == f"::add-mask::{TOKEN}" and not leaks, f"GitHub run ({scenario}): token masked first, never printed", f"leaks: {leaks}")


def github_cancel():
    """GitHub's cancel of a docker action step: SIGINT to the `docker run` client (which passes it on
    to the container), SIGTERM 7.5 s later, then the process is killed 2.5 s after that."""
    mock = MOCK["stuck"]
    mock_reset(mock)
    name = "qd-gh-cancel"
    log = WORK / f"{name}.log"
    with_ = {"api-token": TOKEN, "environment-id": ENVIRONMENT_ID, "applications": "api", "poll-interval": "1s", "timeout": "5m"}
    try:
        proc, commands, files = github_run(name, mock, with_, log)
        exit_ = Exit(proc)
        if not check(wait_until_running(mock, proc), "GitHub cancel: the deployment is running (stuck) before the cancel"):
            print(log.read_text())
            return
        t0 = time.monotonic()
        sent = ["SIGINT"]
        proc.send_signal(signal.SIGINT)
        if not exit_.wait(7.5):
            sent.append("SIGTERM")
            proc.send_signal(signal.SIGTERM)
            if not exit_.wait(2.5):
                sent.append("SIGKILL")
                proc.kill()
                exit_.wait(5)
    finally:
        remove(name)
    elapsed = (exit_.at or time.monotonic()) - t0
    numbers["GitHub cancel: SIGINT to container exit"] = f"{elapsed:.2f} s, exit {proc.returncode}"
    outputs = github_outputs(commands / files["GITHUB_OUTPUT"])
    check(proc.returncode == 5 and elapsed < SIGNAL_EXIT_BUDGET_S,
          f"GitHub cancel: exit 5 within {SIGNAL_EXIT_BUDGET_S:.0f} s of the SIGINT",
          f"exit {proc.returncode} after {elapsed:.2f} s, signals sent: {', '.join(sent)}")
    got = cancels(mock)
    check(len(got) == 1, "GitHub cancel: our cancel reached the mock (one POST .../cancelDeployment)",
          ", ".join(r["path"] for r in got) or "none")
    check(outputs.get("result") == "cancelled", "GitHub cancel: result=cancelled written", f"result={outputs.get('result')}")


# --------------------------------------------------------------------------------------------
# 3. GitLab: a job in the docker executor
# --------------------------------------------------------------------------------------------
# The runner creates the job container with the job's `image: entrypoint` and, as the command, a
# `sh -c` script that execs the first shell it finds (bash first); then it writes the job script to
# the container's stdin and closes it. The job script starts with `trap exit 1 TERM`, sets errexit
# and pipefail, and runs the job's lines (variables exported, cd into the project, each line echoed
# then run) under `: | eval '...'`, or `: | (eval '...')` with FF_USE_NEW_BASH_EVAL_STRATEGY
# (gitlab-runner, shells/bash.go). Written here from that description.
FIND_SHELL = ("for s in /usr/local/bin/bash /usr/bin/bash /bin/bash /usr/local/bin/sh /usr/bin/sh /bin/sh /busybox/sh; "
              "do if [ -x \"$s\" ]; then exec \"$s\"; fi; done; echo shell not found; exit 1")
# On a cancel, recent docker executors first exec this in the job container: SIGTERM to every
# process but PID 1 and the script's own, highest PID first, waiting up to 6 s for each to end;
# then they stop the container (SIGTERM to PID 1, SIGKILL after the grace period). Older runners
# and other executors only stop it.
TERM_ALL = ("for p in $(ls /proc | grep -E '^[0-9]+$' | sort -rn); do "
            "if [ \"$p\" != 1 ] && [ \"$p\" != $$ ] && kill -TERM \"$p\" 2>/dev/null; then "
            "n=6; while [ -e /proc/$p ] && [ $n -gt 0 ]; do sleep 1; n=$((n-1)); done; fi; done")
PROJECT_DIR = "/builds/acme/app"


def gitlab_jobs():
    """The deploy job of examples/gitlab-ci.yml, and the component's job (its inputs at their
    defaults): both must run the tool the same way."""
    example = yaml.safe_load(Path("examples/gitlab-ci.yml").read_text())["deploy"]
    docs = list(yaml.safe_load_all(Path("templates/qovery-deploy.yml").read_text()))
    component = next(iter(docs[1].values()))
    return example, component


def expand(value, env):
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), str(value))


def gitlab_script(job, lines, overrides, eval_style="eval", extra=None):
    env = {"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": PROJECT_DIR, "CI_COMMIT_SHA": COMMIT,
           "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_JOB_ID": "1",
           "CI_JOB_URL": "https://gitlab.example.com/acme/app/-/jobs/1",
           "QOVERY_API_TOKEN": TOKEN, "QOVERY_ENVIRONMENT_ID": ENVIRONMENT_ID, **(extra or {})}
    for key, value in (job.get("variables") or {}).items():
        env[key] = expand(value, env)
    env.update(overrides)
    body = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    body += f"cd {shlex.quote(PROJECT_DIR)}\n"
    body += "".join(f"echo {shlex.quote('$ ' + line)}\n{line}\n" for line in lines)
    run = f": | eval {shlex.quote(body)}" if eval_style == "eval" else f": | (eval {shlex.quote(body)})"
    return ("trap exit 1 TERM\n\n"
            "if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit\n"
            f"set +o noclobber\n{run}\nexit 0\n")


def gitlab_container(name, entrypoint, script, builds, log):
    args = ["run", "-i", "--name", name, *RUN, "--entrypoint", json.dumps(entrypoint) if entrypoint != [""] else "",
            "-v", f"{builds}:/builds", IMAGE, "sh", "-c", FIND_SHELL]
    proc = subprocess.Popen(PODMAN + args, stdin=subprocess.PIPE, stdout=open(log, "w"), stderr=subprocess.STDOUT, text=True)
    proc.stdin.write(script)
    proc.stdin.close()
    return proc


def gitlab_overrides(mock):
    # What a local run must change: the API is the mock; quicker polls.
    return {"INPUT_API_URL": mock, "INPUT_POLL_INTERVAL": "1s", "INPUT_TIMEOUT": "2m"}


def gitlab_deploy(job):
    mock = MOCK["happy"]
    mock_reset(mock)
    builds = WORK / "gitlab-happy"
    (builds / PROJECT_DIR.removeprefix("/builds/")).mkdir(parents=True)
    name, log = "qd-gl-happy", WORK / "qd-gl-happy.log"
    try:
        proc = gitlab_container(name, job["image"]["entrypoint"], gitlab_script(job, job["script"], gitlab_overrides(mock)), builds, log)
        finished = Exit(proc).wait(90)
    finally:
        remove(name)
    text = log.read_text()
    if not check(finished and proc.returncode == 0, "GitLab job: exit 0", f"exit {proc.returncode}"):
        print(text)
        return
    dotenv_path = builds / PROJECT_DIR.removeprefix("/builds/") / "qovery-deploy.env"
    dotenv = dict(l.split("=", 1) for l in dotenv_path.read_text().splitlines() if "=" in l) if dotenv_path.exists() else {}
    check(dotenv.get("QOVERY_RESULT") == "success" and dotenv.get("QOVERY_STATE") == "DEPLOYED",
          "GitLab job: dotenv report qovery-deploy.env in the job's directory", ", ".join(f"{k}={v}" for k, v in dotenv.items() if k in ("QOVERY_RESULT", "QOVERY_STATE")))
    check(TOKEN not in text and TOKEN not in dotenv_path.read_text(), "GitLab job: the token is in neither the job log nor the dotenv report")


def gitlab_cancel(label, job, entrypoint, lines, how, eval_style="eval", expect=None):
    """Runs the job against the `stuck` mock and cancels it as GitLab does: `stop` is the container
    stop (SIGTERM to PID 1, SIGKILL after the grace period); `term-all` first runs TERM_ALL in
    the container, as recent docker executors do. Returns a row for the table."""
    mock = MOCK["stuck"]
    mock_reset(mock)
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    builds = WORK / f"gitlab-{slug}-{how}"
    (builds / PROJECT_DIR.removeprefix("/builds/")).mkdir(parents=True)
    name, log = f"qd-gl-{slug}-{how}"[:60], WORK / f"qd-gl-{slug}-{how}.log"
    try:
        proc = gitlab_container(name, entrypoint, gitlab_script(job, lines, gitlab_overrides(mock), eval_style), builds, log)
        exit_ = Exit(proc)
        if not check(wait_until_running(mock, proc), f"GitLab cancel [{label}, {how}]: the deployment runs before the cancel"):
            print(log.read_text())
            return None
        tree = podman("exec", name, "ps", "-o", "pid,ppid,pgid,args", check_rc=False).stdout.strip().splitlines()[1:]
        t0 = time.monotonic()
        if how == "term-all":
            podman("exec", name, "sh", "-c", TERM_ALL, timeout=10, check_rc=False)
        podman("stop", "--time", str(GRACE), name, timeout=GRACE + 30, check_rc=False)
        exit_.wait(10)
    finally:
        remove(name)
    elapsed = (exit_.at or time.monotonic()) - t0
    text = log.read_text()
    seen = re.search(r"cancelled \((SIG[A-Z]+)\)", text)
    got = cancels(mock)
    row = {"setup": label, "how": how, "signal": seen.group(1) if seen else "nothing", "cancel": len(got),
           "exit": proc.returncode, "seconds": elapsed,
           "tree": "; ".join(" ".join(l.split()[3:]).replace(FIND_SHELL, "<find a shell>") for l in tree if "ps -o" not in l)}
    if expect is not None:
        ok = (len(got) == 1) == expect and (not expect or elapsed < SIGNAL_EXIT_BUDGET_S)
        check(ok, f"GitLab cancel [{label}, {how}]: " + (f"our cancel reached the mock, out within {SIGNAL_EXIT_BUDGET_S:.0f} s" if expect else "nothing reaches the tool (shown, as expected)"),
              f"tool saw {row['signal']}, {len(got)} cancel(s), exit {row['exit']} after {elapsed:.2f} s")
        if not ok:
            print(text)
    return row, builds


def gitlab_after_script(job, builds, label):
    """The job's after_script, as the runner runs it after a cancel: in a new container of the same
    image, the same /builds, CI_JOB_STATUS=canceled. Issue 13 adds one that cancels our request."""
    lines = job.get("after_script")
    if not lines:
        print(f"     no after_script in the job yet: after [{label}] the deployment stays running"
              " (issue 13 part 5 adds the after_script cancel; this harness runs it once it exists)")
        return
    mock = MOCK["stuck"]
    before = len(cancels(mock))
    name, log = "qd-gl-after-script", WORK / "qd-gl-after-script.log"
    try:
        proc = gitlab_container(name, job["image"]["entrypoint"],
                                gitlab_script(job, lines, gitlab_overrides(mock), extra={"CI_JOB_STATUS": "canceled"}), builds, log)
        Exit(proc).wait(60)
    finally:
        remove(name)
    check(len(cancels(mock)) == before + 1, f"GitLab after_script after [{label}]: it cancels our deployment",
          f"exit {proc.returncode}; {log.read_text()[-300:]!r}")


def gitlab():
    print("\n--- 3. GitLab: the example's deploy job under the docker executor's way of running it")
    example, component = gitlab_jobs()
    same = (example["image"]["entrypoint"] == component["image"]["entrypoint"] and example["script"] == component["script"])
    check(same, "the CI/CD component runs the tool as the example does", f"entrypoint {example['image']['entrypoint']}, script {example['script']}")
    gitlab_deploy(example)

    documented = (example["image"]["entrypoint"], example["script"])
    cases = [
        # label, entrypoint, script lines, cancel, eval style, expected (None: shown, not asserted)
        ("bare: entrypoint \"\", qovery-deploy", [""], ["qovery-deploy"], "stop", "eval", False),
        ("exec only: entrypoint \"\", exec qovery-deploy", [""], ["exec qovery-deploy"], "stop", "eval", False),
        ("tini -g, qovery-deploy without exec", ["/sbin/tini", "-g", "--"], ["qovery-deploy"], "stop", "eval", None),
        ("documented: " + " ".join(documented[0]) + ", " + "; ".join(documented[1]), *documented, "stop", "eval", True),
        ("documented, FF_USE_NEW_BASH_EVAL_STRATEGY", *documented, "stop", "subshell", True),
        ("bare: entrypoint \"\", qovery-deploy", [""], ["qovery-deploy"], "term-all", "eval", True),
        ("documented: " + " ".join(documented[0]) + ", " + "; ".join(documented[1]), *documented, "term-all", "eval", True),
    ]
    rows = []
    for label, entrypoint, lines, how, style, expect in cases:
        result = gitlab_cancel(label, example, entrypoint, lines, how, style, expect)
        if result is None:
            continue
        row, builds = result
        rows.append(row)
        if label.startswith("bare") and how == "stop":
            gitlab_after_script(example, builds, label)
    print(f"\n     GitLab cancel (grace {GRACE} s between SIGTERM and SIGKILL; the `stuck` deployment running):")
    print(f"     {'setup':<62} {'cancel':<9} {'tool saw':<9} {'cancels':<8} {'exit':<5} seconds  processes")
    for r in rows:
        print(f"     {r['setup'][:62]:<62} {r['how']:<9} {r['signal']:<9} {r['cancel']:<8} {r['exit']:<5} {r['seconds']:>6.2f}   {r['tree']}")
        if r["setup"].startswith("documented") and r["how"] == "stop" and "FF_" not in r["setup"]:
            numbers["GitLab cancel (documented setup, container stop): stop to exit"] = f"{r['seconds']:.2f} s, exit {r['exit']}, {r['cancel']} cancel"
        if r["setup"].startswith("bare") and r["how"] == "stop":
            numbers["GitLab cancel (entrypoint \"\", plain script, container stop)"] = f"{r['seconds']:.2f} s, exit {r['exit']}, {r['cancel']} cancel"
        if r["setup"].startswith("documented") and r["how"] == "term-all":
            numbers["GitLab cancel (documented setup, runner's SIGTERM to all + stop)"] = f"{r['seconds']:.2f} s, exit {r['exit']}, {r['cancel']} cancel"


# --------------------------------------------------------------------------------------------
# 4. Size and start to first request
# --------------------------------------------------------------------------------------------
def sizes():
    print("\n--- 4. size, uncompressed")
    size = int(json.loads(podman("image", "inspect", IMAGE).stdout)[0]["Size"])
    static = os.path.getsize(os.environ["QD_BINARY_STATIC"])
    dynamic = os.path.getsize(os.environ["QD_BINARY_DYNAMIC"])
    busybox = os.path.getsize(os.environ["QD_BUSYBOX"])
    tini = os.path.getsize(os.environ["QD_TINI"])
    print(f"     twin image {size / 1e6:.2f} MB = qovery-deploy glibc crt-static {static / 1e6:.2f} MB"
          f" + Debian busybox-static {busybox / 1e6:.2f} MB + Debian tini-static {tini / 1e6:.2f} MB + links and /etc")
    estimate = dynamic + MUSL_LIBC_ESTIMATE + BUSYBOX_MUSL_ESTIMATE + TINI_MUSL_ESTIMATE
    print(f"     release image (musl), estimated: {estimate / 1e6:.2f} MB = the code without libc {dynamic / 1e6:.2f} MB"
          f" (the glibc-linked build) + musl libc ~{MUSL_LIBC_ESTIMATE / 1e6:.2f} + busybox:musl ~{BUSYBOX_MUSL_ESTIMATE / 1e6:.2f}"
          f" + Alpine tini-static ~{TINI_MUSL_ESTIMATE / 1e6:.2f}")
    numbers["image size (twin, measured)"] = f"{size / 1e6:.2f} MB ({size} bytes)"
    numbers["image size (musl release, estimated)"] = f"{estimate / 1e6:.2f} MB"
    check(estimate <= RELEASE_IMAGE_BUDGET, f"release image estimate within {RELEASE_IMAGE_BUDGET / 1e6:.0f} MB", f"{estimate / 1e6:.2f} MB")


def first_request():
    """Start to first request: a listener that never answers stops the clock at accept(). Inside the
    container the clock starts when the tool is exec'd: busybox's adjtimex prints the time (in
    microseconds), then the shell execs the tool. `podman run` to first request adds the container's
    creation and start, for comparison."""
    print("\n--- 4. start to first request, inside the container")
    spawn, inside = [], []
    for i in range(7):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(30)
        port = server.getsockname()[1]
        name = f"qd-first-request-{i}"
        # Underscores: a shell drops variables such as INPUT_API-TOKEN from the environment it passes on.
        env = {"INPUT_API_TOKEN": TOKEN, "INPUT_ENVIRONMENT_ID": ENVIRONMENT_ID, "INPUT_API_URL": f"http://127.0.0.1:{port}",
               "INPUT_APPLICATIONS": "api", "GITHUB_SHA": COMMIT}
        args = (["run", "--rm", "--name", name, *RUN] + [a for k in env for a in ("-e", k)]
                + ["--entrypoint", "/bin/sh", IMAGE, "-c", "adjtimex; exec /usr/local/bin/qovery-deploy"])
        started = time.monotonic()
        proc = subprocess.Popen(PODMAN + args, env={"PATH": os.environ["PATH"], **env}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            conn, _ = server.accept()
            accepted = time.time()
            spawn.append((time.monotonic() - started) * 1000)
            conn.close()
        except TimeoutError:
            accepted = None
        finally:
            server.close()
            remove(name)
            out, _ = proc.communicate(timeout=30)
        if accepted is None:
            check(False, f"first request run {i}: the tool connected within 30 s", out[-500:])
            return
        clock = dict(re.findall(r"time\.(tv_sec|tv_usec):\s*(\d+)", out))
        if len(clock) != 2:
            check(False, f"first request run {i}: adjtimex printed the time in the container", out[:300])
            return
        inside.append((accepted - int(clock["tv_sec"]) - int(clock["tv_usec"]) / 1e6) * 1000)
    numbers["start to first request, inside the container"] = f"median {statistics.median(inside):.1f} ms, max {max(inside):.1f} ms"
    numbers["`podman run` to first request (with the container's setup)"] = f"median {statistics.median(spawn):.0f} ms, max {max(spawn):.0f} ms"
    print(f"     exec of the tool -> first request: {', '.join(f'{v:.1f}' for v in inside)} ms")
    print(f"     `podman run` -> first request: {', '.join(f'{v:.0f}' for v in spawn)} ms")
    check(statistics.median(inside) <= 50, "start to first request inside the container, median <= 50 ms (as .ci/bench)",
          f"{statistics.median(inside):.1f} ms")


def github_post():
    """Issue 13 part 5: the step's container killed outright (no signal the tool can see), then
    action.yml's post-entrypoint run as the runner runs it: a new container of the image with that
    entrypoint, the step's inputs, and each `name=value` the step wrote to $GITHUB_STATE as
    STATE_name. It must cancel our request, and nothing else."""
    mock = MOCK["stuck"]
    mock_reset(mock)
    name = "qd-gh-killed"
    log = WORK / f"{name}.log"
    with_ = {"api-token": TOKEN, "environment-id": ENVIRONMENT_ID, "applications": "api", "poll-interval": "1s", "timeout": "5m"}
    try:
        proc, commands, files = github_run(name, mock, with_, log)
        if not check(wait_until_running(mock, proc), "GitHub post: the deployment is running (stuck) before the kill"):
            print(log.read_text())
            return
        podman("kill", "--signal", "KILL", name, check_rc=False)
        Exit(proc).wait(10)
    finally:
        remove(name)
    check(not cancels(mock), "GitHub post: the killed step cancelled nothing itself")
    state = github_outputs(commands / files["GITHUB_STATE"])
    post_entrypoint = yaml.safe_load(Path("action.yml").read_text())["runs"]["post-entrypoint"]
    post_name, post_log = "qd-gh-post", WORK / "qd-gh-post.log"
    try:
        post, _, _ = github_run(post_name, mock, with_, post_log, entrypoint=post_entrypoint,
                                extra_env={f"STATE_{k}": v for k, v in state.items()}, root_name=name)
        Exit(post).wait(60)
    finally:
        remove(post_name)
    got = cancels(mock)
    check(post.returncode == 0 and len(got) == 1,
          f"GitHub post ({post_entrypoint}): it cancels the request the killed step recorded",
          f"exit {post.returncode}, {len(got)} cancel(s), state {sorted(state)}; {post_log.read_text()[-300:]!r}")


def github():
    print("\n--- 1. GitHub: the action's container as the runner starts it")
    github_deploy("happy", 0, "success")
    github_deploy("fail", 1, "failure")
    print("\n--- 2. GitHub: the runner's cancel sequence on a stuck deployment")
    github_cancel()
    print("\n--- 2b. GitHub: the step killed outright, then the action's post step")
    github_post()


SECTIONS = {"layout": image_matches_dockerfile, "github": github, "gitlab": gitlab, "size": sizes,
            "first-request": first_request}


def main():
    # QD_SECTIONS=github,size runs only those (while working on one); all of them by default.
    wanted = [s for s in os.environ.get("QD_SECTIONS", "").split(",") if s] or list(SECTIONS)
    for name in wanted:
        started = time.monotonic()
        SECTIONS[name]()
        print(f"     ({name}: {time.monotonic() - started:.1f} s)")
    print("\n--- measured")
    for key, value in numbers.items():
        print(f"     {key}: {value}")
    if failures:
        print(f"\n{len(failures)} check(s) failed: " + "; ".join(failures))
        return 1
    print(f"\ncontainer: {len(wanted)} section(s), all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
