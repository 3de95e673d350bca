"""Shared bits of the ZStack integration tests: connection defaults, journal filters, secret checks."""

import hashlib
import re

from tests.emulators import zstack as emu

LOGIN_PATH = "/zstack/v1/accounts/login"
# The default seed's password is "password", which any output contains as an option name.
PASSWORD = "Zs-S3cret-pw-42"


def prepare(handle, **seconds):
    """Reset the emulator with a distinctive password and short durations (migrate_duration=...)."""
    config = dict(emu.DEFAULT_SEED["config"], migrate_duration=0.5, v2v_duration=0.5, v2v_start_delay=0.1,
                  async_delay=0.05)
    config.update(seconds)
    handle.reset({"config": config, "accounts": [{"uuid": emu.ADMIN_ACCOUNT, "name": "admin", "password": PASSWORD}]})
    return handle


SESSION_PATH = "/zstack/v1/accounts/sessions/"


def connection(handle):
    """The ZStack connection options for the emulator behind HANDLE."""
    return {"hostname": "127.0.0.1", "port": int(handle.url.rsplit(":", 1)[1]), "protocol": "https",
            "ca_cert": handle.ca_path, "username": "admin", "password": PASSWORD}


def module_defaults(handle):
    """Connection options for every ZStack module of a play, through the action group."""
    return {"group/hybridcloud.migration.zstack": connection(handle)}


def operations(handle):
    """Mutating calls that change ZStack (login and logout excluded), as (method, path) tuples."""
    return [(e["method"], e["path"]) for e in handle.admin.mutations()
            if e["path"] != LOGIN_PATH and not e["path"].startswith(SESSION_PATH)]


def logins(handle):
    return [e for e in handle.admin.journal() if e["path"] == LOGIN_PATH]


def session_ids(handle):
    """Every session uuid handed out (seen in the logout calls) plus the live ones."""
    ids = {e["path"][len(SESSION_PATH):] for e in handle.admin.journal() if e["path"].startswith(SESSION_PATH)}
    return ids | {s["uuid"] for s in handle.admin.state()["sessions"]}


def assert_no_secrets(handle, output, extra=()):
    secrets = [PASSWORD, hashlib.sha512(PASSWORD.encode()).hexdigest()] + sorted(session_ids(handle)) + list(extra)
    assert session_ids(handle), "no session was used: the secret check would prove nothing"
    for index, secret in enumerate(secrets):
        at = output.find(secret)
        assert at < 0, "secret #%d leaked in the output: ...%s..." % (index, output[max(at - 200, 0):at].replace(secret, "<S>"))
    assert not re.search(r"OAuth [0-9a-f]{32}", output)


def vm(handle, uuid):
    return next(v for v in handle.admin.state()["vm-instances"] if v["uuid"] == uuid)
