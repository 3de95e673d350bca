# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure planning for the NSX V2T vMotion recipe (nsx.md section 6): API data in, per-VM changes out.

Inputs are plain data:

* ``details``: merged VmGroupExecutionDetails (``NsxClient.get_vm_group_execution_details``);
* ``vms``: {instance uuid: facts} as ``VSphere.vm_facts`` returns them (``vcenter``, ``host``,
  ``resource_pool``, ``folder``, ``datastores``, ``nics`` [{``key``, ``backing``, ``external_id``}]);
* ``dvpgs``: {logicalSwitchUuid: {``key``, ``switch_uuid``, ``name``, ``dvs_version``}} and
  ``opaque``: {opaque network id: name} of the target vCenter (``VSphere.nsx_networks``);
* ``placement``: {``vcenter`` (target instance uuid), ``cross_vcenter``, ``host``, ``hosts``
  (a cluster's hosts), ``resource_pool``, ``datastore``, ``folder``}: moref ids or None.

``plan_migration`` returns one entry per VM with ``action`` "relocate", "adopt" (a relocation of
the VM is already queued or running in vCenter: wait for it), "none" or "fail".

The reconcile rules that make re-runs safe are here too, as pure functions: ``pre_migrate_decision``
(create / skip / refuse), ``decide_outcomes`` (each VM's outcome from the state re-read after its
task ended, whatever the task said), ``post_migrate_decision`` (send, resend with allow_override,
skip or defer, and which VMs to mark) and ``finalize_decision``; markers are vCenter custom
attribute values (``POST_MIGRATE_FIELD`` on each VM, ``FINALIZE_FIELD`` on the root folder).
"""

from __future__ import annotations

MAP_KEY = "logical_switch_id_to_vm_instance_id_and_vnics_map"
FAILED_KEY = "failed_vm_instance_ids"
BACKINGS = ("auto", "dvpg", "opaque")
OPAQUE_TYPE = "nsx.LogicalSwitch"
PLACEMENT_KEYS = ("host", "resource_pool", "datastore", "folder")
# Custom attributes (vCenter) holding the markers of what NSX already did, since NSX keeps no readable trace.
POST_MIGRATE_FIELD = "hybridcloud.migration.nsx_post_migrate"  # on each VM: the group whose post_migrate covered it
FINALIZE_FIELD = "hybridcloud.migration.nsx_finalize_infra"  # on the root folder: groups finalize_infra was sent for
FINALIZED_KEEP = 50  # group ids kept in the finalize marker
PLACED = ("relocated", "unchanged", "would relocate")
PENDING_NOTE = "vNIC backings are known once pre_migrate has created the group in NSX"
MOVED_NOTE = ("NSX no longer finds this VM in the source vCenter (failed_vm_instance_ids): it is in place on the target "
              "vCenter, every vNIC on an NSX segment with its VIF id")


def vnic_map(details):
    """{vm instance id: {vnic key (str): ls_id}} from the details (nsx.md 6.1)."""
    out = {}
    for entry in (details or {}).get(MAP_KEY) or []:
        for mapping in entry.get("vm_and_vnics_mapping") or []:
            nics = out.setdefault(mapping.get("vm_instance_id"), {})
            for vnic in mapping.get("vnics") or []:
                nics[str(vnic)] = entry.get("ls_id")
    return out


def nsx_failed_ids(details):
    """The VMs NSX could not find in the source vCenter (the key may be missing, null or [])."""
    return list(dict.fromkeys((details or {}).get(FAILED_KEY) or []))


def vif_id(instance_uuid, key):
    """The VIF id NSX created in pre_migrate for a vNIC (nsx.md 6.3)."""
    return "%s:%s" % (instance_uuid, key)


def _version(text):
    parts = []
    for part in str(text or "").split("."):
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def choose_backing(ls_id, backing, dvpgs, opaque):
    """(backing dict, None) for segment LS_ID under the BACKING rule, or (None, why it cannot be done).

    auto: the NSX DVPG when the target VDS is 7.0+ and has one for the segment, else the opaque
    network; dvpg / opaque: only that kind. A segment with neither on the target is an error.
    """
    dvpg = dvpgs.get(ls_id)
    dvpg_ok = dvpg is not None and (backing == "dvpg" or _version(dvpg.get("dvs_version")) >= (7, 0))
    if backing in ("auto", "dvpg") and dvpg_ok:
        return {"type": "dvpg", "portgroup_key": dvpg["key"], "switch_uuid": dvpg["switch_uuid"]}, None
    if backing in ("auto", "opaque") and ls_id in opaque:
        return {"type": "opaque", "opaque_network_id": ls_id, "opaque_network_type": OPAQUE_TYPE}, None
    wanted = {"dvpg": "NSX distributed port group", "opaque": "NSX opaque network",
              "auto": "NSX distributed port group on a 7.0+ VDS and no NSX opaque network"}[backing]
    return None, "segment %s has no %s on the target vCenter" % (ls_id, wanted)


def same_backing(current, wanted):
    """True when CURRENT (describe_backing form) already is the WANTED backing."""
    if not current or current.get("type") != wanted["type"]:
        return False
    if wanted["type"] == "dvpg":
        return (current.get("portgroup_key"), current.get("switch_uuid")) == (wanted["portgroup_key"], wanted["switch_uuid"])
    return current.get("opaque_network_id") == wanted["opaque_network_id"]


def label(name, object_id):
    """An object as people read it: "esx-02 (host-31)", the id alone when its name is unknown."""
    if object_id is None:
        return None
    return "%s (%s)" % (name, object_id) if name and name != object_id else str(object_id)


def backing_text(backing, names=None):
    """A short human form of a backing for diffs: "dvpg seg-1 (dvportgroup-15)", "opaque <id>".

    NAMES: {portgroup key / opaque network id: name}, when known.
    """
    names = names or {}
    if not backing:
        return "none"
    kind = backing.get("type")
    if kind == "dvpg":
        if names.get(backing.get("portgroup_key")):
            return "dvpg %s" % label(names[backing["portgroup_key"]], backing.get("portgroup_key"))
        return "dvpg %s on switch %s" % (backing.get("portgroup_key"), backing.get("switch_uuid"))
    if kind == "opaque":
        network = backing.get("opaque_network_id")
        if names.get(network):
            return "opaque %s" % label(names[network], network)
        return "opaque %s (%s)" % (network, backing.get("opaque_network_type") or OPAQUE_TYPE)
    if kind == "network":
        return "network %s" % backing.get("network")
    return str(kind)


def is_placed(vm, placement):
    """True when VM already sits where PLACEMENT asks (unset parts of PLACEMENT match anything)."""
    if placement.get("vcenter") and vm.get("vcenter") != placement["vcenter"]:
        return False
    if placement.get("host") and vm.get("host") != placement["host"]:
        return False
    if placement.get("hosts") and vm.get("host") not in placement["hosts"]:
        return False
    if placement.get("resource_pool") and vm.get("resource_pool") != placement["resource_pool"]:
        return False
    if placement.get("datastore") and list(vm.get("datastores") or []) != [placement["datastore"]]:
        return False
    if placement.get("folder") and vm.get("folder") != placement["folder"]:
        return False
    return True


def plan_nics(instance_uuid, vm, nic_segments, backing, dvpgs, opaque):
    """(changes, errors) for VM's vNICs that NSX mapped; other vNICs are left alone (nsx.md 6.3)."""
    changes, errors = [], []
    present = dict((nic["key"], nic) for nic in vm.get("nics") or [])
    for key in sorted(nic_segments, key=_key_order):
        ls_id = nic_segments[key]
        nic = present.get(key)
        if nic is None:
            errors.append("vNIC %s (segment %s) does not exist on the VM" % (key, ls_id))
            continue
        wanted, error = choose_backing(ls_id, backing, dvpgs, opaque)
        if error:
            errors.append("vNIC %s: %s" % (key, error))
            continue
        vif = vif_id(instance_uuid, key)
        changes.append({"key": key, "label": nic.get("label"), "ls_id": ls_id,
                        "before": nic.get("backing"), "after": wanted,
                        "external_id_before": nic.get("external_id"), "external_id": vif,
                        "changed": not (same_backing(nic.get("backing"), wanted) and nic.get("external_id") == vif)})
    return changes, errors


def _key_order(key):
    return (0, int(key)) if str(key).isdigit() else (1, str(key))


def plan_migration(details, vms, dvpgs, opaque, placement, backing="auto", extra_ids=(), pending_ids=(),
                   in_flight=None):
    """One plan entry per VM of the group (and per id in EXTRA_IDS), in a stable order.

    Entry: ``instance_uuid``, ``name``, ``action`` ("relocate" | "adopt" | "none" | "fail"), ``error``,
    ``task`` (adopt: the running task id), ``note``, ``nics`` (every mapped vNIC: before/after backing,
    VIF id, ``changed``), ``placement`` (before and target moref ids) and ``move`` (placement changes).
    PENDING_IDS: VMs a pre_migrate still to be sent will add (check mode): NSX maps their vNICs only
    then, so they are planned as relocations without vNIC detail. IN_FLIGHT: {instance uuid: task id}
    of relocations already queued or running: adopted, never started twice.
    """
    in_flight = in_flight or {}
    if backing not in BACKINGS:
        raise ValueError("backing must be one of %s" % ", ".join(BACKINGS))
    segments = vnic_map(details)
    nsx_failed = nsx_failed_ids(details)
    order = list(dict.fromkeys(list(segments) + list(extra_ids) + nsx_failed))
    entries, cluster_turn = [], 0
    for instance_uuid in order:
        vm = vms.get(instance_uuid)
        entry = {"instance_uuid": instance_uuid, "name": vm.get("name") if vm else None, "action": "none",
                 "error": None, "task": None, "note": None, "nics": [], "placement": {}, "move": False}
        entries.append(entry)
        if instance_uuid in nsx_failed and vm is not None and moved_in_place(instance_uuid, vm, placement):
            entry.update(note=MOVED_NOTE, placement={"before": _before(vm), "after": _before(vm)})
            continue
        if instance_uuid in nsx_failed:
            entry.update(action="fail", error="NSX did not find this VM in the source vCenter (failed_vm_instance_ids)")
            continue
        if vm is None:
            entry.update(action="fail", error="no VM with instance UUID %s in the source or target vCenter" % instance_uuid)
            continue
        if instance_uuid in in_flight:
            entry.update(action="adopt", task=in_flight[instance_uuid],
                         note="relocation task %s already running in vCenter: waited for, not started again"
                         % in_flight[instance_uuid])
            entry["placement"] = {"before": _before(vm), "after": dict(((k, placement.get(k)) for k in PLACEMENT_KEYS),
                                                                       vcenter=placement.get("vcenter"))}
            continue
        if instance_uuid in pending_ids and instance_uuid not in segments:
            placed = is_placed(vm, placement)
            target, cluster_turn = _target_placement(vm, placement, placed, cluster_turn)
            entry.update(action="relocate", note=PENDING_NOTE, move=not placed,
                         placement={"before": _before(vm), "after": target})
            continue
        changes, errors = plan_nics(instance_uuid, vm, segments.get(instance_uuid, {}), backing, dvpgs, opaque)
        if placement.get("cross_vcenter") and vm.get("vcenter") != placement.get("vcenter"):
            # The source's networks do not exist on the target: vSphere would fail the vMotion.
            unmapped = [nic["key"] for nic in vm.get("nics") or [] if nic["key"] not in segments.get(instance_uuid, {})]
            if unmapped:
                errors.append("vNIC %s has no NSX segment in the group, and a cross-vCenter vMotion needs a target "
                              "network for every vNIC" % ", ".join(unmapped))
        entry["nics"] = changes
        if errors:
            entry.update(action="fail", error="; ".join(errors))
            continue
        placed = is_placed(vm, placement)
        target, cluster_turn = _target_placement(vm, placement, placed, cluster_turn)
        entry["placement"] = {"before": _before(vm), "after": target}
        entry["move"] = not placed
        if not placed or any(change["changed"] for change in changes):
            entry["action"] = "relocate"
    return entries


def moved_in_place(instance_uuid, vm, placement):
    """True for a VM already moved to the target vCenter as asked, every vNIC on an NSX segment with its VIF id.

    NSX looks for the group's VMs in the source vCenter: once moved out of it, a VM may be listed in
    failed_vm_instance_ids with no vNIC mapped. Such a VM is migrated, not failed (a cross-vCenter move
    needs every vNIC mapped, so every vNIC carrying its VIF id is the trace of this recipe).
    """
    nics = vm.get("nics") or []
    return bool(placement.get("cross_vcenter") and vm.get("vcenter") == placement.get("vcenter") and nics
                and is_placed(vm, placement)
                and all((nic.get("backing") or {}).get("type") in ("dvpg", "opaque")
                        and nic.get("external_id") == vif_id(instance_uuid, nic["key"]) for nic in nics))


def _before(vm):
    before = dict((k, vm.get(k)) for k in PLACEMENT_KEYS if k != "datastore")
    before["vcenter"] = vm.get("vcenter")
    before["datastore"] = ",".join(vm.get("datastores") or []) or None
    return before


def _target_placement(vm, placement, placed, cluster_turn):
    """The moref ids to put in the RelocateSpec; a cluster's hosts are used in turn."""
    target = dict((key, placement.get(key)) for key in PLACEMENT_KEYS)
    target["vcenter"] = placement.get("vcenter")
    hosts = placement.get("hosts") or []
    if not target["host"] and hosts:
        if placed or (not placement.get("cross_vcenter") and vm.get("host") in hosts):
            target["host"] = vm.get("host")
        else:
            target["host"] = hosts[cluster_turn % len(hosts)]
            cluster_turn += 1
    return target, cluster_turn


def group_ids(details, wanted=()):
    """Every VM of the group: mapped by NSX, asked for in pre_migrate, or listed by NSX as not found."""
    return list(dict.fromkeys(list(vnic_map(details)) + list(wanted or ()) + nsx_failed_ids(details)))


def pre_migrate_decision(details, wanted, allow_override=False):
    """("not requested" | "skip" | "send" | "refuse", the wanted VMs the group lacks).

    DETAILS None: the group does not exist, so pre_migrate creates it. An existing group that
    lacks some WANTED VMs needs a second pre_migrate, which NSX refuses without allow_override.
    """
    if wanted is None:
        return "not requested", []
    known = set(vnic_map(details)) | set(nsx_failed_ids(details)) if details is not None else set()
    missing = [vm for vm in dict.fromkeys(wanted) if vm not in known]
    if details is not None and not missing:
        return "skip", []
    if details is not None and not allow_override:
        return "refuse", missing
    return "send", missing


def decide_outcomes(entries, after, task_outcomes=None):
    """Each VM's outcome from AFTER (the plan re-made from the state re-read once its task ended).

    A VM that is in place (AFTER action "none") is migrated whatever its task said (an error, a
    lost answer, the deadline); one with a relocation still queued or running is "in_progress"
    (with the task id: the vMotion goes on in vCenter); any other is "failed" (or "not_started"
    when the deadline came before its start), with the task's error or why it is not in place.
    TASK_OUTCOMES: {instance uuid: {"state", "error", "task"}} as ``run_tasks`` (or, without
    waiting, ``start_tasks``: "started") reports them.
    Returns ENTRIES, each with ``outcome``, ``error`` and ``task`` set.
    """
    task_outcomes = task_outcomes or {}
    now = dict((e["instance_uuid"], e) for e in after)
    for entry in entries:
        uuid = entry["instance_uuid"]
        real = now.get(uuid)
        task = task_outcomes.get(uuid) or {}
        worked = entry["action"] in ("relocate", "adopt")
        if real is not None and real["action"] == "none":
            entry.update(outcome="relocated" if worked else "unchanged", error=None,
                         task=task.get("task") or entry.get("task"))
            if real["nics"]:
                entry.update(nics=real["nics"], placement=dict(entry["placement"], now=real["placement"].get("before")))
        elif real is not None and (real["action"] == "adopt" or (task.get("state") == "started" and real["action"] != "fail")):
            # Started without waiting (wait: false) and not in place yet: moving, as far as vCenter said.
            running = real["task"] if real["action"] == "adopt" else task["task"]
            entry.update(outcome="in_progress", error=None, task=running,
                         note="relocation task %s is still running: the vMotion goes on in vCenter; a later run "
                              "waits for it" % running)
        elif task.get("state") == "not_started":
            entry.update(outcome="not_started", error=task.get("error"))
        else:
            why = [task["error"]] if task.get("error") else []
            if real is not None and real.get("error") and real["error"] not in why:
                why.append(real["error"])
            if not why:
                why.append("not in place after its relocation ended (task %s)" % task.get("state")
                           if task else "not in place")
            entry.update(outcome="failed", error="; ".join(why), task=task.get("task") or entry.get("task"))
    return entries


def predict_outcomes(entries):
    """Check mode: the outcome each planned action would have."""
    names = {"relocate": "would relocate", "adopt": "in_progress", "none": "unchanged", "fail": "failed"}
    for entry in entries:
        entry["outcome"] = names[entry["action"]]
    return entries


def expected_outcomes(entries, wait=True):
    """Check mode: ENTRIES as a real run would end them, for the post_migrate and finalize decisions.

    A relocation already running (V(in_progress), adopted) is waited for by a real run, within its
    timeout, so it counts as placed ("would relocate"), not as a reason to defer post_migrate.
    Without WAIT a real run waits for nothing: every relocation started or adopted is still moving.
    """
    moving = ("in_progress", "would relocate")
    if not wait:
        return [dict(e, outcome="in_progress") if e.get("outcome") in moving and e["action"] != "none" else e
                for e in entries]
    return [dict(e, outcome="would relocate") if e.get("outcome") == "in_progress" else e for e in entries]


def post_migrate_decision(entries, group_id, markers, pre_migrate_sent=False):
    """What post_migrate needs, from the final outcomes and the VMs' markers.

    MARKERS: {instance uuid: the group named by its post_migrate marker, or None}. A VM carries the
    marker only once a post_migrate that did not list it as failed succeeded, so a placed VM
    without it (post_migrate failed, dropped, killed, deferred, or listed it as failed while it
    was still moving) means post_migrate must be sent again. Returns {"action": "send" | "skip" |
    "defer", "failed": ids NSX must skip (every VM not in place), "allow_override": a repeat (the
    group was not created by this run's pre_migrate), "mark": VMs to mark once it succeeded,
    "reason"}. While a relocation still runs, post_migrate waits ("defer"): it must never list a
    VM that is still moving as failed.
    """
    moving = [e["instance_uuid"] for e in entries if e.get("outcome") == "in_progress"]
    placed = [e["instance_uuid"] for e in entries if e.get("outcome") in PLACED]
    failed = sorted(e["instance_uuid"] for e in entries if e.get("outcome") not in PLACED + ("in_progress",))
    unmarked = [uuid for uuid in placed if markers.get(uuid) != group_id]
    decision = {"action": "skip", "failed": failed, "allow_override": not pre_migrate_sent, "mark": unmarked,
                "reason": None}
    if moving:
        decision.update(action="defer", mark=[], reason="%d VMs are still moving; post_migrate is sent once every "
                                                        "relocation has ended" % len(moving))
    elif unmarked or pre_migrate_sent:
        decision["action"] = "send"
    else:
        decision["reason"] = "every VM in place already carries the post_migrate marker of this group"
    return decision


def finalized_groups(value):
    """The group ids of a finalize marker value ("g1,g2")."""
    return [g for g in (value or "").split(",") if g]


def finalized_value(value, group_id):
    """The finalize marker value with GROUP_ID added (the latest FINALIZED_KEEP groups)."""
    groups = [g for g in finalized_groups(value) if g != group_id] + [group_id]
    return ",".join(groups[-FINALIZED_KEEP:])


def finalize_decision(requested, group_id, entries, post_action, finalized):
    """("not requested" | "send" | "skip", reason): finalize_infra goes once the group is complete.

    Complete: every VM in place and post_migrate done (sent now, or marked before, or not
    requested). FINALIZED: the groups the finalize marker lists (sent before: nothing to send).
    """
    if not requested:
        return "not requested", None
    if not group_id:
        return "send", None
    moving = [e for e in entries if e.get("outcome") == "in_progress"]
    not_placed = [e for e in entries if e.get("outcome") not in PLACED + ("in_progress",)]
    if not_placed:
        return "skip", "%d VMs of the group are not migrated" % len(not_placed)
    if moving:
        return "skip", "%d VMs of the group are still moving" % len(moving)
    if post_action == "defer":
        return "skip", "post_migrate is deferred"
    if group_id in finalized:
        return "skip", "already sent for group %s (finalize marker)" % group_id
    return "send", None


def placement_text(placement, names=None):
    """PLACEMENT {kind: moref id} as {kind: "name (moref id)"}, unset kinds left out (a datastore list
    "ds-1,ds-2" names each). NAMES: {vCenter instance uuid: {moref id: name}} (the vCenter: its host name)."""
    names = names or {}
    known = names.get((placement or {}).get("vcenter")) or {}
    out = {}
    for key, value in (placement or {}).items():
        if value is None:
            continue
        if key == "vcenter":
            out[key] = (names.get("vcenters") or {}).get(value) or value
        elif key == "datastore":
            out[key] = ", ".join(label(known.get(ds), ds) for ds in str(value).split(","))
        else:
            out[key] = label(known.get(value), value)
    return out


def changes(before, after):
    """(before, after) of the placement keys AFTER sets to something other than BEFORE: what changes, no more."""
    before, after = before or {}, after or {}
    # In another vCenter every object is another one, even with the same moref id.
    moves = after.get("vcenter") is not None and after.get("vcenter") != before.get("vcenter")
    keys = [k for k in ("vcenter",) + PLACEMENT_KEYS if after.get(k) is not None and (moves or after[k] != before.get(k))]
    return dict((k, before.get(k)) for k in keys), dict((k, after[k]) for k in keys)


def diff(entries, names=None):
    """(before, after) for diff mode: each VM to relocate, what of its placement changes and every changed vNIC.

    Only what changes is listed (a key absent from both sides is unchanged). NAMES as for
    ``placement_text``, plus names["networks"]: {portgroup key / opaque network id: name}.
    """
    names = names or {}
    before, after = {}, {}
    for entry in entries:
        if entry["action"] not in ("relocate", "adopt"):
            continue
        key = label(entry["name"], entry["instance_uuid"])
        old, new = changes(entry["placement"].get("before"), entry["placement"].get("after"))
        before[key], after[key] = {}, {}
        if new:
            before[key]["placement"] = _changed_text(old, new, entry["placement"].get("before"), names)
            after[key]["placement"] = _changed_text(new, new, entry["placement"].get("after"), names)
        nets = names.get("networks") or {}
        for nic in entry["nics"]:
            if nic["changed"]:
                # A VIF id not set yet is left out: a diff never shows null.
                before[key].setdefault("nics", {})[nic["key"]] = dict(
                    [("backing", backing_text(nic["before"], nets))]
                    + ([("external_id", nic["external_id_before"])] if nic["external_id_before"] else []))
                after[key].setdefault("nics", {})[nic["key"]] = {"backing": backing_text(nic["after"], nets),
                                                                 "external_id": nic["external_id"]}
    return before, after


def readable(entries, names=None):
    """ENTRIES for the result: placements as "name (moref id)" (only what is set; "after" only what
    changes), each vNIC backing with its network name when known."""
    names = names or {}
    nets = names.get("networks") or {}
    out = []
    for entry in entries:
        entry = dict(entry)
        placement = dict(entry.get("placement") or {})
        before = placement.get("before")
        if before is not None:
            dummy, new = changes(before, placement.get("after"))
            placement["after"] = _changed_text(new, new, placement.get("after"), names)
            for side in ("before", "now"):
                if placement.get(side) is not None:
                    placement[side] = placement_text(placement[side], names)
        entry["placement"] = placement
        entry["nics"] = [dict(nic, before=dict(nic["before"] or {}, name=nets.get(_network_id(nic["before"])))
                              if nic.get("before") and nets.get(_network_id(nic["before"])) else nic.get("before"),
                              after=dict(nic["after"], name=nets.get(_network_id(nic["after"])))
                              if nic.get("after") and nets.get(_network_id(nic["after"])) else nic.get("after"))
                         for nic in entry.get("nics") or []]
        out.append(entry)
    return out


def _changed_text(values, changed, side, names):
    """``placement_text`` of VALUES, named in SIDE's vCenter; the vCenter listed only if it CHANGED."""
    text = placement_text(dict(values, vcenter=(side or {}).get("vcenter")), names)
    if "vcenter" not in changed:
        text.pop("vcenter", None)
    return text


def _network_id(backing):
    return (backing or {}).get("portgroup_key") or (backing or {}).get("opaque_network_id")
