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


def bulk_names(count, prefix="bulk"):
    return ["%s-%03d" % (prefix, i) for i in range(count)]


def many_vms_seed(count, on_ceph=(), stopped=(), prefix="bulk", **seconds):
    """The default seed plus COUNT VMs named ``<prefix>-000``... (root + one data volume on NFS, or on
    Ceph for the indexes in ON_CEPH; Stopped for those in STOPPED, else Running), a Ceph primary storage
    large enough for all of them, and short durations (SECONDS overrides). Returns (seed, VM uuids)."""
    vms, volumes, uuids = [], [], []
    for index, name in enumerate(bulk_names(count, prefix)):
        ps = emu.PS_CEPH if index in on_ceph else emu.PS_NFS
        record, disks = emu._seed_vm(emu.stable_id(name), name, "Stopped" if index in stopped else "Running",
                                     (emu.HOST_1, emu.HOST_2)[index % 2], ps, "10.9.%d.%d" % (index // 250, index % 250 + 1),
                                     data=[(ps, 10)])
        vms.append(record)
        volumes.extend(disks)
        uuids.append(record["uuid"])
    config = dict(emu.DEFAULT_SEED["config"], migrate_duration=0.5, v2v_duration=0.5, v2v_start_delay=0.1,
                  async_delay=0.05)
    config.update(seconds)
    storages = [dict(ps, availableCapacity=1024 * emu.TIB, totalCapacity=1024 * emu.TIB) if ps["uuid"] == emu.PS_CEPH
                else ps for ps in emu.DEFAULT_SEED["primary-storage"]]
    return ({"config": config, "accounts": [{"uuid": emu.ADMIN_ACCOUNT, "name": "admin", "password": PASSWORD}],
             "primary-storage": storages, "vm-instances": emu.DEFAULT_SEED["vm-instances"] + vms,
             "volumes": emu.DEFAULT_SEED["volumes"] + volumes}, uuids)


def prepare_many(handle, count, on_ceph=(), stopped=(), prefix="bulk", **seconds):
    """Reset the emulator behind HANDLE to ``many_vms_seed``; return the uuids of the VMs it added."""
    seed, uuids = many_vms_seed(count, on_ceph, stopped, prefix, **seconds)
    handle.reset(seed)
    return uuids


def migrations_per_vm(handle):
    """{vm uuid: PrimaryStorageMigrateVm calls ZStack received for it} (the journal)."""
    counts = {}
    for method, path in operations(handle):
        if method == "PUT" and path.startswith("/zstack/v1/vm-instances/") and path.endswith("/actions"):
            uuid = path.split("/")[4]
            counts[uuid] = counts.get(uuid, 0) + 1
    return counts


def placement(handle, uuids):
    """{vm uuid: set of primary storages of its volumes}."""
    state = handle.admin.state()
    wanted = set(uuids)
    found = {}
    for volume in state["volumes"]:
        if volume["vmInstanceUuid"] in wanted:
            found.setdefault(volume["vmInstanceUuid"], set()).add(volume["primaryStorageUuid"])
    return found
