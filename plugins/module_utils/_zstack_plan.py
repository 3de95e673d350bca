# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure planning for the ZStack modules: API data in, desired changes out. No I/O.

Field names and states follow the ZStack v1 REST API (see the project's api/zstack.md).
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import unquote

UUID_RE = re.compile(r"\A[0-9a-f]{32}\Z")


# -- identifiers ----------------------------------------------------------------------------------

def is_uuid(value):
    """ZStack uuids are 32 lowercase hex characters (a UUID without dashes)."""
    return isinstance(value, str) and bool(UUID_RE.match(value))


RESOURCE_UUID_RE = re.compile(r"\A[0-9a-f]{12}[1-5][0-9a-f]{3}[89ab][0-9a-f]{15}\Z")


def is_resource_uuid(value):
    """A uuid ZStack accepts as ``resourceUuid``: 32 lowercase hex in the UUID version 1-5 layout."""
    return isinstance(value, str) and bool(RESOURCE_UUID_RE.match(value))


V2V_NAMESPACE = uuid.UUID("5b0f1f64-3c5e-4c4b-9a55-2f6f3d6c1e7a")  # fixed: derived uuids must be stable


def derive_v2v_job_uuid(url, name):
    """The V2V LongJob uuid chosen for URL + NAME when the user gives none: the same on every run."""
    return uuid.uuid5(V2V_NAMESPACE, "%s\n%s" % (url, name)).hex


CALL_NAMESPACE = uuid.UUID("0d8f4c52-6a43-4b0e-8f0e-3c1f2a7b9d61")  # fixed: derived uuids must be stable


def call_job_uuid(operation, *identity):
    """The X-Job-UUID for OPERATION on what IDENTITY names (JSON-able, no secrets): the same on every run
    that would send the same call, so that a re-run finds an earlier run's call still being processed."""
    return uuid.uuid5(CALL_NAMESPACE, json.dumps([operation] + list(identity), sort_keys=True)).hex


def next_call_uuid(previous):
    """The X-Job-UUID that follows PREVIOUS when ZStack already ended a call of that uuid (the same call
    made again within its api-job retention). Derived too, so that a re-run walks the same chain and
    finds the call an interrupted run sent with it."""
    return call_job_uuid("next", previous)


def earlier_call_action(status, adopt_ended=False):
    """What to do with a derived X-Job-UUID, from ZStack's answer about its api-job (STATUS: 202
    running, 200 done, 503 failed, 404 unknown, None no answer):

    * ``send``: ZStack does not know it (or could not be asked: then its duplicate guard still
      stops an identical call it knows from running twice);
    * ``adopt``: an earlier run's identical call is still running (accepted, perhaps not yet
      processed, so nothing else shows it yet); with ADOPT_ENDED also one that succeeded, which the
      caller then judges by reading the real state again (a plan read before it ended is stale);
    * ``next``: it ended (failed, or succeeded when the caller does not adopt that): its uuid is
      taken, the call goes with ``next_call_uuid``.
    """
    if status in (404, None):
        return "send"
    if status == 202 or (status == 200 and adopt_ended):
        return "adopt"
    return "next"


def short_uuid(value):
    """The first 8 characters of a uuid and an ellipsis (``4f2c81d0…``), for messages and diffs."""
    return "%s\u2026" % value[:8] if isinstance(value, str) and len(value) > 12 else value


def label(inventory):
    """An object for people, its name with its uuid beside it: ``web-01 (f0f7aed5…)``; the
    (short) uuid alone when it has no name. Results carry the full uuids beside such labels."""
    if not isinstance(inventory, dict):
        return short_uuid(inventory)
    name, uuid_ = inventory.get("name"), inventory.get("uuid")
    return "%s (%s)" % (name, short_uuid(uuid_)) if name else short_uuid(uuid_)


def named(inventory):
    """{"name", "uuid"} of an inventory, for results (None stays None)."""
    if not isinstance(inventory, dict):
        return None
    return {"name": inventory.get("name"), "uuid": inventory.get("uuid")}


V2V_URL_SCHEMES = ("vmware://", "kvm://")
# What a source URL may hold after its scheme: RFC 3986 unreserved characters plus the delimiters
# the two known forms use (user@host:port/path, IPv6 brackets) and percent escapes.
_V2V_URL_REST_RE = re.compile(r"\A[A-Za-z0-9._~%@:/\[\]+=,-]+\Z")
_PERCENT_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def v2v_url_problem(url):
    """None when URL is a source ZStack can convert from and safe to hand over, else what is wrong.

    The scheme must be one ZStack converts from. The rest stays opaque (its form is release
    specific) but is REJECTED, not encoded, when it holds anything that could make ZStack read
    another source than the user meant: characters outside the URL set (spaces, quotes, control
    characters, ``?``, ``#``, ``\\``), a bad percent escape, or a ``.``/``..`` path segment
    (also percent-encoded). Encoding would silently change the source the user named.
    """
    if not any(url.startswith(scheme) and len(url) > len(scheme) for scheme in V2V_URL_SCHEMES):
        return "must start with %s followed by the source VM (got %r)" % (" or ".join(V2V_URL_SCHEMES), url)
    if len(url) > 1024:
        return "must be at most 1024 characters long"
    rest = url.split("://", 1)[1]
    if not _V2V_URL_REST_RE.match(rest):
        bad = sorted(set(c for c in rest if not _V2V_URL_REST_RE.match(c)))
        return "holds characters a source URL may not contain: %s" % ", ".join(repr(c) for c in bad)
    if _PERCENT_ESCAPE_RE.search(rest):
        return "holds a '%' that starts no percent escape"
    segments = unquote(rest).replace("\\", "/").split("/")
    if any(segment in (".", "..") for segment in segments):
        return "must not contain '.' or '..' path segments (got %r)" % url
    return None


# RestServer.handleQueryApi takes the FIRST of these operators that a ``q`` condition contains,
# then splits at its first occurrence (StringUtils.splitByWholeSeparator, which also swallows
# separators at the start of the value). There is no escape. So a value compared with ``=`` must
# contain none of the operators listed before ``=``, must not start with ``=`` and must not be empty.
QUERY_OPERATORS_BEFORE_EQ = ("!=", ">=", "<=", "!?=", "!~=", "~=", "?=")


def query_value_problem(value):
    """None when ``field=VALUE`` means exactly VALUE to ZStack's query parser, else why not."""
    if value is None:
        return None
    text = str(value)
    if not text:
        return "must not be empty"
    found = [op for op in QUERY_OPERATORS_BEFORE_EQ if op in text]
    if found:
        return ("contains %s, which ZStack's query syntax reads as an operator (it has no escape); "
                "use the uuid instead" % " and ".join(repr(op) for op in found))
    if text.startswith("="):
        return "must not start with '=' (ZStack's query parser drops it); use the uuid instead"
    if len(text) > 255:
        return "must be at most 255 characters long (ZStack's limit for names)"
    return None


def pick_unique(matches, kind, value):
    """(the one match, None) or (None, the problem) for a lookup by uuid or name."""
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        return None, "no %s has the uuid or name %r" % (kind, value)
    uuids = ", ".join(sorted(m.get("uuid", "?") for m in matches))
    return None, "the name %r is ambiguous: %d %ss have it (%s); give the uuid" % (value, len(matches), kind, uuids)


# -- PrimaryStorageMigrateVm ------------------------------------------------------------------------

MIGRATION_JOB_NAME = "APIPrimaryStorageMigrateVmMsg"
LIVE_STATES = ("Running", "Paused")
OFFLINE_STATES = ("Stopped",)
MIGRATING_STATES = ("Migrating", "VolumeMigrating")
ACTIVE_JOB_STATES = ("Waiting", "Running", "Suspended", "Canceling")
TERMINAL_JOB_STATES = ("Succeeded", "Failed", "Canceled")


def migration_mode(vm_state):
    """'live' or 'offline' for a VM state that allows storage migration, else None."""
    if vm_state in LIVE_STATES:
        return "live"
    if vm_state in OFFLINE_STATES:
        return "offline"
    return None


def volumes_in_scope(volumes, with_data_volumes):
    """The VM's volumes a migration moves: the root volume, plus data volumes unless told otherwise."""
    kinds = ("Root", "Data") if with_data_volumes else ("Root",)
    return sorted((v for v in volumes if v.get("type") in kinds), key=lambda v: (v.get("type") != "Root", v.get("deviceId") or 0))


def running_migration_conditions(vm_uuid):
    """Query conditions (AND-ed) for a storage migration of VM_UUID that is still under way."""
    return ["jobName=%s" % MIGRATION_JOB_NAME, "state?=%s" % ",".join(ACTIVE_JOB_STATES), "jobData~=%%%s%%" % vm_uuid]


def plan_ps_migration(vm, volumes, dst_ps_uuid, with_data_volumes, running_jobs=()):
    """What to do so that VM's volumes end up on DST_PS_UUID.

    Returns a dict: ``action`` one of ``none`` (already there), ``wait`` (a migration of this VM
    is under way: wait for it, then plan again), ``migrate`` or ``blocked`` (the VM's state
    forbids it; ``reason`` says why); ``mode`` live/offline; ``volumes`` the moves
    (uuid, name, type, from, to); ``running_job`` the uuid of a migration LongJob under way.
    """
    state = vm.get("state")
    plan = {"action": "none", "mode": migration_mode(state), "vm_state": state, "volumes": [], "reason": None,
            "running_job": running_jobs[0].get("uuid") if running_jobs else None}
    if running_jobs or state in MIGRATING_STATES:
        plan["action"] = "wait"
        plan["reason"] = ("storage migration job %s is %s" % (running_jobs[0].get("uuid"), running_jobs[0].get("state"))
                          if running_jobs else "the VM is in state %s" % state)
        return plan
    moves = [{"uuid": v.get("uuid"), "name": v.get("name"), "type": v.get("type"),
              "from": v.get("primaryStorageUuid"), "to": dst_ps_uuid}
             for v in volumes_in_scope(volumes, with_data_volumes) if v.get("primaryStorageUuid") != dst_ps_uuid]
    plan["volumes"] = moves
    if not moves:
        return plan
    if plan["mode"] is None:
        plan["action"] = "blocked"
        plan["reason"] = ("the VM is in state %s; storage migration needs one of %s (live) or %s (offline)"
                          % (state, ", ".join(LIVE_STATES), ", ".join(OFFLINE_STATES)))
        return plan
    plan["action"] = "migrate"
    return plan


def volume_placement(volumes, moves=()):
    """{volume uuid: primary storage uuid} for VOLUMES, with MOVES applied (for diffs)."""
    placement = {v.get("uuid"): v.get("primaryStorageUuid") for v in volumes}
    for move in moves:
        placement[move["uuid"]] = move["to"]
    return placement


def ps_migration_body(dst_ps_uuid, with_data_volumes, with_snapshots, dst_host_uuid=None, strategy=None,
                      down_time=None, bandwidth=None):
    """The PUT /vm-instances/{uuid}/actions body. downTime and bandwidth go INSIDE the action."""
    action = {"dstPrimaryStorageUuid": dst_ps_uuid, "withDataVolumes": bool(with_data_volumes),
              "withSnapshots": bool(with_snapshots)}
    optional = {"dstHostUuid": dst_host_uuid, "strategy": strategy, "downTime": down_time, "bandwidth": bandwidth}
    action.update((key, value) for key, value in optional.items() if value is not None)
    return {"primaryStorageMigrateVm": action, "systemTags": [], "userTags": []}


def volumes_not_moved(volumes, moves):
    """The planned MOVES whose volume, in the fresh VOLUMES, is not on its destination yet."""
    placement = volume_placement(volumes)
    return [m for m in moves if placement.get(m["uuid"]) != m["to"]]


def volumes_moved(volumes, moves):
    """The planned MOVES whose volume, in the fresh VOLUMES, is on its destination now."""
    placement = volume_placement(volumes)
    return [m for m in moves if placement.get(m["uuid"]) == m["to"]]


def name_moves(moves, storages):
    """MOVES with the names of their primary storages beside the uuids (``from_name``, ``to_name``).

    STORAGES is {uuid: primary storage inventory}; an unknown one gets a None name.
    """
    return [dict(m, from_name=(storages.get(m["from"]) or {}).get("name"),
                 to_name=(storages.get(m["to"]) or {}).get("name")) for m in moves]


def ps_migration_diff(vm, moves, storages, placement=None):
    """(before, after) of a storage migration for Ansible's diff: only the volumes that MOVES move,
    each as "volume (uuid…)": "primary storage (uuid…)". PLACEMENT ({volume uuid: ps uuid}) is where
    the volumes are now, for an "after" read again after a failure; default, where the moves put them."""
    def where(ps_uuid):
        return label(storages.get(ps_uuid) or ps_uuid)

    before, after = {}, {}
    for move in moves:
        volume = label({"name": move.get("name"), "uuid": move["uuid"]})
        before[volume] = where(move["from"])
        after[volume] = where(move["to"] if placement is None else placement.get(move["uuid"]))
    header = "VM %s" % label(vm)
    return {"before": {"volumes": before}, "after": {"volumes": after}, "before_header": header, "after_header": header}


def ps_migration_message(vm, plan, dst, done):
    """One sentence on what happens to VM's volumes (PLAN); DONE: "moved" (or "would move" in check
    mode, "started moving" for wait=false)."""
    what = "VM %s" % label(vm)
    if plan["action"] == "none":
        return "%s: every volume is already on %s" % (what, label(dst))
    if plan["action"] == "wait":
        return "%s: a storage migration is under way (%s)" % (what, plan["reason"])
    sources = sorted(set(label({"name": m.get("from_name"), "uuid": m["from"]}) for m in plan["volumes"]))
    return "%s: %s %d volume(s) %s from %s to %s" % (what, done, len(plan["volumes"]), plan["mode"],
                                                     ", ".join(sources), label(dst))


def destination_problem(ps, host, host_given):
    """(parameter, problem) when the destination primary storage PS cannot take the VM as asked, else None.

    A LocalStorage destination lives on one host: ZStack needs ``dstHostUuid`` to pick it
    (api/zstack.md section 12). A given HOST must belong to a cluster PS is attached to, when
    ZStack tells which clusters those are.
    """
    if ps.get("type") == "LocalStorage" and not host_given:
        return ("target_host", "is required: the destination primary storage %r (%s) is LocalStorage, and ZStack "
                               "needs the host whose local disk receives the volumes" % (ps.get("name"), ps.get("uuid")))
    clusters = ps.get("attachedClusterUuids")
    if host and isinstance(clusters, list) and clusters and host.get("clusterUuid") not in clusters:
        return ("target_host", "names host %r (%s) of cluster %s, but the primary storage %r is attached only to "
                               "cluster(s) %s" % (host.get("name"), host.get("uuid"), host.get("clusterUuid"),
                                                  ps.get("name"), ", ".join(clusters)))
    return None


# -- LongJobs and V2V --------------------------------------------------------------------------------

def parse_job_result(text):
    """LongJob.jobResult is a string: JSON when it can be decoded, else the text itself."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def job_failure_message(job):
    """A readable reason out of a failed/canceled LongJob's jobResult ({"message", "detail", "cause"} or text)."""
    result = parse_job_result(job.get("jobResult"))
    if isinstance(result, dict):
        message = result.get("message")
        if isinstance(message, dict):  # an ErrorCode; LongJobManagerImpl also uses message_en
            message = (message.get("details") or message.get("description") or message.get("message_en")
                       or message.get("code"))
        parts = [str(p) for p in (message, result.get("detail"), result.get("cause")) if p]
        if parts:
            return "; ".join(dict.fromkeys(parts))
        return json.dumps(result, sort_keys=True)
    return result or "LongJob ended in state %s" % job.get("state")


def job_failure_code(job):
    """The ZStack error code inside a failed LongJob's jobResult, when there is one."""
    result = parse_job_result(job.get("jobResult"))
    if isinstance(result, dict) and isinstance(result.get("message"), dict):
        return result["message"].get("code")
    return None


def vm_uuid_candidates(job):
    """The converted VM's possible uuids as the LongJob tells them, in api/zstack.md section 12 order.

    First ``inventory.uuid`` of a VM-looking inventory (with rootVolumeUuid or hypervisorType) in
    jobResult, then ``targetResourceUuid``. The caller tries each, then a query by the unique name.
    """
    candidates = []
    result = parse_job_result(job.get("jobResult"))
    if isinstance(result, dict):
        inventory = result.get("inventory")
        if isinstance(inventory, dict) and is_uuid(inventory.get("uuid")) and (
                "rootVolumeUuid" in inventory or "hypervisorType" in inventory):
            candidates.append(inventory["uuid"])
    target = job.get("targetResourceUuid")
    if is_uuid(target) and target not in candidates:
        candidates.append(target)
    return candidates


def vm_uuid_from_job(job):
    """The first of ``vm_uuid_candidates``, or None."""
    candidates = vm_uuid_candidates(job)
    return candidates[0] if candidates else None


V2V_FIELDS = (
    # (module option, API field) of the values sent as given
    ("url", "url"), ("vm", "name"), ("description", "description"), ("cpu_num", "cpuNum"),
    ("memory_size", "memorySize"), ("platform", "platform"), ("vm_type", "type"), ("strategy", "strategy"),
    ("convert_strategy", "convertStrategy"), ("long_job_name", "longJobName"),
    ("long_job_description", "longJobDescription"), ("ssh_priv_key", "sshPrivKey"), ("pause_vm", "pauseVm"),
    ("volume_filters", "volumeFilters"), ("root_file_system", "rootFileSystem"), ("tag_uuids", "tagUuids"),
)


# (module option, ZStack collection, kind, API field) of the objects a conversion names, by name or
# uuid; each is resolved to its inventory before POST /v2vs.
V2V_REFERENCES = (
    ("primary_storage", "primary-storage", "primary storage", "primaryStorageUuid"),
    ("l3_networks", "l3-networks", "L3 network", "l3NetworkUuids"),
    ("default_l3_network", "l3-networks", "L3 network", "defaultL3NetworkUuid"),
    ("zone", "zones", "zone", "zoneUuid"),
    ("cluster", "clusters", "cluster", "clusterUuid"),
    ("host", "hosts", "host", "hostUuid"),
    ("conversion_host", "v2v-conversion-hosts", "V2V conversion host", "conversionHostUuid"),
)


def v2v_placement_problem(resolved):
    """(parameter, problem) when the RESOLVED objects of a conversion do not fit together, else None.

    RESOLVED is {option: inventory, or a list of them for l3_networks}. The default L3 network must
    be one of the VM's L3 networks, a host must be in the given cluster, the cluster and the primary
    storage must be in the given zone (when ZStack tells which ones they are in).
    """
    default_l3, l3s = resolved.get("default_l3_network"), resolved.get("l3_networks") or []
    if default_l3 and default_l3["uuid"] not in [l3["uuid"] for l3 in l3s]:
        return "default_l3_network", "names %s, which is not one of l3_networks (%s)" % (
            label(default_l3), ", ".join(label(l3) for l3 in l3s))
    host, cluster, zone = resolved.get("host"), resolved.get("cluster"), resolved.get("zone")
    if host and cluster and host.get("clusterUuid") not in (None, cluster["uuid"]):
        return "host", "names host %s of cluster %s, not of cluster %s" % (
            label(host), host.get("clusterUuid"), label(cluster))
    for option in ("cluster", "primary_storage"):
        record = resolved.get(option)
        if zone and record and record.get("zoneUuid") not in (None, zone["uuid"]):
            return option, "names %s of zone %s, not of zone %s" % (label(record), record.get("zoneUuid"), label(zone))
    return None


def v2v_body(params, resolved, resource_uuid):
    """The POST /v2vs body: the parameters the user set, and the uuids of the RESOLVED objects."""
    body = {api: params[option] for option, api in V2V_FIELDS if params.get(option) is not None}
    for option, dummy, dummy2, api in V2V_REFERENCES:
        value = resolved.get(option)
        if value is not None:
            body[api] = [item["uuid"] for item in value] if isinstance(value, list) else value["uuid"]
    body["resourceUuid"] = resource_uuid
    return {"params": body, "systemTags": params.get("system_tags") or [], "userTags": params.get("user_tags") or []}


def v2v_diff(resource, job_uuid, action, job, resolved, wait):
    """Ansible's diff of a submit, rerun or cancel: only what changes, the LongJob's state (and, for a
    new conversion, where the VM goes), names beside shortened uuids; the header names the conversion."""
    ends = "Canceled" if action == "cancel" else "Succeeded" if wait else "Running"
    before = {"long_job": job.get("state")} if job else {}
    after = {"long_job": ends}
    if action == "submit":
        after.update((option, [label(item) for item in value] if isinstance(value, list) else label(value))
                     for option, value in sorted(resolved.items()))
    header = "%s (LongJob %s)" % (resource, short_uuid(job_uuid))
    return {"before": before, "after": after, "before_header": header, "after_header": header}


V2V_INTENTS = {"submit": "would convert it", "rerun": "would run the conversion again",
               "cancel": "would cancel the conversion", "wait": "a conversion is under way"}


def v2v_message(resource, action, job_uuid, job_state, vm, check_mode, resolved=None):
    """One sentence on a conversion: what would be done (CHECK_MODE; where to, from RESOLVED), or the
    LongJob's state and the VM."""
    if action == "adopt":
        return "%s: no LongJob %s, the existing VM %s is taken as the conversion's result" % (
            resource, short_uuid(job_uuid), label(vm))
    if check_mode:
        where = ""
        if resolved and resolved.get("primary_storage"):
            where = " onto %s" % label(resolved["primary_storage"])
            if resolved.get("l3_networks"):
                where += " with %s" % ", ".join(label(l3) for l3 in resolved["l3_networks"])
        return "%s: %s%s (LongJob %s%s)" % (resource, V2V_INTENTS.get(action, action), where, short_uuid(job_uuid),
                                            " %s" % job_state if job_state else "")
    text = "%s: LongJob %s %s" % (resource, short_uuid(job_uuid), job_state or "absent")
    return "%s, VM %s" % (text, label(vm)) if vm else text


def plan_v2v(state, job, vms_named):
    """What to do for a conversion whose LongJob is JOB (None when absent).

    VMS_NAMED are the VMs that already carry the target name. Returns a dict with ``action``:
    ``submit``, ``wait`` (job under way), ``rerun`` (failed or canceled: present asks for it
    again), ``cancel``, ``none``, ``adopt`` (no job but the VM exists: report it) or ``blocked``
    (with ``reason``).
    """
    job_state = job.get("state") if job else None
    if state == "canceled":
        if job is None or job_state in ("Canceled", "Failed"):
            return {"action": "none", "reason": "no conversion job" if job is None else "the job is %s" % job_state}
        if job_state == "Succeeded":
            return {"action": "blocked", "reason": "the conversion job %s already Succeeded; it cannot be canceled" % job["uuid"]}
        if job_state == "Canceling":
            return {"action": "wait", "reason": "the job is Canceling"}
        return {"action": "cancel", "reason": "the job is %s" % job_state}
    if job is None:
        if len(vms_named) == 1:
            return {"action": "adopt", "reason": "no conversion job, but the VM already exists"}
        if len(vms_named) > 1:
            return {"action": "blocked", "reason": "%d VMs are already named %r (%s); the converted VM's name must be unique"
                    % (len(vms_named), vms_named[0].get("name"), ", ".join(sorted(v.get("uuid", "?") for v in vms_named)))}
        return {"action": "submit", "reason": "no conversion job yet"}
    if job_state == "Succeeded":
        return {"action": "none", "reason": "the conversion job already Succeeded"}
    if job_state in ("Failed", "Canceled"):
        return {"action": "rerun", "reason": "the conversion job is %s" % job_state}
    return {"action": "wait", "reason": "the conversion job is %s" % job_state}


def action_took_effect(action, job):
    """Whether JOB, read again after the api-job of ACTION gave no clear answer (SYS.1001, 404,
    our own timeout), shows that the action happened: ``submit`` created it, ``cancel`` got it
    Canceling/Canceled, ``rerun`` took it out of Failed/Canceled."""
    state = job.get("state") if isinstance(job, dict) else None
    if action == "submit":
        return state is not None
    if action == "cancel":
        return state in ("Canceling", "Canceled")
    if action == "rerun":
        return state in ("Waiting", "Running", "Suspended", "Succeeded")
    return False


SECRET_FIELDS = frozenset(("sshPrivKey", "password", "accessKeySecret"))
MASK = "********"
_SECRET_FIELD_RE = re.compile(r'("(?:%s)"\s*:\s*)"(?:[^"\\]|\\.)*"' % "|".join(sorted(SECRET_FIELDS)))


def _mask_fields(value):
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_FIELDS and v is not None else _mask_fields(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_fields(v) for v in value]
    return value


def mask_job_secrets(job):
    """JOB with secrets (the V2V sshPrivKey...) masked inside its jobData/jobResult strings.

    ZStack keeps the API parameters in ``jobData`` as JSON text, where Ansible's no_log masking
    cannot see them (newlines are escaped).
    """
    if not isinstance(job, dict):
        return job
    job = dict(job)
    for field in ("jobData", "jobResult"):
        text = job.get(field)
        if not isinstance(text, str) or not any(name in text for name in SECRET_FIELDS):
            continue
        parsed = parse_job_result(text)
        if isinstance(parsed, (dict, list)):
            job[field] = json.dumps(_mask_fields(parsed))
        else:
            job[field] = _SECRET_FIELD_RE.sub(r'\1"%s"' % MASK, text)
    return job


def longjob_conditions(uuid_=None, name=None, states=None, target_resource_uuid=None, job_name=None, api_id=None):
    """Query conditions (AND-ed) for zstack_longjob_info."""
    conditions = []
    for field, value in (("uuid", uuid_), ("name", name), ("targetResourceUuid", target_resource_uuid),
                         ("jobName", job_name), ("apiId", api_id)):
        if value:
            conditions.append("%s=%s" % (field, value))
    if states:
        conditions.append("state?=%s" % ",".join(states))
    return conditions


# -- many VMs in one task (zstack_ps_migrate with ``vms``) -------------------------------------------

BULK_QUERY_CHUNK = 100  # values per ``?=`` condition: keeps a query URL well under common limits


def chunks(values, size=BULK_QUERY_CHUNK):
    """VALUES in lists of at most SIZE (for ``field?=a,b,c`` queries)."""
    values = list(values)
    return [values[i:i + size] for i in range(0, len(values), size)]


def in_condition_safe(value):
    """Whether VALUE can travel inside a ``?=`` list: it must not contain the list separator."""
    return "," not in value


def match_vms(items, found):
    """Each of ITEMS (VM uuids or names, as given) matched to exactly one of the inventories FOUND.

    Returns (VMs in the order of ITEMS, problems): a problem per item that matches no VM or several,
    and per VM named twice (by two items). A uuid-looking item matches by uuid first, then by name.
    """
    by_uuid, by_name = {}, {}
    for vm in found:
        if isinstance(vm, dict) and vm.get("uuid"):
            by_uuid[vm["uuid"]] = vm
            by_name.setdefault(vm.get("name"), {})[vm["uuid"]] = vm
    vms, problems, seen = [], [], {}
    for item in items:
        if is_uuid(item) and item in by_uuid:
            matches = [by_uuid[item]]
        else:
            matches = sorted((by_name.get(item) or {}).values(), key=lambda v: v["uuid"])
        vm, problem = pick_unique(matches, "VM", item)
        if problem:
            problems.append(problem)
            continue
        if vm["uuid"] in seen:
            problems.append("%r and %r are the same VM %s" % (seen[vm["uuid"]], item, label(vm)))
            continue
        seen[vm["uuid"]] = item
        vms.append(vm)
    return vms, problems


def migration_job_vm(job):
    """The VM uuid a C(APIPrimaryStorageMigrateVmMsg) LongJob moves: from its jobData, else targetResourceUuid."""
    data = parse_job_result(job.get("jobData"))
    if isinstance(data, dict) and is_uuid(data.get("vmInstanceUuid")):
        return data["vmInstanceUuid"]
    target = job.get("targetResourceUuid")
    return target if is_uuid(target) else None


def running_migrations_by_vm(jobs, vm_uuids):
    """{vm uuid: [its migration LongJobs under way]} for VM_UUIDS, out of JOBS (one query for all VMs).

    A job whose jobData names no VM uuid is matched when the uuid appears anywhere in its jobData
    (what the single-VM query with ``jobData~=%uuid%`` does)."""
    wanted = set(vm_uuids)
    found = {}
    for job in jobs:
        if not isinstance(job, dict) or job.get("state") not in ACTIVE_JOB_STATES:
            continue
        vm_uuid = migration_job_vm(job)
        if vm_uuid is None:
            text = job.get("jobData") or ""
            vm_uuid = next((u for u in wanted if isinstance(text, str) and u in text), None)
        if vm_uuid in wanted:
            found.setdefault(vm_uuid, []).append(job)
    return found


CHECK_OUTCOMES = {"migrate": "would migrate", "none": "unchanged", "wait": "in_progress", "blocked": "failed"}


def bulk_entry(vm, plan, dst, storages):
    """The result entry of one VM of a bulk call (the keys of docs and the migration_report callback)."""
    sources = sorted(set(m["from"] for m in plan["volumes"]))
    where_from = ", ".join(label(storages.get(s) or s) for s in sources) or None
    return {"name": vm.get("name"), "uuid": vm.get("uuid"), "outcome": None, "mode": plan["mode"],
            "from": where_from, "to": label(dst), "jobs": [], "error": "", "started": None, "ended": None,
            "moved_volumes": []}


def fleet_poll_delay(ages, initial, maximum, ratio):
    """The delay before the next batched read of many jobs, AGES (seconds each has run so far).

    Each job must be noticed at most ``ratio`` of its age late (``initial`` for a young one), as
    ``_polling.PollBackoff`` promises for one job: so the youngest job sets the pace."""
    if not ages:
        return initial
    return min(min(maximum, max(initial, ratio * age)) for age in ages)


def bulk_summary(entries):
    """"20 VM(s): 15 migrated, 4 unchanged, 1 failed" (outcomes in a stable order)."""
    counts = {}
    for entry in entries:
        counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
    return "%d VM(s): %s" % (len(entries), ", ".join("%d %s" % (n, o) for o, n in sorted(counts.items())))


def bulk_failures(entries, outcomes=("failed", "not_started")):
    """"web-01 (f0f7aed5…): SYS.1006 ...; ..." for the entries that failed, or ""."""
    return "; ".join("%s: %s" % (label(e), e["error"] or e["outcome"]) for e in entries if e["outcome"] in outcomes)
