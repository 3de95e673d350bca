# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A wave plan's rows -> checked hosts and groups: the pure part of the wave_plan inventory plugin.

No Ansible controller import here, so it is tested like any other planning function.
"""

from __future__ import annotations

import csv
import re


class WavePlanError(ValueError):
    """A wave plan that cannot be used; the message lists every problem."""


# zstack: a ZStack storage migration; zstack_v2v: a foreign VM (VMware, KVM) converted into a ZStack VM.
PLATFORMS = ("nsx", "powervc", "vcenter", "zstack", "zstack_v2v")
# What a row of these platforms cannot do without (column, what it holds): no default can stand in for it.
REQUIRED_COLUMNS = {"zstack_v2v": (("source", "the source URL of the VM to convert (vmware://... or kvm://...)"),)}
KNOWN_COLUMNS = ("vm", "platform", "source", "destination", "wave")
_NOT_IN_GROUP_NAME = re.compile(r"[^A-Za-z0-9_]")


def read_rows(path, loader=None):
    """The plan's rows as dicts of str (YAML through LOADER, CSV by its header line)."""
    if path.lower().endswith(".csv"):
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    data = loader.load_from_file(path, cache="none") if loader else None
    if isinstance(data, dict):
        data = data.get("vms")
    if not isinstance(data, list):
        raise WavePlanError("wave plan %s: expected a list of rows (or a mapping with the list under 'vms')" % path)
    return data


def plan_hosts(rows, where="wave plan"):
    """{host name: host vars} from ROWS, checked; every problem of the plan in one error."""
    hosts, dummy, problems = check_rows(rows)
    raise_problems(problems, where)
    return hosts


def check_rows(rows):
    """(hosts, {host: row number}, problems) from ROWS: the good rows become hosts, the others problems."""
    problems = []
    hosts = {}
    first_row = {}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            problems.append("row %d: expected a mapping of columns, got %r" % (number, row))
            continue
        row = {str(k).strip().lower(): _cell(v) for k, v in row.items() if k is not None}
        vm, platform = _text(row.get("vm", "")), _text(row.get("platform", "")).lower()
        if not vm:
            problems.append("row %d: column 'vm' is empty" % number)
            continue
        if platform not in PLATFORMS:
            problems.append("row %d (%s): column 'platform' must be one of %s, got %r"
                            % (number, vm, ", ".join(PLATFORMS), row.get("platform", "")))
            continue
        if vm in hosts:
            problems.append("row %d (%s): the VM is already in row %d" % (number, vm, first_row[vm]))
            continue
        missing = [(column, what) for column, what in REQUIRED_COLUMNS.get(platform, ()) if not row.get(column)]
        if missing:
            problems.extend("row %d (%s): a %s row needs column %r, %s" % (number, vm, platform, column, what)
                            for column, what in missing)
            continue
        first_row[vm] = number
        host_vars = {"migration_vm": vm, "migration_platform": platform, "ansible_connection": "local"}
        for column in ("source", "destination", "wave"):
            if row.get(column):
                host_vars["migration_" + column] = _text(row[column])
        for column, value in row.items():
            if column not in KNOWN_COLUMNS and value:
                host_vars["migration_" + _NOT_IN_GROUP_NAME.sub("_", column)] = value
        hosts[vm] = host_vars
    return hosts, first_row, problems


def _cell(value):
    """A cell as str; a YAML list (of an extra column, e.g. l3_networks) stays a list of str."""
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return "" if value is None else str(value).strip()


def _text(value):
    """A known column's cell as one str (a list there is written out joined by commas)."""
    return ", ".join(value) if isinstance(value, list) else value


def raise_problems(problems, where):
    if problems:
        raise WavePlanError("%s: %d problem(s):\n  %s" % (where, len(problems), "\n  ".join(problems)))


# -- check: completing the hosts from the platform APIs ---------------------------------------------
# The API each platform's VMs are looked up in (an NSX row's VM lives in the source vCenter). A
# vcenter row is a VM its migration deploys (from a content-library item), a zstack_v2v row a VM its
# conversion creates (its source is a URL only ZStack's conversion reads): nothing to look up yet.
API_OF = {"zstack": "zstack", "powervc": "powervc", "nsx": "vcenter"}
API_NAMES = {"zstack": "ZStack", "powervc": "PowerVC", "vcenter": "vCenter"}
# Where migration_source means "where the VM is now" (docs/inventory.md); for nsx it is the NSX VM
# group and for vcenter the content-library item, so the location goes to migration_location only.
SOURCE_IS_LOCATION = ("zstack", "powervc")


def lookups(hosts):
    """{api: sorted VM refs} to look up for HOSTS; an API with no rows is absent (never contacted)."""
    wanted = {}
    for host_vars in hosts.values():
        api = API_OF.get(host_vars["migration_platform"])
        if api:
            wanted.setdefault(api, set()).add(host_vars["migration_vm"])
    return dict((api, sorted(refs)) for api, refs in wanted.items())


def complete_hosts(hosts, numbers, found, failures, problems=(), where="wave plan"):
    """HOSTS completed from what the APIs said; every problem (PROBLEMS of the plan first) in one error.

    FOUND is {api: {ref: [{"id", "name", "location"}, ...]}} (the VMs each ref names), FAILURES
    {api: "why the API could not be read"} (one problem per API, not one per VM). Each host found
    exactly once gets ``migration_id``, ``migration_location`` (when known) and, for the platforms
    where it means the VM's location and the plan leaves it empty, ``migration_source``.
    """
    problems = list(problems)
    problems.extend(failures[api] for api in sorted(failures))
    completed = {}
    for vm in sorted(hosts, key=lambda name: numbers.get(name, 0)):
        host_vars = dict(hosts[vm])
        platform = host_vars["migration_platform"]
        api = API_OF.get(platform)
        completed[vm] = host_vars
        if api is None or api in failures:
            continue
        candidates = (found.get(api) or {}).get(vm) or []
        label = "row %d (%s)" % (numbers[vm], vm) if vm in numbers else vm
        if not candidates:
            problems.append("%s: %s has no VM %r" % (label, API_NAMES[api], vm))
            continue
        if len(candidates) > 1:
            problems.append("%s: %s has %d VMs named %r (%s): give the id instead"
                            % (label, API_NAMES[api], len(candidates), vm, ", ".join(sorted(c["id"] for c in candidates))))
            continue
        vm_found = candidates[0]
        host_vars["migration_id"] = vm_found["id"]
        if vm_found.get("location"):
            host_vars["migration_location"] = vm_found["location"]
            if platform in SOURCE_IS_LOCATION and not host_vars.get("migration_source"):
                host_vars["migration_source"] = vm_found["location"]
    raise_problems(problems, where)
    return completed


# -- a zstack_v2v row as a zstack_v2v_convert item ---------------------------------------------------
# The plan columns of a zstack_v2v row that are options of its conversion, each with the option it
# sets (vm, source and destination are vm, url and primary_storage). The module's guest `platform`
# is the column guest_platform: the plan's own `platform` says zstack_v2v. Other columns are left out
# (the module refuses unknown options).
V2V_COLUMNS = dict([(column, column) for column in (
    "cpu_num", "memory_size", "l3_networks", "default_l3_network", "conversion_host", "zone", "cluster", "host",
    "vm_type", "strategy", "convert_strategy", "pause_vm", "root_file_system", "description", "long_job_name",
    "long_job_description", "tag_uuids", "system_tags", "user_tags", "ssh_priv_key")] + [("guest_platform", "platform")])


def v2v_items(rows, defaults=None, leave_out=()):
    """The zstack_v2v_convert items of the zstack_v2v rows of ROWS, each over DEFAULTS.

    A row is a plan row (vm, platform, source, destination and other columns) or a wave_plan host's
    variables (the same names prefixed ``migration_``). An empty cell sets nothing (the default
    stands); the options named in LEAVE_OUT are dropped (a check-mode plan needs no ssh_priv_key).
    """
    items = []
    for row in rows or ():
        def cell(column, row=row):
            # only the columns read here are looked at: a host's other variables are never templated
            value = row.get("migration_" + column)
            return row.get(column) if value is None else value
        if str(cell("platform") or "").lower() != "zstack_v2v":
            continue
        item = dict(defaults or {})
        for column, option in V2V_COLUMNS.items():
            value = cell(column)
            if value not in (None, "", [], "[]"):  # "[]": an empty list column of a CSV plan
                item[option] = value
        item.update(vm=cell("vm"), url=cell("source") or None)
        if cell("destination"):
            item["primary_storage"] = cell("destination")
        for option in leave_out:
            item.pop(option, None)
        items.append(item)
    return items


def group_names(host_vars):
    """The groups of one planned host: its platform and, when it has one, its wave."""
    groups = ["platform_" + host_vars["migration_platform"]]
    if host_vars.get("migration_wave"):
        groups.append("wave_" + _NOT_IN_GROUP_NAME.sub("_", host_vars["migration_wave"]))
    return groups
