"""pytest plugin: vCenter simulator instances (govmomi vcsim 0.24.2 via tests/vcsim).

Load with ``pytest_plugins = ["tests.vcsim_fixtures"]`` (or ``-p tests.vcsim_fixtures``).

* ``start_vcsim(tmp_dir, **options)`` starts one launcher and returns a VcsimInstance.
  Options map to launcher flags: ``nsx_segments=2`` -> ``-nsx-segments 2``; ``tls=True``
  -> ``-tls``; False/None are left out.  See tests/vcsim/README.md for the flags.
* ``vcsim``: one TLS instance (session scope).
* ``vcsim_pair``: ``.source`` and ``.target`` TLS instances with different instance
  UUIDs; the target has NSX DVPGs on a 7.0.0 VDS and opaque networks.
"""

import atexit
import collections
import contextlib
import json
import os
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_SH = REPO_ROOT / "tests" / "vcsim" / "build.sh"
DEFAULT_BINARY = REPO_ROOT / "build" / "vcsim" / "vcsim-launcher"

_binary = None
_running = []


def build_launcher():
    """Return the launcher path, building it once per process (build.sh skips an up-to-date binary)."""
    global _binary
    if _binary is None:
        override = os.environ.get("VCSIM_LAUNCHER")
        if override:
            _binary = override
        else:
            res = subprocess.run(
                ["bash", str(BUILD_SH)], check=False, capture_output=True, text=True
            )
            if res.returncode != 0:
                raise RuntimeError(f"tests/vcsim/build.sh failed:\n{res.stdout}\n{res.stderr}")
            _binary = res.stdout.strip().splitlines()[-1]
    return _binary


class VcsimInstance:
    """A running launcher.  ``info`` is the launcher's -info JSON (see README)."""

    def __init__(self, proc, info_path, log_path):
        self.proc = proc
        self.info_path = Path(info_path)
        self.log_path = Path(log_path)
        self.info = None

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.info_path.exists():  # written atomically by the launcher
                self.info = json.loads(self.info_path.read_text())
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"vcsim launcher did not start:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # Convenience accessors
    url = property(lambda self: self.info["url"])
    rest_url = property(lambda self: self.info["rest_url"])
    host = property(lambda self: self.info["host"])
    port = property(lambda self: int(self.info["port"]))
    username = property(lambda self: self.info["username"])
    password = property(lambda self: self.info["password"])
    cert_path = property(lambda self: self.info["cert_path"])
    thumbprint = property(lambda self: self.info["thumbprint"])
    instance_uuid = property(lambda self: self.info["instance_uuid"])

    def vm(self, name):
        return next(v for v in self.info["vms"] if v["name"] == name)

    def ssl_context(self):
        """An SSL context trusting exactly this instance's certificate."""
        return ssl.create_default_context(cafile=self.cert_path)

    def connect(self):
        """pyVmomi ServiceInstance (certificate verified). Caller disconnects."""
        from pyVim.connect import SmartConnect

        kwargs = {}
        if self.cert_path:
            kwargs["sslContext"] = self.ssl_context()
        return SmartConnect(host=self.host, port=self.port, user=self.username,
                            pwd=self.password, **kwargs)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _running:
            _running.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _flags(options):
    args = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "-" + key.replace("_", "-")
        args.append(flag if value is True else f"{flag}={value}")
    return args


def start_vcsim(tmp_dir, wait=True, **options):
    """Start a launcher listening on 127.0.0.1:<free port>; returns a VcsimInstance.

    With ``wait=False`` call ``.wait_ready()`` yourself (start several, then wait).
    """
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    name = options.pop("name", None) or f"vcsim-{uuid.uuid4().hex[:8]}"
    info_path = tmp_dir / f"{name}.json"
    if info_path.exists():  # a stale file from an earlier run would look like a ready launcher
        info_path.unlink()
    log_path = tmp_dir / f"{name}.log"
    options.setdefault("listen", "127.0.0.1:0")
    cmd = [build_launcher(), f"-info={info_path}", *_flags(options)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    inst = VcsimInstance(proc, info_path, log_path)
    _running.append(inst)
    return inst.wait_ready() if wait else inst


@atexit.register
def _stop_all():
    for inst in list(_running):
        inst.stop()


VcsimPair = collections.namedtuple("VcsimPair", "source target")


@pytest.fixture(scope="session")
def vcsim(tmp_path_factory):
    inst = start_vcsim(tmp_path_factory.mktemp("vcsim"), name="vcsim", tls=True,
                       nics=2, nsx_segments=2, opaque=2, vds_version="7.0.0")
    yield inst
    inst.stop()


@contextlib.contextmanager
def running_pair(tmp_dir, source, target):
    """A source vCenter (VDS 6.6) and an NSX-backed target (VDS 7.0), started together and stopped
    on exit; SOURCE and TARGET are each one's other launcher options."""
    src = start_vcsim(tmp_dir, wait=False, name="src", tls=True, vds_version="6.6.0", **source)
    dst = start_vcsim(tmp_dir, wait=False, name="dst", tls=True, vds_version="7.0.0", **target)
    try:
        src.wait_ready()
        dst.wait_ready()
        yield VcsimPair(src, dst)
    finally:
        src.stop()
        dst.stop()


@pytest.fixture(scope="session")
def vcsim_pair(tmp_path_factory):
    with running_pair(tmp_path_factory.mktemp("vcsim_pair"), dict(nics=2, instance_uuid=str(uuid.uuid4())),
                      dict(vm=1, instance_uuid=str(uuid.uuid4()), nsx_segments=3, opaque=2)) as pair:
        yield pair
