# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure planning for the NSX V2T vMotion recipe (nsx.md section 6): API data in, per-VM changes out.

Inputs are plain data:

* ``details``: merged VmGroupExecutionDetails (``NsxClient.get_vm_group_execution_details``);
* ``vms``: {instance uuid: facts} as ``VSphere.vm_facts`` returns them (``vcenter``, ``host``,
  ``resource_pool``, ``folder``, ``datastores``, ``nics`` [{``key``, ``backing``, ``external_id``}]);
* ``dvpgs``: {logicalSwitchUuid: {``key``, ``switch_uuid``, ``name``, ``dvs_version``}} and
  ``opaque``: {opaque network id: name} of the target vCenter (``VSphere.nsx_networks``);
* ``placement``: {``vcenter`` (target instance uuid), ``cross_vcenter``, ``host``, ``hosts``
  (a cluster's hosts), ``resource_pool``, ``datastore``, ``folder``}: moref ids or None.

``plan_migration`` returns one entry per VM with ``action`` "relocate", "none" or "fail".
"""

from __future__ import annotations

MAP_KEY = "logical_switch_id_to_vm_instance_id_and_vnics_map"
FAILED_KEY = "failed_vm_instance_ids"
BACKINGS = ("auto", "dvpg", "opaque")
OPAQUE_TYPE = "nsx.LogicalSwitch"
PLACEMENT_KEYS = ("host", "resource_pool", "datastore", "folder")


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


def backing_text(backing):
    """A short human form of a backing for diffs: "dvpg dvportgroup-15 on 50 06 ...", "opaque <id>"."""
    if not backing:
        return "none"
    kind = backing.get("type")
    if kind == "dvpg":
        return "dvpg %s on switch %s" % (backing.get("portgroup_key"), backing.get("switch_uuid"))
    if kind == "opaque":
        return "opaque %s (%s)" % (backing.get("opaque_network_id"), backing.get("opaque_network_type") or OPAQUE_TYPE)
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


def plan_migration(details, vms, dvpgs, opaque, placement, backing="auto", extra_ids=()):
    """One plan entry per VM of the group (and per id in EXTRA_IDS), in a stable order.

    Entry: ``instance_uuid``, ``name``, ``action`` ("relocate" | "none" | "fail"), ``error``,
    ``nics`` (every mapped vNIC: before/after backing, VIF id, ``changed``), ``placement``
    (before and target moref ids) and ``move`` (placement changes).
    """
    if backing not in BACKINGS:
        raise ValueError("backing must be one of %s" % ", ".join(BACKINGS))
    segments = vnic_map(details)
    nsx_failed = nsx_failed_ids(details)
    order = list(dict.fromkeys(list(segments) + list(extra_ids) + nsx_failed))
    entries, cluster_turn = [], 0
    for instance_uuid in order:
        vm = vms.get(instance_uuid)
        entry = {"instance_uuid": instance_uuid, "name": vm.get("name") if vm else None, "action": "none",
                 "error": None, "nics": [], "placement": {}, "move": False}
        entries.append(entry)
        if instance_uuid in nsx_failed:
            entry.update(action="fail", error="NSX did not find this VM in the source vCenter (failed_vm_instance_ids)")
            continue
        if vm is None:
            entry.update(action="fail", error="no VM with instance UUID %s in the source or target vCenter" % instance_uuid)
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
        entry["placement"] = {"before": dict((k, vm.get(k)) for k in PLACEMENT_KEYS if k != "datastore"),
                              "after": target}
        entry["placement"]["before"]["datastore"] = ",".join(vm.get("datastores") or []) or None
        entry["move"] = not placed
        if not placed or any(change["changed"] for change in changes):
            entry["action"] = "relocate"
    return entries


def _target_placement(vm, placement, placed, cluster_turn):
    """The moref ids to put in the RelocateSpec; a cluster's hosts are used in turn."""
    target = dict((key, placement.get(key)) for key in PLACEMENT_KEYS)
    hosts = placement.get("hosts") or []
    if not target["host"] and hosts:
        if placed or (not placement.get("cross_vcenter") and vm.get("host") in hosts):
            target["host"] = vm.get("host")
        else:
            target["host"] = hosts[cluster_turn % len(hosts)]
            cluster_turn += 1
    return target, cluster_turn


def failed_ids(entries, outcomes=None):
    """The ids post_migrate must skip: planned failures and relocations that failed or never started."""
    outcomes = outcomes or {}
    out = [e["instance_uuid"] for e in entries if e["action"] == "fail"]
    out += [uuid for uuid, outcome in outcomes.items() if outcome.get("state") != "success"]
    return list(dict.fromkeys(out))


def diff(entries):
    """(before, after) for diff mode: each VM to relocate, its placement and every changed vNIC backing."""
    before, after = {}, {}
    for entry in entries:
        if entry["action"] != "relocate":
            continue
        name = entry["name"] or entry["instance_uuid"]
        label = "%s (%s)" % (name, entry["instance_uuid"])
        before[label] = {"placement": entry["placement"].get("before"), "nics": {}}
        after[label] = {"placement": entry["placement"].get("after"), "nics": {}}
        for nic in entry["nics"]:
            if nic["changed"]:
                before[label]["nics"][nic["key"]] = {"backing": backing_text(nic["before"]),
                                                     "external_id": nic["external_id_before"]}
                after[label]["nics"][nic["key"]] = {"backing": backing_text(nic["after"]),
                                                    "external_id": nic["external_id"]}
    return before, after
