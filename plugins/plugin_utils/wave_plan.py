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


PLATFORMS = ("nsx", "powervc", "vcenter", "zstack")
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
    problems = []
    hosts = {}
    first_row = {}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            problems.append("row %d: expected a mapping of columns, got %r" % (number, row))
            continue
        row = {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in row.items() if k is not None}
        vm, platform = row.get("vm", ""), row.get("platform", "").lower()
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
        first_row[vm] = number
        host_vars = {"migration_vm": vm, "migration_platform": platform, "ansible_connection": "local"}
        for column in ("source", "destination", "wave"):
            if row.get(column):
                host_vars["migration_" + column] = row[column]
        for column, value in row.items():
            if column not in KNOWN_COLUMNS and value:
                host_vars["migration_" + _NOT_IN_GROUP_NAME.sub("_", column)] = value
        hosts[vm] = host_vars
    if problems:
        raise WavePlanError("%s: %d problem(s):\n  %s" % (where, len(problems), "\n  ".join(problems)))
    return hosts


def group_names(host_vars):
    """The groups of one planned host: its platform and, when it has one, its wave."""
    groups = ["platform_" + host_vars["migration_platform"]]
    if host_vars.get("migration_wave"):
        groups.append("wave_" + _NOT_IN_GROUP_NAME.sub("_", host_vars["migration_wave"]))
    return groups
