# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure planning for content-library OVF deploy and capture: API data in, request bodies out.

No I/O here. The two URL families differ in how they spell a vAPI map (``/rest``: a list of
``{"key", "value"}`` pairs, ``/api``: a JSON object) and in the EULA key of 9.1+ servers; the
rest of a deploy body is the same (the deployment_spec of VMware's vcenter/ovf/library-item deploy call).
"""

from __future__ import annotations

API = "api"
REST = "rest"
FAMILIES = (API, REST)

EULA_KEY = "accept_all_EULA"        # 7.x / 8.x spelling
EULA_KEY_91 = "accept_all_eula"     # the 9.1 spec's spelling
PROPERTY_PARAMS_CLASS = "com.vmware.vcenter.ovf.property_params"
DEPLOYMENT_OPTION_CLASS = "com.vmware.vcenter.ovf.deployment_option_params"
STORAGE_PROVISIONING = ("thin", "thick", "eagerZeroedThick")

# What a deploy run did, in its result's ``outcome``.
DEPLOYED = "deployed"                      # this run's deploy made the VM
ADOPTED = "adopted"                        # the VM was already there, its deploy finished
ADOPTED_AND_WAITED = "adopted_and_waited"  # the VM was there, still being deployed; this run waited for it
STARTED = "started"                        # wait=false: this run's deploy is running, the VM is registered
# ... and a capture run's.
CAPTURED = "captured"
OVERWRITTEN = "overwritten"

VM_NAME_MAX = 80  # vCenter's limit for a VM name
# vCenter stores '/', '\' and '%' in entity names escaped (%2f, %5c, %25): a VM given such a name
# is not found again by that name, so a re-run could not recognise it.
VM_NAME_ESCAPED = "/\\%"


def vm_name_problem(name):
    """Why NAME cannot be the name of a deployed VM (a sentence), or None."""
    if len(name) > VM_NAME_MAX:
        return "must be at most %d characters (vCenter's limit), got %d" % (VM_NAME_MAX, len(name))
    bad = sorted({char for char in name if char in VM_NAME_ESCAPED})
    if bad:
        return ("must not contain %s: vCenter stores these characters escaped, so a later run could not find the VM "
                "by its name" % " or ".join("'%s'" % char for char in bad))
    if name != name.strip():
        return "must not start or end with spaces (vCenter trims them, so a later run could not find the VM)"
    return None


def id_like_problem(value):
    """Why VALUE (a name or an ID that may end up in a URL path) is unusable, or None."""
    if value.strip(".") == "":
        return "must not consist of dots only ('.' and '..' are path navigation, not names)"
    return None


def is_duplicate_name(text):
    """True when a failed deploy's messages say that the VM name is taken (vCenter's DuplicateName)."""
    text = (text or "").lower()
    return "already exists" in text or "duplicatename" in text or "already_exists" in text


def encode_map(family, mapping):
    """A vAPI map in FAMILY's form; keys sorted so that bodies are stable."""
    if family == REST:
        return [{"key": key, "value": mapping[key]} for key in sorted(mapping)]
    return dict(mapping)


def decode_map(value):
    """Either form back to a dict; None (vcsim's empty list) is an empty map."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    return {entry.get("key"): entry.get("value") for entry in value if isinstance(entry, dict)}


def eula_key(version):
    """The EULA field for a server VERSION tuple: 9.1+ renamed it; unknown versions get the classic key."""
    if version and tuple(version[:2]) >= (9, 1):
        return EULA_KEY_91
    return EULA_KEY


def parse_version(text):
    """'8.0.3.00400' -> (8, 0, 3, 400); anything unparsable -> None."""
    if not isinstance(text, str):
        return None
    parts = []
    for piece in text.split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts) or None


def deploy_target(resource_pool_id, folder_id=None, host_id=None):
    target = {"resource_pool_id": resource_pool_id}
    if folder_id:
        target["folder_id"] = folder_id
    if host_id:
        target["host_id"] = host_id
    return target


def deployment_spec(family, name, accept_all_eula, eula_field=EULA_KEY, annotation=None, datastore_id=None,
                    storage_provisioning=None, network_mappings=None, ovf_properties=None, deployment_option=None,
                    storage_profile_id=None, storage_mappings=None, flags=None, locale=None):
    """The ``deployment_spec`` of a deploy body (morefs already resolved).

    STORAGE_MAPPINGS: {OVF storage group: StorageGroupMapping} as ``storage_group_mapping`` builds them.
    """
    spec = {"name": name, eula_field: bool(accept_all_eula)}
    if storage_profile_id:
        spec["storage_profile_id"] = storage_profile_id
    if storage_mappings:
        spec["storage_mappings"] = encode_map(family, storage_mappings)
    if flags:
        spec["flags"] = list(flags)
    if locale:
        spec["locale"] = locale
    if annotation is not None:
        spec["annotation"] = annotation
    if datastore_id:
        spec["default_datastore_id"] = datastore_id
    if storage_provisioning:
        spec["storage_provisioning"] = storage_provisioning
    if network_mappings:
        spec["network_mappings"] = encode_map(family, network_mappings)
    additional = []
    if ovf_properties:
        additional.append({"@class": PROPERTY_PARAMS_CLASS, "type": "PropertyParams",
                           "properties": [{"id": key, "value": _property_text(ovf_properties[key])}
                                          for key in sorted(ovf_properties)]})
    if deployment_option:
        additional.append({"@class": DEPLOYMENT_OPTION_CLASS, "type": "DeploymentOptionParams",
                           "selected_key": deployment_option})
    if additional:
        spec["additional_parameters"] = additional
    return spec


DATASTORE = "DATASTORE"
STORAGE_PROFILE = "STORAGE_PROFILE"


def storage_group_mapping(datastore_id=None, storage_profile_id=None, provisioning=None):
    """One StorageGroupMapping: a union on ``type`` (DATASTORE with datastore_id, or STORAGE_PROFILE)."""
    if datastore_id:
        mapping = {"type": DATASTORE, "datastore_id": datastore_id}
    else:
        mapping = {"type": STORAGE_PROFILE, "storage_profile_id": storage_profile_id}
    if provisioning:
        mapping["provisioning"] = provisioning
    return mapping


def deploy_body(family, target, spec, client_token=None):
    """Both families put target and deployment_spec at the top; only /rest takes client_token in the body."""
    body = {"target": target, "deployment_spec": spec}
    if client_token and family == REST:
        body["client_token"] = client_token
    return body


def switch_eula_key(body):
    """BODY with the other EULA spelling (for the one retry a 9.1 server may ask for)."""
    spec = dict(body["deployment_spec"])
    for old, new in ((EULA_KEY, EULA_KEY_91), (EULA_KEY_91, EULA_KEY)):
        if old in spec:
            spec[new] = spec.pop(old)
            break
    return dict(body, deployment_spec=spec)


def create_body(source_vm_id, library_id, name, library_item_id=None, description=None, flags=None,
                client_token=None, family=API):
    """Capture body. Overwriting an item sends library_id too: the reference calls it 'currently required'."""
    target = {"library_id": library_id}
    if library_item_id:
        target["library_item_id"] = library_item_id
    spec = {"name": name}
    if description is not None:
        spec["description"] = description
    if flags:
        spec["flags"] = list(flags)
    body = {"source": {"type": "VirtualMachine", "id": source_vm_id}, "target": target, "create_spec": spec}
    if client_token and family == REST:
        body["client_token"] = client_token
    return body


def _property_text(value):
    """OVF property values are strings; Ansible may hand us booleans or numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# -- results ---------------------------------------------------------------------------------
def outcome(result):
    """(succeeded, resource, messages) of a DeploymentResult or CreateResult.

    Anything but ``succeeded: true`` is a failure (vcsim omits the key on failure; real vCenter
    answers HTTP 200 with ``succeeded: false``). ``messages`` collects every server message.
    """
    if not isinstance(result, dict):
        return False, None, ["unexpected answer %r" % (result,)] if result not in (None, "") else []
    succeeded = result.get("succeeded") is True
    resource = result.get("resource_id")
    if isinstance(resource, dict):
        resource = resource.get("id")
    resource = resource or result.get("ovf_library_item_id")
    return succeeded, resource if isinstance(resource, str) else None, result_messages(result.get("error"))


def result_messages(error):
    """Every default_message of ``error.errors[]`` in the shapes seen: error.messages, message, issues."""
    if not isinstance(error, dict):
        return [error] if isinstance(error, str) and error else []
    messages = []
    for entry in error.get("errors") or []:
        if not isinstance(entry, dict):
            continue
        inner = entry.get("error") if isinstance(entry.get("error"), dict) else {}
        candidates = list(inner.get("messages") or [])
        candidates.append(entry.get("message"))
        candidates.extend(issue.get("message") for issue in entry.get("issues") or [] if isinstance(issue, dict))
        for message in candidates:
            text = message_text(message)
            if text and text not in messages:
                messages.append(text)
    return messages


def message_text(message):
    """A LocalizableMessage's text: default_message, else its id with args."""
    if isinstance(message, str):
        return message
    if not isinstance(message, dict):
        return None
    text = message.get("default_message")
    if text:
        return text
    if message.get("id"):
        args = message.get("args") or []
        return "%s%s" % (message["id"], " %s" % ", ".join(str(a) for a in args) if args else "")
    return None


# -- what the item needs -----------------------------------------------------------------------
def summary_problems(summary, network_mappings, ovf_properties, accept_all_eula, storage_mappings=None,
                     storage_default=None):
    """Problems with the user's input given the item's OvfSummary (from ``filter``), as (parameter, text).

    A server that returns no networks, storage groups or properties (vcsim answers only ``name``)
    cannot be checked against, so nothing is reported for those. STORAGE_DEFAULT names what takes
    the storage groups that STORAGE_MAPPINGS leaves out (``datastore``, ``storage_profile``), or None.
    """
    summary = summary if isinstance(summary, dict) else {}
    problems = []
    groups = _strings(summary.get("storage_groups"))
    unknown = sorted(set(storage_mappings or {}) - set(groups))
    if groups and unknown:
        problems.append(("storage_mappings", "names OVF storage groups the item does not have: %s (the item's storage "
                         "groups: %s)" % (", ".join(unknown), ", ".join(groups))))
    elif storage_mappings and not groups and summary.get("storage_groups") is not None:
        problems.append(("storage_mappings", "maps storage groups, but the item has none: %s"
                         % ", ".join(sorted(storage_mappings))))
    unmapped = [group for group in groups if group not in (storage_mappings or {})]
    if storage_mappings and unmapped and not storage_default:
        problems.append(("storage_mappings", "leaves the item's storage groups %s without a mapping; map them too, or "
                         "give 'datastore' or 'storage_profile' for them" % ", ".join(unmapped)))
    networks = _strings(summary.get("networks"))
    unknown = sorted(set(network_mappings or {}) - set(networks))
    if networks and unknown:
        problems.append(("network_mappings", "names OVF networks the item does not have: %s (the item's networks: %s)"
                         % (", ".join(unknown), ", ".join(networks))))
    known_properties = summary_properties(summary)
    unknown = sorted(set(ovf_properties or {}) - set(known_properties))
    if known_properties and unknown:
        problems.append(("ovf_properties", "names properties the item does not have: %s (the item's properties: %s)"
                         % (", ".join(unknown), ", ".join(known_properties))))
    if summary.get("eulas") and not accept_all_eula:
        problems.append(("accept_all_eula", "must be true: the item has a EULA that must be accepted to deploy it"))
    return problems


def _strings(value):
    """The strings of a list that may be null (vcsim) or hold odd entries."""
    return [entry for entry in value if isinstance(entry, str)] if isinstance(value, list) else []


def summary_properties(summary):
    props = []
    for params in summary.get("additional_params") or []:
        if isinstance(params, dict) and params.get("type") == "PropertyParams":
            props.extend(p.get("id") for p in params.get("properties") or [] if isinstance(p, dict) and p.get("id"))
    return props


# -- readable output ---------------------------------------------------------------------------
def label(name, ident):
    """'esx-02 (host-31)': the name with its id beside it; the id alone when the name is unknown or is the id."""
    if not ident:
        return name
    if not name or name == ident:
        return ident
    return "%s (%s)" % (name, ident)


def entity(ident, name):
    """An object of a result: ``{"id", "name"}``."""
    return {"id": ident, "name": name}


def placement_result(resolved, names):
    """RESOLVED ({option: id}, network_mappings {ovf network: id}) with names beside the ids."""
    out = {}
    for key, value in resolved.items():
        if key == "network_mappings":
            out[key] = {ovf: entity(ident, names.get(ident)) for ovf, ident in value.items()}
        elif value:
            out[key] = entity(value, names.get(value))
    return out


def placement_diff(resolved, names):
    """The placement part of a deploy's diff: only what is set, each as 'name (id)'."""
    out = {}
    for key in ("datacenter", "cluster", "host", "resource_pool", "folder", "datastore_cluster", "datastore"):
        if resolved.get(key):
            out[key] = label(names.get(resolved[key]), resolved[key])
    if resolved.get("network_mappings"):
        out["network_mappings"] = {ovf: label(names.get(ident), ident)
                                   for ovf, ident in sorted(resolved["network_mappings"].items())}
    return out


def storage_result(profile_id, mappings, names):
    """The storage part of a deploy's ``resolved`` result: objects with names beside ids; empty when unset."""
    out = {}
    if profile_id:
        out["storage_profile"] = entity(profile_id, names.get(profile_id))
    if mappings:
        out["storage_mappings"] = {group: _mapping_result(mapping, names) for group, mapping in mappings.items()}
    return out


def _mapping_result(mapping, names):
    ident = mapping.get("datastore_id") or mapping.get("storage_profile_id")
    key = "datastore" if mapping["type"] == DATASTORE else "storage_profile"
    out = {"type": mapping["type"], key: entity(ident, names.get(ident))}
    if mapping.get("provisioning"):
        out["provisioning"] = mapping["provisioning"]
    return out


def storage_diff(profile_id, mappings, names):
    """The storage part of a deploy's diff: 'Gold (c4f1...)', per group 'datastore east-nfs01 (datastore-15), thin'."""
    out = {}
    if profile_id:
        out["storage_profile"] = label(names.get(profile_id), profile_id)
    if mappings:
        out["storage_mappings"] = {}
        for group in sorted(mappings):
            mapping = mappings[group]
            ident = mapping.get("datastore_id") or mapping.get("storage_profile_id")
            text = "%s %s" % ("datastore" if mapping["type"] == DATASTORE else "storage policy",
                              label(names.get(ident), ident))
            if mapping.get("provisioning"):
                text += ", %s" % mapping["provisioning"]
            out["storage_mappings"][group] = text
    return out


GIB = float(1 << 30)


def pick_datastore(cluster, members, needed):
    """The member of datastore cluster CLUSTER (a label) to deploy to, and why: ``(member or None, reason)``.

    MEMBERS: [{"id", "name", "free_space", "capacity", "accessible", "maintenance"}]; NEEDED: bytes the
    item needs (its library size; 0 when unknown). The usable member (accessible, not in maintenance) with
    the most free space wins, if that is at least NEEDED; ties go to the name, so a re-run picks the same.
    """
    usable = [m for m in members if m.get("accessible", True) and m.get("maintenance") in (None, "normal")]
    roomy = sorted((m for m in usable if (m.get("free_space") or 0) >= needed),
                   key=lambda m: (-(m.get("free_space") or 0), m.get("name") or "", m["id"]))
    size = "%.1f GiB" % (needed / GIB) if needed else "an unknown size"
    if not roomy:
        seen = ", ".join("%s: %.1f GiB free%s" % (label(m.get("name"), m["id"]), (m.get("free_space") or 0) / GIB,
                                                  "" if m in usable else " (unusable: inaccessible or in maintenance)")
                         for m in members) or "no member datastores"
        return None, ("no member of datastore cluster %s has room for the item (%s): %s" % (cluster, size, seen))
    chosen = roomy[0]
    free = (chosen.get("free_space") or 0) / GIB
    return chosen, ("%s has the most free space (%.1f GiB) of the %d usable members of datastore cluster %s, enough "
                    "for the item (%s)" % (label(chosen.get("name"), chosen["id"]), free, len(usable), cluster, size))


def after_claims(members, claims):
    """MEMBERS with their free space less what CLAIMS ({id: bytes}, earlier picks of the same call) will take."""
    if not claims:
        return members
    return [dict(m, free_space=(m.get("free_space") or 0) - claims.get(m["id"], 0)) for m in members]


def all_ids(resolved):
    """Every id of a resolved placement (to read their names in one go)."""
    ids = [value for key, value in resolved.items() if key != "network_mappings" and value]
    return ids + list((resolved.get("network_mappings") or {}).values())


def prefer_exact(name, named):
    """NAMED is [(id, name)] matched case-insensitively (real vCenter's find); keep exact-case ones if any."""
    exact = [entry for entry in named if entry[1] == name]
    return exact or named


# -- many VMs in one call (vms + parallel) ---------------------------------------------------------
# Options of one VM that a ``vms`` entry may set; the top-level option of the same name is its default.
VM_OPTIONS = ("vm", "item", "library", "cluster", "resource_pool", "host", "folder", "datastore", "datastore_cluster",
              "storage_profile", "storage_mappings", "flags", "locale", "storage_provisioning", "network_mappings",
              "ovf_properties", "deployment_option", "annotation", "accept_all_eula", "power_on")
# Options that replace each other: an entry that sets one of a group takes none of the group's defaults.
EXCLUSIVE_GROUPS = (("datastore", "datastore_cluster"),)

# What happens (or would happen, in check mode) to one VM of a bulk call, in its ``outcome``.
WOULD_DEPLOY = "would_deploy"
WOULD_POWER_ON = "would_power_on"
UNCHANGED = "unchanged"
POWERED_ON = "powered_on"          # adopted (already there) and powered on by this run
FAILED = "failed"
IN_PROGRESS = "in_progress"        # the deadline passed while its deploy was still running
NOT_STARTED = "not_started"        # the deadline passed before its deploy was sent


def merge_vm(defaults, entry):
    """One VM's options: ENTRY's values, the top-level DEFAULTS for what ENTRY leaves unset (None)."""
    merged = {}
    for key in VM_OPTIONS:
        value = entry.get(key)
        merged[key] = value if value is not None else defaults.get(key)
    for group in EXCLUSIVE_GROUPS:
        if any(entry.get(key) is not None for key in group):
            for key in group:
                merged[key] = entry.get(key)
    return merged


def entry_option(index, option):
    """How a bulk entry's option is named in messages: ``vms[2].datastore``."""
    return "vms[%d].%s" % (index, option)


def bulk_action(existing, power_on):
    """What a bulk call does to one VM given EXISTING ([(id, power state)] named so in its folder).

    ``("deploy", None)``, ``("adopt", id)`` (power_on and the VM is off: power it on) or
    ``("keep", id)`` (nothing to do).
    """
    if not existing:
        return "deploy", None
    vm_id, state = existing[0]
    if power_on and state != "POWERED_ON":
        return "adopt", vm_id
    return "keep", vm_id


def capacity_problems(demands, spaces, names):
    """Datastores that cannot take what a call deploys to them, as ``([parameter...], text)``, one per datastore.

    DEMANDS: [(datastore id, bytes, VM name, parameter)] (one per VM and datastore it lands on);
    SPACES: {datastore id: free bytes or None (unknown: not checked)}; NAMES: {id: name}.
    """
    needed = {}
    for datastore, size, vm, parameter in demands:
        entry = needed.setdefault(datastore, {"bytes": 0, "vms": [], "parameters": []})
        entry["bytes"] += size
        entry["vms"].append(vm)
        if parameter not in entry["parameters"]:
            entry["parameters"].append(parameter)
    problems = []
    for datastore in sorted(needed):
        free = spaces.get(datastore)
        entry = needed[datastore]
        if free is None or free >= entry["bytes"]:
            continue
        problems.append((entry["parameters"],
                         "datastore %s has %s free, but the %d VM(s) deployed to it need %s (%s; the library item's "
                         "size each)" % (label(names.get(datastore), datastore), size_text(free), len(entry["vms"]),
                                         size_text(entry["bytes"]), ", ".join(entry["vms"]))))
    return problems


def size_text(value):
    """Bytes for people: '812.0 GiB (871878361088 bytes)'."""
    return "%.1f GiB (%d bytes)" % (value / GIB, value)


def item_size(item):
    """The bytes a library item takes (its ``size``), 0 when the library does not say."""
    try:
        return max(int(item.get("size") or 0), 0)
    except (TypeError, ValueError):
        return 0


def vm_datastores(default_datastore, mappings, default_parameter, mapping_parameter):
    """[(datastore id, parameter)] a VM's disks may land on: the default datastore and each mapped one, once each."""
    out = []
    if default_datastore:
        out.append((default_datastore, default_parameter))
    for group in sorted(mappings or {}):
        ident = mappings[group].get("datastore_id")
        if ident and ident not in [d for d, dummy in out]:
            out.append((ident, mapping_parameter))
    return out


def bulk_failures(entries):
    """'web03 (vm-1003): <error>; web07: <error>' for the failed entries of a bulk result."""
    return "; ".join("%s: %s" % (label(e["name"], e.get("moref")), e["error"]) for e in entries
                     if e["outcome"] in (FAILED, IN_PROGRESS, NOT_STARTED))
