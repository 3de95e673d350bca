"""ZStack REST API v1 emulator (/work/shared/api/zstack.md; contract in section 11, assumptions in 12).

Served under ``/zstack/v1``:

* sessions: ``PUT /accounts/login`` (``logInByAccount``, SHA-512 hex password),
  ``DELETE /accounts/sessions/{uuid}``, ``GET /accounts/sessions/{uuid}/valid``;
* queries (``q=`` conditions and the usual paging/sort/fields parameters) and ``/{uuid}`` reads of
  ``vm-instances``, ``volumes``, ``primary-storage``, ``hosts``, ``l3-networks``, ``clusters``,
  ``zones``, ``longjobs``, ``v2v-conversion-hosts``; ``GET /vm-instances/{uuid}/storage-migration-candidates``;
* async calls (202 + ``location`` on the management IP, then ``GET /api-jobs/{uuid}``):
  ``PUT /vm-instances/{uuid}/actions`` ``{"primaryStorageMigrateVm": {...}}``, ``POST /v2vs``
  ``{"params": {...}}``, ``POST /v2v-conversion-hosts`` ``{"params": {...}}``,
  ``PUT /longjobs/{uuid}/actions`` (``cancelLongJob``, ``rerunLongJob``, ``resumeLongJob``).

Errors follow ZStack's REST layer: plain-text 400/404/405/500 from the layer itself, and 503 with
``{"error": ErrorCode}`` for everything decided behind it (sessions, validation, operations).

Everything time-driven (api-job results, LongJob ends, purging finished api-jobs) is a queue of
timed events drained at the start of every request, so no background thread runs and tests can
set every duration to a fraction of a second. Session expiry is compared on read.

Seed: the shape of ``DEFAULT_SEED`` (``GET /__emulator__/state`` returns the same shape); a
top-level key given replaces the default one, except ``config``, which is merged key by key.
Resource records need only the fields that matter; the rest gets defaults (``DEFAULTS``). A seeded
``Running`` LongJob never ends by itself (a stuck job); ``Suspended`` ones can be resumed.

Admin actions (``POST /__emulator__/<action>``), all answering the resulting config:
``config`` (any ``config`` keys), ``session-timeout``, ``migrate-duration``, ``v2v-duration``,
``v2v-start-delay``, ``async-delay``, ``accept-delay``, ``job-retention``, ``api-job-timeout`` (each ``{"seconds": x}``;
the last one injects 503 SYS.1001 on api-jobs still running by then, off with ``config``
``{"api_job_timeout": null}``) and
``v2v-failures`` (``{"sources": {"<url or VM name>": "<failure detail>"}}`` or a list of them); config
``migrate_failures`` ``{"<vm uuid>": "<detail>"}`` makes that VM's migration fail after its root volume moved.
"""

import copy
import functools
import hashlib
import heapq
import itertools
import json
import operator
import re
import time
import uuid as uuidlib

from tests.emulators._server import Emulator, empty_response, json_response, route, text_response

API = "/zstack/v1"
UUID = r"(?P<uuid>[^/]+)"
GIB, TIB = 1024 ** 3, 1024 ** 4
MIGRATE_JOB = "APIPrimaryStorageMigrateVmMsg"
V2V_JOB = "APIConvertVmFromForeignHypervisorMsg"
TERMINAL = ("Succeeded", "Failed", "Canceled")
MIGRATE_TIMEOUT_MS = 72 * 3600 * 1000  # the server's limit for PrimaryStorageMigrateVm
ZSTACK_UUID = re.compile(r"[0-9a-f]{8}[0-9a-f]{4}[1-5][0-9a-f]{3}[89ab][0-9a-f]{3}[0-9a-f]{12}\Z")
# RestServer's order: an operator contained in another one comes after it.
QUERY_OPS = ("!=", ">=", "<=", "!?=", "!~=", "~=", "?=", "=", ">", "<", "is null", "not null")
COMPARE = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt, ">=": operator.ge,
           "<=": operator.le}
DESCRIPTIONS = {
    "SYS.1001": "A message or a operation timeout",
    "SYS.1006": "An operation failed",
    "SYS.1007": "One or more API argument is invalid",
    "ID.1000": "Unable to authenticate a user",
    "ID.1001": "The session is invalid, either wrong session id or the session has been expired",
    "ID.1006": "The maximum number of concurrent sessions is exceeded",
    "LONG_JOB.1000": "long job has been canceled",
}
VO_NAMES = {"zones": "ZoneVO", "clusters": "ClusterVO", "hosts": "HostVO", "primary-storage": "PrimaryStorageVO",
            "l3-networks": "L3NetworkVO", "v2v-conversion-hosts": "V2VConversionHostVO",
            "vm-instances": "VmInstanceVO", "volumes": "VolumeVO", "longjobs": "LongJobVO"}
MIGRATE_TYPES = {"withDataVolumes": bool, "withSnapshots": bool, "downTime": int, "bandwidth": int}
V2V_TYPES = {"cpuNum": int, "memorySize": int, "pauseVm": bool}
CONVERSION_HOST_TYPES = ("VMWARE", "KVM")
V2V_ENUMS = {"platform": ("Linux", "Windows", "WindowsVirtio", "Paravirtualization", "Other"),
             "type": ("UserVm", "ApplianceVm"), "strategy": ("InstantStart", "JustConvert"),
             "convertStrategy": ("CapacityOptimized", "EfficiencyFirst")}
V2V_REFS = {"primaryStorageUuid": "primary-storage", "clusterUuid": "clusters", "zoneUuid": "zones",
            "hostUuid": "hosts", "conversionHostUuid": "v2v-conversion-hosts", "defaultL3NetworkUuid": "l3-networks"}
INSTALL_PATHS = {"NFS": "/opt/zstack/nfsprimarystorage/prim-{ps}/dataVolumes/vol-{vol}/{vol}.qcow2",
                 "Ceph": "ceph://pri-v-{ps}/{vol}",
                 "LocalStorage": "file:///zstack_ps/dataVolumes/vol-{vol}/{vol}.qcow2"}

# Every record gets these fields (createDate/lastOpDate are added on load); they are also the
# fields a query condition may name.
DEFAULTS = {
    "zones": {"uuid": None, "name": None, "description": None, "state": "Enabled", "type": "zstack"},
    "clusters": {"uuid": None, "name": None, "description": None, "state": "Enabled", "hypervisorType": "KVM",
                 "type": "zstack", "zoneUuid": None, "architecture": "x86_64"},
    "hosts": {"uuid": None, "name": None, "description": None, "zoneUuid": None, "clusterUuid": None,
              "managementIp": None, "hypervisorType": "KVM", "state": "Enabled", "status": "Connected",
              "architecture": "x86_64", "cpuNum": 32, "totalCpuCapacity": 128, "availableCpuCapacity": 96,
              "totalMemoryCapacity": 256 * GIB, "availableMemoryCapacity": 192 * GIB},
    "primary-storage": {"uuid": None, "name": None, "description": None, "zoneUuid": None, "url": None,
                        "type": "NFS", "state": "Enabled", "status": "Connected", "mountPath": None,
                        "totalCapacity": 4 * TIB, "availableCapacity": 3 * TIB, "totalPhysicalCapacity": 4 * TIB,
                        "availablePhysicalCapacity": 3 * TIB, "systemUsedCapacity": 0, "attachedClusterUuids": []},
    "l3-networks": {"uuid": None, "name": None, "description": None, "type": "L3BasicNetwork", "zoneUuid": None,
                    "l2NetworkUuid": None, "state": "Enabled", "system": False, "category": "Private",
                    "ipVersion": 4, "dns": []},
    "v2v-conversion-hosts": {"uuid": None, "name": None, "description": None, "hostUuid": None,
                             "storagePath": "/zstack_v2v", "type": "VMWARE", "state": "Enabled",
                             "status": "Connected", "totalSize": 2 * TIB, "availableSize": 2 * TIB},
    "vm-instances": {"uuid": None, "name": None, "description": None, "zoneUuid": None, "clusterUuid": None,
                     "imageUuid": None, "hostUuid": None, "lastHostUuid": None, "instanceOfferingUuid": None,
                     "rootVolumeUuid": None, "platform": "Linux", "defaultL3NetworkUuid": None, "type": "UserVm",
                     "hypervisorType": "KVM", "memorySize": 4 * GIB, "cpuNum": 2, "cpuSpeed": 0,
                     "allocatorStrategy": "LastHostPreferAllocatorStrategy", "state": "Stopped",
                     "architecture": "x86_64", "guestOsType": "Linux", "vmNics": [], "allVolumes": []},
    "volumes": {"uuid": None, "name": None, "description": None, "primaryStorageUuid": None, "vmInstanceUuid": None,
                "diskOfferingUuid": None, "rootImageUuid": None, "installPath": None, "type": "Data",
                "format": "qcow2", "size": 40 * GIB, "actualSize": 8 * GIB, "deviceId": 0, "state": "Enabled",
                "status": "Ready", "isShareable": False},
    "longjobs": {"uuid": None, "name": None, "description": None, "apiId": None, "jobName": None, "jobData": None,
                 "jobResult": None, "state": "Waiting", "targetResourceUuid": None, "managementNodeUuid": None,
                 "executeTime": None},
}
NIC_DEFAULTS = {"uuid": None, "vmInstanceUuid": None, "l3NetworkUuid": None, "ip": None, "mac": None,
                "netmask": "255.255.255.0", "gateway": "10.0.1.1", "deviceId": 0, "type": "VNIC",
                "hypervisorType": "KVM", "ipVersion": 4}


def stable_id(name):
    """A fixed ZStack-style uuid (32 hex, version 5) for seed objects."""
    return uuidlib.uuid5(uuidlib.NAMESPACE_URL, "zstack-emulator/" + name).hex


def new_uuid():
    return uuidlib.uuid4().hex


def zdate(ts):
    """Gson's default date form, e.g. ``Nov 14, 2017 9:20:57 AM`` (local time, no zone)."""
    t = time.localtime(ts)
    return "%s %d, %d %d:%02d:%02d %s" % (time.strftime("%b", t), t.tm_mday, t.tm_year, t.tm_hour % 12 or 12,
                                          t.tm_min, t.tm_sec, "AM" if t.tm_hour < 12 else "PM")


# -- default seed ---------------------------------------------------------------------------
ADMIN_ACCOUNT = "36c27e8ff05c4780bf6d2fa65700f22e"  # the fixed uuid of ZStack's admin account
ZONE, CLUSTER = stable_id("zone-1"), stable_id("cluster-kvm-1")
HOST_1, HOST_2 = stable_id("host-kvm-01"), stable_id("host-kvm-02")
PS_NFS, PS_CEPH, PS_LOCAL = stable_id("ps-nfs-01"), stable_id("ps-ceph-01"), stable_id("ps-local-01")
L3_PROD, L3_MGMT = stable_id("l3-prod"), stable_id("l3-mgmt")
CONVERSION_HOST = stable_id("v2v-ch-01")
VM_WEB, VM_DB, VM_CACHE, VM_BATCH = (stable_id(n) for n in ("web-01", "db-01", "cache-01", "batch-01"))
VM_APP_RUNNING, VM_APP_STOPPED = stable_id("app-01/a"), stable_id("app-01/b")  # same name "app-01"
JOB_FAILED_V2V, JOB_SUSPENDED_V2V = stable_id("longjob-failed"), stable_id("longjob-suspended")
V2V_URL = "vmware://155cb773228d346ba8ed1135d48f3718"
V2V_FAILING_URL = "vmware://0badc0de0badc0de0badc0de0badc0de"


def _seed_vm(vm_uuid, name, state, host, root_ps, ip, data=(), cpu=2, memory_gib=4):
    """A VM record plus its volumes; DATA lists (primary storage, size in GiB) per data volume."""
    root = stable_id(vm_uuid + "/root")
    vm = {"uuid": vm_uuid, "name": name, "state": state, "zoneUuid": ZONE, "clusterUuid": CLUSTER,
          "hostUuid": None if state == "Stopped" else host, "lastHostUuid": host, "rootVolumeUuid": root,
          "cpuNum": cpu, "memorySize": memory_gib * GIB, "defaultL3NetworkUuid": L3_PROD,
          "vmNics": [{"uuid": stable_id(vm_uuid + "/nic"), "l3NetworkUuid": L3_PROD, "ip": ip}]}
    volumes = [{"uuid": root, "name": "ROOT-for-" + name, "type": "Root", "primaryStorageUuid": root_ps,
                "vmInstanceUuid": vm_uuid, "deviceId": 0, "size": 40 * GIB}]
    for index, (ps, size_gib) in enumerate(data, 1):
        volumes.append({"uuid": stable_id("%s/data-%d" % (vm_uuid, index)), "name": "%s-data-%d" % (name, index),
                        "type": "Data", "primaryStorageUuid": ps, "vmInstanceUuid": vm_uuid, "deviceId": index,
                        "size": size_gib * GIB, "actualSize": size_gib * GIB // 4})
    return vm, volumes


_VMS = [
    _seed_vm(VM_WEB, "web-01", "Running", HOST_1, PS_NFS, "10.0.1.11", data=[(PS_NFS, 100)]),
    _seed_vm(VM_DB, "db-01", "Stopped", HOST_1, PS_NFS, "10.0.1.12", data=[(PS_NFS, 200), (PS_NFS, 100)],
             cpu=8, memory_gib=32),
    _seed_vm(VM_CACHE, "cache-01", "Paused", HOST_2, PS_CEPH, "10.0.1.13", memory_gib=16),
    _seed_vm(VM_BATCH, "batch-01", "Starting", HOST_2, PS_NFS, "10.0.1.14"),
    _seed_vm(VM_APP_RUNNING, "app-01", "Running", HOST_1, PS_NFS, "10.0.1.15", data=[(PS_CEPH, 50)]),
    _seed_vm(VM_APP_STOPPED, "app-01", "Stopped", HOST_2, PS_LOCAL, "10.0.1.16"),
]


def _v2v_params(name, url):
    return {"url": url, "name": name, "cpuNum": 2, "memorySize": 4 * GIB, "primaryStorageUuid": PS_NFS,
            "l3NetworkUuids": [L3_PROD], "clusterUuid": CLUSTER, "conversionHostUuid": CONVERSION_HOST}


def _job_result_error(code, details):
    """LongJob ``jobResult`` of a failed or canceled job (LongJobManagerImpl's JobResultError)."""
    return json.dumps({"message": {"code": code, "message_en": DESCRIPTIONS[code], "message_cn": DESCRIPTIONS[code]},
                       "detail": details, "cause": details})


DEFAULT_SEED = {
    "config": {
        "management_ip": "10.0.0.5",  # the MN's own address: location URLs point there, never here
        "management_port": 8080,
        "management_node_uuid": stable_id("management-node-1"),
        "session_timeout": 7200,
        "max_sessions": 500,  # live sessions per account; one more login gives ID.1006
        "api_timeout_ms": 30 * 60 * 1000,  # apiTimeout of the 202 for everything but migration
        "async_delay": 0.1,  # seconds before a plain async call's result shows on its api-job
        # seconds between the 202 and ZStack processing the call (session and parameter checks, the
        # LongJob, the VM state): api/zstack.md section 5, all of it happens after the 202
        "accept_delay": 0.0,
        "migrate_duration": 5.0,  # how long PrimaryStorageMigrateVm runs
        "v2v_start_delay": 1.0,  # how long the V2V api-job stays 202 before answering the Running LongJob
        "v2v_duration": 10.0,  # how long the V2V LongJob runs
        "job_retention": 10800,  # finished api-job results are purged after this
        # Section 12's optional injection: an api-job still running after this many seconds ends
        # 503 SYS.1001 (its message timed out) while the LongJob behind it goes on. None: off.
        "api_job_timeout": None,
        "v2v_failures": {V2V_FAILING_URL: "failed to export the disks of the source VM: vCenter task timed out"},
        "unsupported_ps_pairs": [["Ceph", "LocalStorage"]],  # [source type, destination type]
        # {vm uuid: failure detail}: that VM's migration moves its root volume, then fails (SYS.1006)
        "migrate_failures": {},
    },
    "accounts": [{"uuid": ADMIN_ACCOUNT, "name": "admin", "password": "password"}],
    "zones": [{"uuid": ZONE, "name": "zone-1"}],
    "clusters": [{"uuid": CLUSTER, "name": "cluster-kvm-1", "zoneUuid": ZONE}],
    "hosts": [
        {"uuid": HOST_1, "name": "host-kvm-01", "zoneUuid": ZONE, "clusterUuid": CLUSTER, "managementIp": "192.168.10.11"},
        {"uuid": HOST_2, "name": "host-kvm-02", "zoneUuid": ZONE, "clusterUuid": CLUSTER, "managementIp": "192.168.10.12"},
    ],
    "primary-storage": [
        {"uuid": PS_NFS, "name": "ps-nfs-01", "type": "NFS", "zoneUuid": ZONE, "url": "192.168.10.100:/nfs/zstack",
         "mountPath": "/opt/zstack/nfsprimarystorage/prim-" + PS_NFS, "attachedClusterUuids": [CLUSTER]},
        {"uuid": PS_CEPH, "name": "ps-ceph-01", "type": "Ceph", "zoneUuid": ZONE, "url": "ceph",
         "totalCapacity": 10 * TIB, "availableCapacity": 8 * TIB, "totalPhysicalCapacity": 10 * TIB,
         "availablePhysicalCapacity": 8 * TIB, "attachedClusterUuids": [CLUSTER]},
        {"uuid": PS_LOCAL, "name": "ps-local-01", "type": "LocalStorage", "zoneUuid": ZONE, "url": "/zstack_ps",
         "totalCapacity": 2 * TIB, "availableCapacity": 1536 * GIB, "totalPhysicalCapacity": 2 * TIB,
         "availablePhysicalCapacity": 1536 * GIB, "attachedClusterUuids": [CLUSTER]},
    ],
    "l3-networks": [
        {"uuid": L3_PROD, "name": "l3-prod", "zoneUuid": ZONE, "l2NetworkUuid": stable_id("l2-prod")},
        {"uuid": L3_MGMT, "name": "l3-mgmt", "zoneUuid": ZONE, "l2NetworkUuid": stable_id("l2-mgmt"),
         "category": "Public"},
    ],
    "v2v-conversion-hosts": [{"uuid": CONVERSION_HOST, "name": "v2v-ch-01", "hostUuid": HOST_2}],
    "vm-instances": [vm for vm, _volumes in _VMS],
    "volumes": [volume for _vm, volumes in _VMS for volume in volumes],
    "longjobs": [
        {"uuid": JOB_FAILED_V2V, "name": "v2v-legacy-01", "jobName": V2V_JOB, "state": "Failed",
         "apiId": stable_id("api/longjob-failed"), "executeTime": 420,
         "jobData": json.dumps(_v2v_params("legacy-01", "vmware://5a8e3c1f9b2d4e6f8a7b6c5d4e3f2a1b")),
         "jobResult": _job_result_error("SYS.1006", "lost the connection to vCenter[vc-01.lab.example.com]")},
        {"uuid": JOB_SUSPENDED_V2V, "name": "v2v-report-01", "jobName": V2V_JOB, "state": "Suspended",
         "apiId": stable_id("api/longjob-suspended"),
         "jobData": json.dumps(_v2v_params("report-01", "vmware://7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29"))},
    ],
}
TABLES = tuple(DEFAULTS)  # load order: what a record refers to comes first


class Abort(Exception):
    """A plain-text answer of the REST layer itself (400/404/405/500)."""

    def __init__(self, status, text):
        super().__init__(text)
        self.response = text_response(status, text)


class ZStackError(Exception):
    """An ErrorCode: 503 JSON directly for synchronous calls, on the api-job poll for async ones."""

    def __init__(self, code, details):
        super().__init__(details)
        self.code = code
        self.details = details

    def body(self):
        return {"error": {"code": self.code, "description": DESCRIPTIONS[self.code], "details": self.details}}


def argerr(details):
    return ZStackError("SYS.1007", details)


def api(method, pattern):
    """Route METHOD /zstack/v1PATTERN to the handler, rendering Abort and ZStackError."""

    def mark(func):
        @functools.wraps(func)
        def handler(self, request, **groups):
            try:
                return func(self, request, **groups)
            except Abort as abort:
                return abort.response
            except ZStackError as err:
                return json_response(503, err.body())

        return route(method, API + pattern)(handler)

    return mark


def body_of(request):
    """The JSON body as a dict ({} when empty); Gson's failure is an internal error (500)."""
    try:
        body = request.json()
    except ValueError as exc:
        raise Abort(500, "com.google.gson.JsonSyntaxException: %s" % exc)
    if body is not None and not isinstance(body, dict):
        raise Abort(500, "com.google.gson.JsonSyntaxException: Expected BEGIN_OBJECT")
    return body or {}


def params_of(body, key):
    params = body.get(key)
    if params is not None and not isinstance(params, dict):
        raise Abort(500, "com.google.gson.JsonSyntaxException: Expected BEGIN_OBJECT for [%s]" % key)
    return params or {}


def verify_types(params, types):
    """RestServer's TypeVerifier: runs before dispatch, so a mismatch is a plain-text 400."""
    for name, kind in types.items():
        value = params.get(name)
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if kind is bool and text.lower() not in ("true", "false"):
            raise Abort(400, "Invalid value for boolean field [%s], [%s] is not a valid boolean string[true, false]."
                        % (name, text))
        if kind is int and not _integral(text):
            raise Abort(400, "[%s] field is excepted an int or long, but was [%s]." % (name, text))


def _integral(text):
    try:
        return float(text).is_integer()
    except ValueError:
        return False


def boolean(value, default):
    return default if value is None else str(value).lower() == "true"


def mandatory(params, name, message):
    value = params.get(name)
    if value is None:
        raise argerr("field[%s] of message[%s] is mandatory, can not be null" % (name, message))
    return value


# -- queries -------------------------------------------------------------------------------
def parse_condition(cond):
    """One ``q`` value as (field, operator, value), or RestServer's 400."""
    op = next((o for o in QUERY_OPS if o in cond), None)
    if op is None:
        raise Abort(400, "Invalid query parameter. The '%s' in the parameter[q] doesn't contain any query operator. "
                         "Valid query operators are [[%s]]" % (cond, ", ".join(QUERY_OPS)))
    name, value = cond.split(op, 1)
    if op in ("is null", "not null"):
        return name.strip(), op, None
    if not name.strip() or not value:
        raise Abort(400, "Invalid query parameter. The '%s' in parameter[q] is not a key-value pair split by %s"
                    % (cond, op))
    return name.strip(), op, value  # the value is not trimmed: a space can matter


def matches(item, name, op, value):
    head, _dot, rest = name.partition(".")
    field = item.get(head)
    if rest:  # a condition on a related table: true when any related row matches
        rows = field if isinstance(field, list) else [field] if isinstance(field, dict) else []
        return any(matches(row, rest, op, value) for row in rows)
    if isinstance(field, list):  # e.g. attachedClusterUuids
        return any(compare(element, op, value) for element in field)
    return compare(field, op, value)


def compare(field, op, value):
    if op in ("is null", "not null"):
        return (field is None) == (op == "is null")
    if field is None:  # SQL: NULL never equals or differs
        return False
    if op in ("~=", "!~="):
        return like(value, str(field)) == (op == "~=")
    try:
        values = [convert(field, v) for v in (value.split(",") if op in ("?=", "!?=") else [value])]
    except ValueError:
        raise argerr("invalid value[%s] for a %s field" % (value, type(field).__name__))
    if op in ("?=", "!?="):
        return (field in values) == (op == "?=")
    return COMPARE[op](field, values[0])


def convert(field, text):
    if isinstance(field, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if isinstance(field, (int, float)):
        return float(text)
    return text


def like(pattern, text):
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.S) is not None


class ZStack(Emulator):
    name = "zstack"

    # -- state ---------------------------------------------------------------------------
    def load(self, seed):
        seed = copy.deepcopy(dict(DEFAULT_SEED, **(seed or {})))
        self.config = dict(DEFAULT_SEED["config"], **seed["config"])
        self.accounts = seed["accounts"]
        self.now = time.time()
        self.events = []  # heap of (due, sequence, action)
        self.sequence = itertools.count()
        self.sessions = {}  # uuid -> {"uuid", "accountUuid", "created", "expires"}
        self.api_jobs = {}  # uuid -> {"uuid", "method", "path", "status", "body", "done"}
        self.runs = {}  # LongJob uuid -> the running attempt: {"token", "api_job", "started", "vm_state"}
        self.tables = {kind: {} for kind in TABLES}
        for kind in TABLES:
            for record in seed.get(kind, []):
                self._add(kind, record)

    def _add(self, kind, record):
        record = dict(copy.deepcopy(DEFAULTS[kind]), **record)
        record["uuid"] = record["uuid"] or new_uuid()
        record.setdefault("createDate", zdate(self.now))
        record.setdefault("lastOpDate", record["createDate"])
        if kind == "vm-instances":
            record.pop("allVolumes")  # derived from the volumes on every read
            record["vmNics"] = [self._nic(record["uuid"], nic) for nic in record["vmNics"]]
        if kind == "volumes" and not record["installPath"]:
            record["installPath"] = self._install_path(record)
        self.tables[kind][record["uuid"]] = record
        return record

    def _nic(self, vm_uuid, nic):
        nic = dict(NIC_DEFAULTS, **nic)
        nic["uuid"] = nic["uuid"] or new_uuid()
        nic["vmInstanceUuid"] = vm_uuid
        nic["mac"] = nic["mac"] or "fa:" + ":".join(nic["uuid"][i:i + 2] for i in range(0, 10, 2))
        nic.setdefault("createDate", zdate(self.now))
        nic.setdefault("lastOpDate", nic["createDate"])
        return nic

    def _install_path(self, volume):
        ps = self.tables["primary-storage"][volume["primaryStorageUuid"]]
        template = INSTALL_PATHS.get(ps["type"], ps["type"].lower() + "://{ps}/{vol}")
        return template.format(ps=ps["uuid"], vol=volume["uuid"])

    def _inventory(self, kind, record):
        inventory = copy.deepcopy(record)
        if kind == "vm-instances":
            inventory["allVolumes"] = sorted(
                (copy.deepcopy(v) for v in self.tables["volumes"].values() if v["vmInstanceUuid"] == record["uuid"]),
                key=lambda v: v["deviceId"])
        elif kind == "longjobs" and record["uuid"] in self.runs:
            inventory["executeTime"] = int(self.now - self.runs[record["uuid"]]["started"])
        return inventory

    def _ref(self, kind, uuid, field):
        """The record KIND/UUID named by request field FIELD, or ApiMediator's SYS.1007."""
        record = self.tables[kind].get(uuid) if isinstance(uuid, str) else None
        if record is None:
            raise argerr("invalid field[%s], resource[uuid:%s, type:%s] not found" % (field, uuid, VO_NAMES[kind]))
        return record

    def _volumes(self, vm_uuid):
        return [v for v in self.tables["volumes"].values() if v["vmInstanceUuid"] == vm_uuid]

    def snapshot(self):
        with self.lock:
            self._tick()
            state = {kind: [self._inventory(kind, r) for r in table.values()] for kind, table in self.tables.items()}
            state.update(config=self.config, accounts=self.accounts, sessions=list(self.sessions.values()),
                         api_jobs=list(self.api_jobs.values()))
            return state

    def expire_sessions(self):
        self.sessions.clear()

    def connection_info(self):
        account = self.accounts[0]
        info = {"username": account["name"], "password": account["password"], "account_uuid": account["uuid"],
                "management_ip": self.config["management_ip"], "v2v_url": V2V_URL,
                "v2v_failing_sources": sorted(self.config["v2v_failures"])}
        for kind, table in self.tables.items():
            info[kind] = [{k: r[k] for k in ("uuid", "name", "state", "type") if k in r} for r in table.values()]
        return info

    # -- time ----------------------------------------------------------------------------
    def before_request(self):
        self._tick()

    def _tick(self):
        """Run every event that is due, in order and each at its own time; purge old api-jobs."""
        now = time.time()
        while self.events and self.events[0][0] <= now:
            self.now, dummy, action = heapq.heappop(self.events)
            action()
        self.now = now
        expired = now - self.config["job_retention"]
        for job_uuid in [u for u, j in self.api_jobs.items() if j["done"] is not None and j["done"] <= expired]:
            del self.api_jobs[job_uuid]

    def _at(self, delay, action):
        heapq.heappush(self.events, (self.now + delay, next(self.sequence), action))

    # -- REST layer ----------------------------------------------------------------------
    def not_found(self, request):
        if re.match(API + r"/api-jobs/[^/]+\Z", request.path):
            return text_response(405, "only GET method is allowed for querying job status")
        path = request.path[len("/zstack"):] if request.path.startswith("/zstack/") else request.path
        return text_response(404, "no api mapping to %s" % path)

    @staticmethod
    def _token(request):
        auth = request.header("Authorization")
        if auth is None:
            raise Abort(400, "missing header 'Authorization'")
        auth = auth.strip()
        if not auth.startswith("OAuth"):
            raise Abort(400, "Authorization type must be 'OAuth'")
        return auth.replace("OAuth", "", 1).strip()

    def _check_session(self, token):
        """The session behind TOKEN, its expiry pushed forward (sliding), or ID.1001."""
        session = self.sessions.get(token)
        if session is None or session["expires"] <= self.now:
            self.sessions.pop(token, None)
            raise ZStackError("ID.1001", "Session expired")
        session["expires"] = self.now + self.config["session_timeout"]
        return session

    @staticmethod
    def _action(request, body, actions):
        """The action key of a PUT .../actions body, matched case-sensitively like RestServer."""
        action = next((a for a in actions if a in body), None)
        if action is None:
            raise Abort(400, "the body doesn't contain action mapping to the URL[%s]" % request.path[len("/zstack"):])
        return action

    def _submit(self, request, token, operation, timeout_ms=None):
        """Accept an async call: 202 with the api-job location; OPERATION(job uuid) runs behind it.

        Session and parameter checks happen after the 202, so their errors land on the api-job.
        """
        job_uuid = request.header("X-Job-UUID")
        if job_uuid is None:
            job_uuid = new_uuid()
        elif len(job_uuid) != 32:
            raise Abort(400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped")
        elif job_uuid in self.api_jobs:
            raise Abort(400, "Duplicate job uuid[%s]" % job_uuid)
        self.api_jobs[job_uuid] = {"uuid": job_uuid, "method": request.method, "path": request.path,
                                   "createDate": zdate(self.now), "status": None, "body": None, "done": None}

        def process():
            try:
                self._check_session(token)
                operation(job_uuid)
            except ZStackError as err:
                self._result_later(job_uuid, 503, err.body())

        if self.config["accept_delay"]:
            self._at(float(self.config["accept_delay"]), process)
        else:
            process()
        if self.config["api_job_timeout"] is not None:  # a no-op for an api-job done by then
            timeout_error = ZStackError("SYS.1001", "the api message[uuid:%s] timed out after %s seconds"
                                        % (job_uuid, self.config["api_job_timeout"]))
            self._result_later(job_uuid, 503, timeout_error.body(), float(self.config["api_job_timeout"]))
        header = request.header("X-API-Timeout", "")
        timeout = int(header) * 1000 if header.isdigit() else timeout_ms or self.config["api_timeout_ms"]
        location = "http://%s:%d%s/api-jobs/%s" % (self.config["management_ip"], self.config["management_port"],
                                                   API, job_uuid)
        return json_response(202, {"location": location, "apiTimeout": timeout})

    def _result_later(self, job_uuid, status, body, delay=None):
        """Give the api-job its result after DELAY (default ``async_delay``); BODY may be a callable."""
        delay = self.config["async_delay"] if delay is None else delay
        self._at(delay, lambda: self._set_result(job_uuid, status, body))

    def _set_result(self, job_uuid, status, body):
        job = self.api_jobs.get(job_uuid)
        if job is not None and job["done"] is None:
            job.update(status=status, body=body() if callable(body) else body, done=self.now)

    @api("GET", "/api-jobs/" + UUID)
    def poll(self, request, uuid):
        job = self.api_jobs.get(uuid)
        if job is None:
            return text_response(404, "the job has been expired")
        if job["done"] is None:
            return json_response(202, {})
        if job["body"] is None:  # an event without fields: ZStack sends no body
            return empty_response(job["status"])
        return json_response(job["status"], job["body"])

    # -- sessions ------------------------------------------------------------------------
    @api("PUT", "/accounts/login")
    def login(self, request):
        params = params_of(body_of(request), "logInByAccount")
        name = mandatory(params, "accountName", "APILogInByAccountMsg")
        password = mandatory(params, "password", "APILogInByAccountMsg")
        account = next((a for a in self.accounts if a["name"] == name), None)
        if account is None or password != hashlib.sha512(account["password"].encode()).hexdigest():
            raise ZStackError("ID.1000", "wrong account name or password")
        live = [s for s in self.sessions.values() if s["accountUuid"] == account["uuid"] and s["expires"] > self.now]
        if len(live) >= self.config["max_sessions"]:
            raise ZStackError("ID.1006", "the account[uuid:%s] has reached the maximum number of concurrent sessions "
                                         "[%d]" % (account["uuid"], self.config["max_sessions"]))
        session = {"uuid": new_uuid(), "accountUuid": account["uuid"], "created": self.now,
                   "expires": self.now + self.config["session_timeout"]}
        self.sessions[session["uuid"]] = session
        return json_response(200, {"inventory": {
            "uuid": session["uuid"], "accountUuid": account["uuid"], "userUuid": account["uuid"],
            "expiredDate": zdate(session["expires"]), "createDate": zdate(self.now)}})

    @api("DELETE", "/accounts/sessions/" + UUID)
    def logout(self, request, uuid):
        self.sessions.pop(uuid, None)  # logging out an unknown session succeeds too
        return empty_response(200)

    @api("GET", "/accounts/sessions/" + UUID + "/valid")
    def session_valid(self, request, uuid):
        session = self.sessions.get(uuid)  # checking does not extend the session
        return json_response(200, {"valid": session is not None and session["expires"] > self.now})

    # -- queries -------------------------------------------------------------------------
    @api("GET", r"/(?P<kind>%s)" % "|".join(TABLES))
    def query(self, request, kind):
        self._check_session(self._token(request))
        conditions = [parse_condition(c) for c in request.query.get("q", [])]
        limit, start = self._int_arg(request, "limit", 1000), self._int_arg(request, "start", 0)
        sort = request.arg("sort", "").strip()
        sort_by = sort.lstrip("+-")
        fields = [f.strip() for f in request.arg("fields", "").split(",") if f.strip()]
        for name in [c[0] for c in conditions] + ([sort_by] if sort_by else []) + fields:
            if name.split(".")[0] not in DEFAULTS[kind]:
                raise argerr("field[%s] is not a queryable field of %s" % (name, VO_NAMES[kind]))
        items = [self._inventory(kind, r) for r in self.tables[kind].values()]
        items = [i for i in items if all(matches(i, *c) for c in conditions)]
        if request.arg("count", "").lower() == "true":
            return json_response(200, {"total": len(items)})
        if sort_by:  # MySQL order: NULL first when ascending
            items.sort(key=lambda i: (i[sort_by] is not None, i[sort_by]), reverse=sort.startswith("-"))
        page = items[start:start + limit]
        if fields:
            page = [{f: i[f] for f in fields if f in i} for i in page]
        reply = {"inventories": page}
        if request.arg("replyWithCount", "").lower() == "true":
            reply["total"] = len(items)
        return json_response(200, reply)

    @staticmethod
    def _int_arg(request, name, default):
        value = request.arg(name)
        if value is None:
            return default
        try:
            return int(value.strip())
        except ValueError:
            raise Abort(400, "Invalid query parameter. '%s' must be an integer" % name)

    @api("GET", r"/(?P<kind>%s)/%s" % ("|".join(TABLES), UUID))
    def read(self, request, kind, uuid):
        self._check_session(self._token(request))
        record = self.tables[kind].get(uuid)  # unknown: 200 with an empty list, not 404
        return json_response(200, {"inventories": [self._inventory(kind, record)] if record else []})

    @api("GET", "/vm-instances/" + UUID + "/storage-migration-candidates")
    def migration_candidates(self, request, uuid):
        self._check_session(self._token(request))
        vm = self._ref("vm-instances", uuid, "vmInstanceUuid")
        source = self.tables["primary-storage"][self.tables["volumes"][vm["rootVolumeUuid"]]["primaryStorageUuid"]]
        candidates = [self._inventory("primary-storage", ps) for ps in self.tables["primary-storage"].values()
                      if ps["zoneUuid"] == vm["zoneUuid"] and ps["uuid"] != source["uuid"]
                      and ps["state"] == "Enabled" and ps["status"] == "Connected"
                      and [source["type"], ps["type"]] not in self.config["unsupported_ps_pairs"]]
        return json_response(200, {"inventories": candidates})

    # -- PrimaryStorageMigrateVm ---------------------------------------------------------
    @api("PUT", "/vm-instances/" + UUID + "/actions")
    def vm_action(self, request, uuid):
        body = body_of(request)
        action = self._action(request, body, ("primaryStorageMigrateVm",))
        token = self._token(request)
        params = params_of(body, action)  # other top-level keys (e.g. "migratevm") are ignored
        verify_types(params, MIGRATE_TYPES)
        return self._submit(request, token, lambda job_uuid: self._migrate(job_uuid, uuid, params),
                            MIGRATE_TIMEOUT_MS)

    def _migration(self, vm_uuid, params):
        """Check a migration request; return the volumes it has to move (ZStackError if refused)."""
        vm = self._ref("vm-instances", vm_uuid, "vmInstanceUuid")
        dst = self._ref("primary-storage", mandatory(params, "dstPrimaryStorageUuid", MIGRATE_JOB),
                        "dstPrimaryStorageUuid")
        host_uuid = params.get("dstHostUuid")
        if host_uuid is not None:
            self._ref("hosts", host_uuid, "dstHostUuid")
        if params.get("strategy") not in (None, "auto-converge", "no-converge"):
            raise argerr("valid value for field[strategy] of message[%s] are [auto-converge, no-converge], but %s "
                         "found" % (MIGRATE_JOB, params["strategy"]))
        if vm["state"] not in ("Running", "Paused", "Stopped"):
            raise ZStackError("SYS.1006", "not support vm state[%s]" % vm["state"])
        with_data = boolean(params.get("withDataVolumes"), True)
        volumes = [v for v in self._volumes(vm_uuid)
                   if (with_data or v["type"] == "Root") and v["primaryStorageUuid"] != dst["uuid"]]
        for volume in volumes:
            source = self.tables["primary-storage"][volume["primaryStorageUuid"]]
            if [source["type"], dst["type"]] in self.config["unsupported_ps_pairs"]:
                raise ZStackError("SYS.1006", "not support to migrate volume[uuid:%s] from primary storage type[%s] "
                                              "to type[%s]" % (volume["uuid"], source["type"], dst["type"]))
        if volumes and dst["type"] == "LocalStorage" and host_uuid is None:
            raise argerr("dstHostUuid is required when the destination primary storage[uuid:%s] is LocalStorage"
                         % dst["uuid"])
        needed = sum(v["size"] for v in volumes)
        if needed > dst["availableCapacity"]:
            raise ZStackError("SYS.1006", "no enough capacity on primary storage[uuid:%s], required %d bytes, "
                                          "available %d bytes" % (dst["uuid"], needed, dst["availableCapacity"]))
        return volumes

    def _migrate(self, job_uuid, vm_uuid, params):
        if not self._migration(vm_uuid, params):  # nothing to move: done at once, VM unchanged
            vm = self.tables["vm-instances"][vm_uuid]
            self._result_later(job_uuid, 200, lambda: {"inventory": self._inventory("vm-instances", vm)})
            return
        job = self._add("longjobs", {"name": MIGRATE_JOB, "jobName": MIGRATE_JOB, "apiId": job_uuid,
                                     "jobData": json.dumps(dict(params, vmInstanceUuid=vm_uuid)),
                                     "targetResourceUuid": vm_uuid,
                                     "managementNodeUuid": self.config["management_node_uuid"]})
        self._start(job, api_job=job_uuid)  # the api-job stays 202 until the LongJob ends

    def _finish_migration(self, job, run):
        params = json.loads(job["jobData"])
        vm = self.tables["vm-instances"][params["vmInstanceUuid"]]
        dst = self.tables["primary-storage"][params["dstPrimaryStorageUuid"]]
        with_data = boolean(params.get("withDataVolumes"), True)
        failure = self.config["migrate_failures"].get(vm["uuid"])
        for volume in self._volumes(vm["uuid"]):
            if failure is not None and volume["type"] != "Root":
                continue  # a scripted failure after the root volume moved
            if (with_data or volume["type"] == "Root") and volume["primaryStorageUuid"] != dst["uuid"]:
                self.tables["primary-storage"][volume["primaryStorageUuid"]]["availableCapacity"] += volume["size"]
                dst["availableCapacity"] -= volume["size"]
                volume.update(primaryStorageUuid=dst["uuid"], lastOpDate=zdate(self.now))
                volume["installPath"] = self._install_path(volume)
        live = run["vm_state"] != "Stopped"
        host_uuid = params.get("dstHostUuid")
        if host_uuid and live and host_uuid != vm["hostUuid"]:
            vm.update(lastHostUuid=vm["hostUuid"], hostUuid=host_uuid)
        elif host_uuid:
            vm["lastHostUuid"] = host_uuid
        # Section 8: a live migration (from Running or Paused) ends Running; offline ends Stopped.
        vm.update(state="Running" if live else "Stopped", lastOpDate=zdate(self.now))
        if failure is not None:
            raise ZStackError("SYS.1006", failure)
        return {"inventory": self._inventory("vm-instances", vm)}

    # -- ConvertVmFromForeignHypervisor (V2V) --------------------------------------------
    @api("POST", "/v2vs")
    def convert(self, request):
        body = body_of(request)
        token = self._token(request)
        params = params_of(body, "params")
        verify_types(params, V2V_TYPES)
        return self._submit(request, token, lambda job_uuid: self._convert(job_uuid, params))

    def _check_conversion(self, params, new):
        for name in ("url", "name", "cpuNum", "memorySize", "primaryStorageUuid", "l3NetworkUuids"):
            mandatory(params, name, V2V_JOB)
        l3_uuids = params["l3NetworkUuids"]
        if not isinstance(l3_uuids, list) or not l3_uuids:
            raise argerr("field[l3NetworkUuids] of message[%s] must be a non-empty list" % V2V_JOB)
        for name, limit in (("url", 1024), ("name", 255)):
            if len(str(params[name])) > limit:
                raise argerr("field[%s] of message[%s] exceeds the max length of string. expected was <= %d, actual "
                             "was %d" % (name, V2V_JOB, limit, len(str(params[name]))))
        if not 1 <= float(params["cpuNum"]) <= 1024:
            raise argerr("field[cpuNum] of message[%s] must be in range of [1, 1024], but %s found"
                         % (V2V_JOB, params["cpuNum"]))
        if not str(params["url"]).startswith(("vmware://", "kvm://")):
            raise argerr("invalid url[%s], only vmware:// and kvm:// sources are supported" % params["url"])
        for name, values in V2V_ENUMS.items():
            if params.get(name) is not None and params[name] not in values:
                raise argerr("valid value for field[%s] of message[%s] are [%s], but %s found"
                             % (name, V2V_JOB, ", ".join(values), params[name]))
        for name, kind in V2V_REFS.items():
            if params.get(name) is not None:
                self._ref(kind, params[name], name)
        for l3_uuid in l3_uuids:
            self._ref("l3-networks", l3_uuid, "l3NetworkUuids")
        resource_uuid = params.get("resourceUuid")
        if new and resource_uuid is not None:
            if not isinstance(resource_uuid, str) or not ZSTACK_UUID.match(resource_uuid):
                raise argerr("resourceUuid[%s] is not a valid uuid. A valid uuid is a UUID(v4 recommended) with '-' "
                             "stripped. see http://en.wikipedia.org/wiki/Universally_unique_identifier for format "
                             "of UUID, the regular expression ZStack uses to validate a UUID is: %s"
                             % (resource_uuid, ZSTACK_UUID.pattern[:-2]))
            if any(resource_uuid in table for table in self.tables.values()):
                raise argerr("resource[uuid:%s] already exists" % resource_uuid)

    def _convert(self, job_uuid, params):
        self._check_conversion(params, new=True)
        job = self._add("longjobs", {"uuid": params.get("resourceUuid"), "name": params.get("longJobName") or V2V_JOB,
                                     "description": params.get("longJobDescription"), "jobName": V2V_JOB,
                                     "jobData": json.dumps(params), "apiId": job_uuid,
                                     "managementNodeUuid": self.config["management_node_uuid"]})
        self._start(job)
        # The api-job answers once the job runs, with the LongJob as it is then.
        self._result_later(job_uuid, 200, lambda: {"inventory": self._inventory("longjobs", job)},
                           self.config["v2v_start_delay"])

    def _finish_conversion(self, job):
        params = json.loads(job["jobData"])
        failures = self.config["v2v_failures"]
        for key in (params["url"], params["name"]):
            if key in failures:
                raise ZStackError("SYS.1006", failures[key])
        ps = self.tables["primary-storage"][params["primaryStorageUuid"]]
        cluster = params.get("clusterUuid") or next(iter(ps["attachedClusterUuids"]), None)
        host = params.get("hostUuid") or next(
            (h["uuid"] for h in self.tables["hosts"].values() if h["clusterUuid"] == cluster), None)
        running = params.get("strategy", "InstantStart") != "JustConvert"
        l3_uuids = params["l3NetworkUuids"]
        used_ips = sum(len(vm["vmNics"]) for vm in self.tables["vm-instances"].values())
        vm_uuid, root_uuid = new_uuid(), new_uuid()
        vm = self._add("vm-instances", {
            "uuid": vm_uuid, "name": params["name"], "description": params.get("description"),
            "zoneUuid": ps["zoneUuid"], "clusterUuid": cluster, "hostUuid": host if running else None,
            "lastHostUuid": host, "rootVolumeUuid": root_uuid, "cpuNum": int(float(params["cpuNum"])),
            "memorySize": int(float(params["memorySize"])), "platform": params.get("platform", "Linux"),
            "defaultL3NetworkUuid": params.get("defaultL3NetworkUuid") or l3_uuids[0],
            "state": "Running" if running else "Stopped",
            "vmNics": [{"l3NetworkUuid": l3, "deviceId": i, "ip": "10.0.1.%d" % (100 + used_ips + i)}
                       for i, l3 in enumerate(l3_uuids)]})
        root = self._add("volumes", {"uuid": root_uuid, "name": "ROOT-for-" + params["name"], "type": "Root",
                                     "primaryStorageUuid": ps["uuid"], "vmInstanceUuid": vm_uuid})
        ps["availableCapacity"] -= root["size"]
        job["targetResourceUuid"] = vm_uuid
        return {"inventory": self._inventory("vm-instances", vm)}

    @api("POST", "/v2v-conversion-hosts")
    def add_conversion_host(self, request):
        body = body_of(request)
        token = self._token(request)
        params = params_of(body, "params")
        return self._submit(request, token, lambda job_uuid: self._add_conversion_host(job_uuid, params))

    def _add_conversion_host(self, job_uuid, params):
        message = "APIAddV2VConversionHostMsg"
        for name in ("name", "hostUuid", "storagePath", "type"):
            mandatory(params, name, message)
        if params["type"] not in CONVERSION_HOST_TYPES:
            raise argerr("valid value for field[type] of message[%s] are [%s], but %s found"
                         % (message, ", ".join(CONVERSION_HOST_TYPES), params["type"]))
        self._ref("hosts", params["hostUuid"], "hostUuid")
        record = {k: params[k] for k in ("name", "description", "hostUuid", "storagePath", "type") if k in params}
        host = self._add("v2v-conversion-hosts", dict(record, uuid=params.get("resourceUuid")))
        self._result_later(job_uuid, 200, lambda: {"inventory": self._inventory("v2v-conversion-hosts", host)})

    # -- LongJobs ------------------------------------------------------------------------
    @api("PUT", "/longjobs/" + UUID + "/actions")
    def longjob_action(self, request, uuid):
        body = body_of(request)
        actions = {"cancelLongJob": self._cancel_job, "rerunLongJob": self._rerun_job,
                   "resumeLongJob": self._resume_job}
        action = self._action(request, body, actions)
        token = self._token(request)
        params_of(body, action)
        return self._submit(request, token, lambda job_uuid: actions[action](job_uuid, uuid))

    def _start(self, job, api_job=None):
        """(Re)start JOB: Running now, ending after its kind's duration. API_JOB gets its result."""
        run = {"token": next(self.sequence), "api_job": api_job, "started": self.now, "vm_state": None}
        if job["jobName"] == MIGRATE_JOB:
            vm = self.tables["vm-instances"][json.loads(job["jobData"])["vmInstanceUuid"]]
            run["vm_state"] = vm["state"]
            vm.update(state="VolumeMigrating" if vm["state"] == "Stopped" else "Migrating", lastOpDate=zdate(self.now))
            duration = self.config["migrate_duration"]
        else:
            duration = self.config["v2v_duration"]
        self.runs[job["uuid"]] = run
        job.update(state="Running", jobResult=None, executeTime=None, lastOpDate=zdate(self.now))
        self._at(duration, lambda: self._end(job["uuid"], run["token"]))

    def _end(self, job_uuid, token):
        job, run = self.tables["longjobs"].get(job_uuid), self.runs.get(job_uuid)
        if job is None or run is None or run["token"] != token:
            return  # canceled (or restarted) meanwhile
        del self.runs[job_uuid]
        try:
            if job["jobName"] == MIGRATE_JOB:
                result = self._finish_migration(job, run)
            else:
                result = self._finish_conversion(job)
        except ZStackError as err:
            self._close(job, run, "Failed", _job_result_error(err.code, err.details), 503, err.body())
        else:
            self._close(job, run, "Succeeded", json.dumps(result), 200, result)

    def _close(self, job, run, state, job_result, status, body):
        job.update(state=state, jobResult=job_result, lastOpDate=zdate(self.now))
        if run is not None:
            job["executeTime"] = int(self.now - run["started"])
            if run["api_job"]:
                self._set_result(run["api_job"], status, body)

    def _cancel_job(self, api_job, uuid):
        job = self._ref("longjobs", uuid, "uuid")
        if job["state"] in ("Succeeded", "Failed"):
            raise argerr("cannot cancel longjob that is %s" % job["state"].lower())
        if job["state"] != "Canceled":
            run = self.runs.pop(uuid, None)
            if run is not None and run["vm_state"] is not None:  # a migration stops where it was
                vm = self.tables["vm-instances"][json.loads(job["jobData"])["vmInstanceUuid"]]
                vm.update(state=run["vm_state"], lastOpDate=zdate(self.now))
            err = ZStackError("LONG_JOB.1000", "the job[uuid:%s] has been canceled" % uuid)
            self._close(job, run, "Canceled", _job_result_error(err.code, err.details), 503, err.body())
        self._result_later(api_job, 200, None)  # APICancelLongJobEvent has no fields

    def _rerun_job(self, api_job, uuid):
        job = self._ref("longjobs", uuid, "uuid")
        if job["state"] not in TERMINAL:
            raise argerr("rerun longjob only when it's succeeded, canceled, or failed")
        params = json.loads(job["jobData"])
        if job["jobName"] == MIGRATE_JOB:
            self._migration(params["vmInstanceUuid"], params)
        else:
            self._check_conversion(params, new=False)
        job["apiId"] = api_job
        self._start(job)
        self._result_later(api_job, 200, lambda: {"inventory": self._inventory("longjobs", job)})

    def _resume_job(self, api_job, uuid):
        job = self._ref("longjobs", uuid, "uuid")
        if job["state"] != "Suspended":
            raise argerr("can only resume longjob that is Suspended")
        self._start(job)
        self._result_later(api_job, 200, lambda: {"inventory": self._inventory("longjobs", job)})

    # -- admin ---------------------------------------------------------------------------
    SECONDS_SETTINGS = {"session-timeout": "session_timeout", "migrate-duration": "migrate_duration",
                        "v2v-duration": "v2v_duration", "v2v-start-delay": "v2v_start_delay",
                        "async-delay": "async_delay", "accept-delay": "accept_delay",
                        "job-retention": "job_retention",
                        "api-job-timeout": "api_job_timeout"}

    def admin(self, request, action):
        if request.method != "POST":
            return None
        body = request.json() or {}
        with self.lock:
            self._tick()
            if action == "config":
                unknown = set(body) - set(self.config)
                if unknown:
                    return text_response(400, "unknown config keys: %s" % ", ".join(sorted(unknown)))
                self.config.update(body)
            elif action in self.SECONDS_SETTINGS:
                self.config[self.SECONDS_SETTINGS[action]] = float(body["seconds"])
            elif action == "v2v-failures":
                sources = body["sources"]
                if isinstance(sources, list):
                    sources = {s: "the conversion of [%s] failed (scripted by the emulator)" % s for s in sources}
                self.config["v2v_failures"] = sources
            else:
                return None
            return json_response(200, self.config)


EMULATOR = ZStack
