# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure planning for powervc_server: names to ids, the create request, what to do with an existing server.

API data in, decisions out; no I/O. Facts: IBM's PowerVC virtual serial number APIs (create with
``flavor.extra_specs["powervm:virtual_serial_number"]``, the inline-flavor form) and its VSN feature page
(a VSN still on a VM can be reserved; it is listed once the VM is deleted).
"""

from __future__ import annotations

import re

from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import ParameterError
from ansible_collections.hybridcloud.migration.plugins.module_utils._powervc_plan import (
    AUTO, display_name, find_reserved, normalize_vsn, same_host, server_vsn)

NONE = "none"
VSN_SPEC = "powervm:virtual_serial_number"
# Nova's build and delete life cycle: BUILD ends in ACTIVE (or SHUTOFF) or ERROR.
DONE_STATES = ("ACTIVE", "SHUTOFF")
FAILED_STATES = ("ERROR",)
# Fields of a flavor copied into the inline flavor of the create request.
FLAVOR_FIELDS = ("vcpus", "ram", "disk")
_KNOWN_LISTED = 10  # how many known names an "unknown X" message lists


def wanted_vsn(value):
    """The virtual_serial_number option: None (not given), 'none', 'auto' or an upper-cased VSN."""
    if value is None:
        return None
    if str(value).strip().lower() == NONE:
        return NONE
    try:
        return normalize_vsn(value, "virtual_serial_number", allow_auto=True)
    except ParameterError:
        raise ParameterError("parameter 'virtual_serial_number' must be 'auto', 'none' or 7 letters or digits "
                             "(for example ABCD567); got %r" % (value,))


def find_by_name(servers, name):
    """The one server called NAME, or None; several of that name is an error (the name is the key)."""
    found = [s for s in servers if s.get("name") == name]
    if len(found) > 1:
        raise ParameterError("parameter 'vm': %d servers are called %r (ids %s); the module needs the name to be "
                             "unique" % (len(found), name, ", ".join(sorted(str(s.get("id")) for s in found))))
    return found[0] if found else None


def resolve(ref, items, param, what):
    """The item of ITEMS whose id is REF, else whose name is REF (unique); ParameterError otherwise.

    ITEMS None means the listing is not served: REF is then taken as an id, unchecked.
    """
    if items is None:
        return {"id": ref, "name": None, "unchecked": True}
    by_id = [i for i in items if str(i.get("id")) == ref]
    if by_id:
        return by_id[0]
    by_name = [i for i in items if i.get("name") == ref]
    if len(by_name) > 1:
        raise ParameterError("parameter '%s': %d %ss are called %r (ids %s); give the id"
                             % (param, len(by_name), what, ref, ", ".join(sorted(str(i.get("id")) for i in by_name))))
    if not by_name:
        names = sorted(str(i.get("name")) for i in items)
        known = ", ".join(names[:_KNOWN_LISTED]) + (" ..." if len(names) > _KNOWN_LISTED else "")
        raise ParameterError("parameter '%s': no %s with id or name %r; known: %s" % (param, what, ref, known or "none"))
    return by_name[0]


def resolve_networks(entries, listed):
    """Nova's ``networks`` list [{"uuid", "fixed_ip"?}] and the names, from the networks option."""
    request, names = [], []
    for number, entry in enumerate(entries or []):
        network = resolve(entry["network"], listed, "networks[%d].network" % number, "network")
        item = {"uuid": network["id"]}
        if entry.get("fixed_ip"):
            item["fixed_ip"] = entry["fixed_ip"]
        request.append(item)
        names.append(network.get("name") or network["id"])
    return request, names


def inline_flavor(flavor, extra_specs, vsn):
    """PowerVC's inline flavor: the named flavor's sizes and extra specs, plus the VSN extra spec.

    VSN 'none' (or None) leaves the VSN spec out, as a flavor without it deploys without a VSN.
    """
    inline = dict((k, flavor[k]) for k in FLAVOR_FIELDS if flavor.get(k) not in (None, ""))
    specs = dict(extra_specs or {})
    specs.pop(VSN_SPEC, None)  # the option decides, not whatever the template carried
    if vsn not in (None, NONE):
        specs[VSN_SPEC] = vsn
    inline["extra_specs"] = specs
    return inline


def zone_for(host):
    """availability_zone placing the server on HOST (a PowerVC host name), or None for the scheduler's pick."""
    return ":%s" % host if host else None


def create_request(name, image, flavor, networks, zone, flavor_ref=None):
    """The body of POST /servers (without the outer {"server": ...}).

    FLAVOR_REF is sent beside the inline flavor only when the flavor's sizes could not be read.
    """
    body = {"name": name, "imageRef": image, "flavor": flavor}
    if flavor_ref is not None:
        body["flavorRef"] = flavor_ref
    if networks:
        body["networks"] = networks
    if zone:
        body["availability_zone"] = zone
    return body


def check_vsn_for_create(vsn, host, reserved, servers):
    """Where a create with VSN must go: (host name or None, the reserved record or None).

    VSN 'auto' / 'none': HOST as given. A given VSN used by another server is an error; a
    reserved one is placed on its reservation's host (HOST, when given, must be that host).
    A VSN that is neither reserved nor used is sent as asked; PowerVC then checks it.
    """
    if vsn in (None, NONE, AUTO):
        return host, None
    user = next((s for s in servers if server_vsn(s) == vsn), None)
    if user is not None:
        raise ParameterError("parameter 'virtual_serial_number': VSN %s is in use by server %s (id %s); unassign it "
                             "there first (hybridcloud.migration.powervc_vsn state=unassigned)"
                             % (vsn, user.get("name"), user.get("id")))
    record = find_reserved(reserved, vsn)
    if record is None:
        return host, None
    if host and record.get("host") and not same_host(record["host"], host):
        raise ParameterError("parameter 'virtual_serial_number': VSN %s is reserved on host %s, not on host %s; move "
                             "it first (hybridcloud.migration.powervc_vsn state=moved) or leave 'host' unset"
                             % (vsn, record["host"], host))
    return host or record.get("host"), record


def vsn_conflict(server, wanted):
    """Why an existing SERVER does not match the VSN WANTED, or None when it does.

    The VSN of an existing server is never changed here: an IBM i licence follows it.
    """
    if wanted is None:
        return None
    current = server_vsn(server)
    if wanted == AUTO and current:
        return None
    if wanted == NONE and not current:
        return None
    if wanted not in (AUTO, NONE) and current == wanted:
        return None
    hint = ("change it with hybridcloud.migration.powervc_vsn (state=unassigned, then state=assigned with the VSN; "
            "the server must be SHUTOFF), or delete and re-create the server")
    return ("server %s (id %s) exists with VSN %s, not %s; this module does not change the VSN of an existing "
            "server: %s" % (server.get("name"), server.get("id"), current or "none", wanted, hint))


def host_conflict(server, host):
    """Why an existing SERVER is not on HOST (a host name), or None (also when its host is not visible)."""
    current = server.get("OS-EXT-SRV-ATTR:host")
    if not host or not current or same_host(current, host) or current == host:
        return None
    return ("server %s (id %s) runs on host %s, not on host %s; this module does not move servers"
            % (server.get("name"), server.get("id"), current, host))


def build_state(server):
    """'gone', 'done', 'failed' or 'pending' for a server being built (None = not found)."""
    if server is None:
        return "gone"
    status = str(server.get("status") or "").upper()
    if status in DONE_STATES:
        return "done"
    if status in FAILED_STATES:
        return "failed"
    return "pending"


def is_deleting(server):
    """True when Nova is already deleting SERVER (task_state 'deleting', or a deleted status)."""
    task = str(server.get("OS-EXT-STS:task_state") or "").lower()
    status = str(server.get("status") or "").upper()
    return task == "deleting" or status in ("DELETED", "SOFT_DELETED")


def fault_message(server):
    """The fault of a server in ERROR as one line: message (code), or a generic text."""
    fault = server.get("fault") if isinstance(server.get("fault"), dict) else {}
    message = fault.get("message") or "no fault message given"
    return "%s (fault code %s)" % (message, fault["code"]) if fault.get("code") else message


def server_state(server, hosts=None):
    """What the module returns and diffs about a server (None -> {}); HOSTS put the host's display name beside it."""
    if server is None:
        return {}
    image = server.get("image") if isinstance(server.get("image"), dict) else {}
    flavor = server.get("flavor") if isinstance(server.get("flavor"), dict) else {}
    state = {"id": server.get("id"), "name": server.get("name"), "status": server.get("status"),
             "host": server.get("OS-EXT-SRV-ATTR:host"),
             "host_display_name": display_name(server.get("OS-EXT-SRV-ATTR:host"), hosts),
             "virtual_serial_number": server_vsn(server), "image": image.get("id"), "flavor": flavor.get("id"),
             "availability_zone": server.get("OS-EXT-AZ:availability_zone"),
             "addresses": server.get("addresses") or {}}
    if isinstance(server.get("fault"), dict):
        state["fault"] = fault_message(server)
    return state


def planned_server(name, image, flavor, host, vsn, networks):
    """The server a create would make, for check mode and the diff."""
    return {"id": None, "name": name, "status": "ACTIVE", "host": host, "virtual_serial_number": vsn,
            "image": image, "flavor": flavor, "availability_zone": None, "networks": networks}


def plan_absent(server, reserve):
    """The actions that remove SERVER: ['reserve_vsn'?, 'delete'], ['adopt_delete'] when Nova is already
    deleting it, [] when it does not exist.

    The VSN is reserved BEFORE the delete: a VSN still on a VM can be reserved and is listed once
    the VM is gone (section 3), and a failed reservation then leaves the server untouched.
    """
    if server is None:
        return []
    if is_deleting(server):
        return ["adopt_delete"]  # a delete already sent (an earlier run): wait for it, send nothing again
    actions = []
    if reserve and server_vsn(server):
        actions.append("reserve_vsn")
    actions.append("delete")
    return actions


# -- bulk (vms) --------------------------------------------------------------------------------
# The per-VM options of an item of 'vms'; the top-level option of the same name is its default.
ITEM_OPTIONS = ("vm", "state", "image", "flavor", "networks", "host", "virtual_serial_number",
                "reserve_vsn_on_delete", "reservation_description")
PRESENT_ONLY = ("image", "flavor", "networks", "host", "virtual_serial_number")
ABSENT_ONLY = ("reserve_vsn_on_delete", "reservation_description")


def prefixed(error, prefix):
    """ParameterError ERROR with its parameter named inside 'vms' (``parameter 'vms[3].image'``)."""
    message = str(error.message if hasattr(error, "message") else error)
    return ParameterError(message.replace("parameter '", "parameter '%s" % prefix, 1))


def item_options(item, defaults, index):
    """One item of 'vms' with the top-level DEFAULTS filled in, after checking the item's own options.

    An option the item sets itself that its state does not use is an error (as in the single form);
    a top-level default that its state does not use is simply not applied to it.
    """
    prefix = "vms[%d]." % index
    state = item.get("state") or defaults.get("state") or "present"
    unused = ABSENT_ONLY if state == "present" else PRESENT_ONLY
    for option in unused:
        if item.get(option) not in (None, False):
            raise ParameterError("parameter '%s%s' is not used with state=%s" % (prefix, option, state))
    merged = {"state": state}
    for option in ITEM_OPTIONS:
        if option == "state":
            continue
        value = item.get(option)
        if value is None and option not in unused and option != "vm":
            value = defaults.get(option)
        merged[option] = value
    if state == "absent":
        merged["reserve_vsn_on_delete"] = bool(merged["reserve_vsn_on_delete"])
        if merged["reservation_description"] is not None and not merged["reserve_vsn_on_delete"]:
            raise ParameterError("parameter '%sreservation_description' is used only with reserve_vsn_on_delete=true"
                                 % prefix)
    return merged


def describe(state):
    """A server state as one readable line for 'from' / 'to': ``ACTIVE on dr-p10-b (9109RMD_1031CAT), VSN CDF0002``."""
    if not state:
        return "absent"
    text = str(state.get("status") or "planned")
    host = state.get("host")
    if host:
        text += " on %s" % ("%s (%s)" % (state["host_display_name"], host) if state.get("host_display_name") else host)
    text += ", VSN %s" % (state.get("virtual_serial_number") or "none")
    return text


def duplicate_vsns(items):
    """ParameterError when two items ask for the same explicit VSN (one VSN licenses one VM)."""
    seen = {}
    for index, item in enumerate(items):
        vsn = item.get("vsn")
        if item["state"] != "present" or vsn in (None, NONE, AUTO):
            continue
        if vsn in seen:
            raise ParameterError("parameter 'vms[%d].virtual_serial_number': VSN %s is also asked for by vms[%d] (%s)"
                                 % (index, vsn, seen[vsn][0], seen[vsn][1]))
        seen[vsn] = (index, item["vm"])


def failure_summary(entries):
    """'name (id): error; ...' of the failed entries of a bulk result, or '' when none failed."""
    failed = [e for e in entries if e.get("error")]
    return "; ".join("%s (%s): %s" % (e["name"], e.get("id") or "no id", e["error"]) for e in failed)


# -- re-deploy plan (the powervc_vsn_redeploy role) ---------------------------------------------
STEP_DELETE, STEP_MOVE, STEP_CREATE = "delete", "move", "create"
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
# A wave plan host's variables: the row's columns as migration_<column> (plugins/inventory/wave_plan.py).
_WAVE_COLUMNS = (("image", "migration_image"), ("flavor", "migration_flavor"))


def _host_text_key(text):
    """A host as PowerVC shows it (id in either MTMS form, or display name): letters and digits, upper case."""
    return _NOT_ALNUM.sub("", str(text or "").upper())


def _host_keys(record):
    """The keys of the host a server or reserved VSN record is on: its host id and display name."""
    return set(_host_text_key(record.get(k)) for k in ("host", "host_display_name") if record.get(k))


def redeploy_rows(vms, hosts, target_host=None, image=None, flavor=None, networks=None):
    """The VMs to re-deploy as [{vm, virtual_serial_number, image, flavor, networks, target}].

    VMS: the role's list (each vm, virtual_serial_number, image?, flavor?, networks?; all go to TARGET_HOST);
    when empty, HOSTS: the host variables of a wave plan's hosts (migration_vm, migration_destination,
    migration_virtual_serial_number or migration_vsn, migration_image, migration_flavor, migration_network).
    IMAGE, FLAVOR and NETWORKS are the defaults of a VM that names none.
    """
    rows = []
    if vms:
        if not target_host:
            raise ParameterError("parameter 'target_host' is required with a list of VMs (the host they all go to)")
        for index, vm in enumerate(vms):
            if not vm.get("vm"):
                raise ParameterError("parameter 'vms[%d].vm' is required (the name of the VM)" % index)
            rows.append({"vm": vm.get("vm"), "virtual_serial_number": str(vm.get("virtual_serial_number") or "").upper(),
                         "image": vm["image"] if "image" in vm else image,
                         "flavor": vm["flavor"] if "flavor" in vm else flavor,
                         "networks": vm["networks"] if "networks" in vm else networks, "target": target_host})
        return rows
    for host in hosts or []:
        if host.get("migration_platform") != "powervc":
            continue
        vsn = host.get("migration_virtual_serial_number", host.get("migration_vsn", ""))
        row = {"vm": host.get("migration_vm"), "virtual_serial_number": str(vsn or "").upper()}
        for option, column in _WAVE_COLUMNS:
            row[option] = host[column] if column in host else {"image": image, "flavor": flavor}[option]
        row["networks"] = ([{"network": host["migration_network"]}] if "migration_network" in host else networks)
        row["target"] = host.get("migration_destination")
        rows.append(row)
    return rows


def redeploy_plan(rows, servers, reserved, check_mode=False):
    """What re-deploying ROWS (see redeploy_rows) takes, from one read of SERVERS and RESERVED VSNs
    (as hybridcloud.migration.powervc_vsn_info returns them).

    Each VM: already on its target host, else the steps 'delete' (a server of that name runs on another
    host: delete it keeping its VSN reserved), 'move' (its VSN is, or will be once that delete is done,
    reserved on another host: move it to the target host) and 'create'. Returned (each part only what a
    step of the role takes: a role passes every value it keeps through each later task):
    'text' (the plan, one line per VM, '; ' apart), 'old' (the names to delete), 'deletes' and 'creates'
    (powervc_server 'vms' items; with CHECK_MODE only the creates that wait for no delete or move, all
    that check mode can predict), 'moves' (one per source and target host pair, in order: source_host,
    target_host, vsns) and 'unchanged' (the VMs already on their target host, as vm, name, id,
    virtual_serial_number, now, target, outcome 'unchanged', error '').
    """
    by_name = dict((s.get("name"), s) for s in servers or [])
    by_vsn = dict((r.get("virtual_serial_number"), r) for r in reserved or [])
    plan = {"old": [], "deletes": [], "creates": [], "moves": [], "unchanged": []}
    moves, lines = {}, []
    for row in rows:
        vm, vsn, target = row["vm"], row["virtual_serial_number"], row["target"]
        key = _host_text_key(target)
        server = by_name.get(vm) or {}
        record = by_vsn.get(vsn) or {}
        there = bool(server) and key in _host_keys(server)
        old = bool(server) and not there
        if old and server.get("virtual_serial_number") == vsn:
            move_from = server.get("host")  # reserved on the old VM's host once it is deleted
        elif record and key not in _host_keys(record):
            move_from = record.get("host")
        else:
            move_from = ""
        steps = [] if there else ([STEP_DELETE] if old else []) + ([STEP_MOVE] if move_from else []) + [STEP_CREATE]
        vm_id = server.get("id") or ""
        now = (server.get("host_display_name") or server.get("host")) if server else "absent"
        if not steps:
            plan["unchanged"].append({"vm": vm, "name": vm, "id": vm_id, "virtual_serial_number": vsn, "now": now,
                                      "target": target, "outcome": "unchanged", "error": ""})
        if STEP_DELETE in steps:
            plan["old"].append(vm)
            plan["deletes"].append({"vm": vm, "reservation_description": "re-deploy of %s on %s" % (vm, target)})
        if STEP_MOVE in steps:
            moves.setdefault((move_from, target), []).append(vsn)
        if STEP_CREATE in steps and (not check_mode or steps == [STEP_CREATE]):
            plan["creates"].append({"vm": vm, "virtual_serial_number": vsn, "image": row["image"],
                                    "flavor": row["flavor"], "networks": row["networks"], "host": target})
        lines.append("%s%s on %s, VSN %s -> %s: %s" % (
            vm, " (%s)" % vm_id if vm_id else "", now, vsn, target, ", ".join(
                {STEP_DELETE: "delete (VSN kept reserved)", STEP_MOVE: "move VSN from %s" % move_from,
                 STEP_CREATE: "create"}[step] for step in steps) or "already there"))
    plan["moves"] = [{"source_host": source, "target_host": target, "vsns": vsns}
                     for (source, target), vsns in moves.items()]
    plan["text"] = "; ".join(lines) or "nothing to re-deploy"
    return plan
