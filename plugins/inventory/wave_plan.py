# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: wave_plan
short_description: One host per VM of a migration wave plan (YAML or CSV)
version_added: 1.0.0
description:
  - Reads a wave plan, a file with one row per VM to migrate (VM, platform, source, destination,
    wave), and builds one inventory host per VM, grouped by wave and by platform.
  - The hosts are not machines Ansible connects to; each gets C(ansible_connection=local), and the
    collection's roles gather the hosts of a play run (C(ansible_play_batch), the current C(serial)
    batch) into one bulk call, so C(--limit), C(serial) and AWX job slicing each become one call per
    slice.
  - Group names are V(wave_<wave>) and V(platform_<platform>); host variables are
    C(migration_vm), C(migration_platform), C(migration_source), C(migration_destination),
    C(migration_wave) and C(migration_<column>) for every other column of the plan.
  - The inventory source is a YAML file whose name ends in V(wave_plan.yml) or V(wave_plan.yaml).
  - With O(check), every VM of the plan is looked up in its platform's API and its host completed
    with C(migration_id) and C(migration_location); a VM the API does not have, or has twice, is a
    problem, and every problem of the plan and of the lookups is raised in one error.
  - With O(cache), the hosts (completed or not) are kept in the inventory cache with a fingerprint of
    the plan file and of O(check); a later run with the same plan reads the cache and contacts no API.
author: hybridcloud.migration contributors (@hybridcloud)
options:
  plugin:
    description: The name of this plugin; it identifies the file as its inventory source.
    required: true
    type: str
    choices: [hybridcloud.migration.wave_plan]
  plan:
    description:
      - The wave plan file, absolute or relative to the inventory source.
      - V(.csv) files have a header line naming the columns; other files are YAML, either a list
        of rows or a mapping with the list under C(vms).
      - Required columns are V(vm) (the VM's name or id as the platform knows it) and V(platform);
        V(source), V(destination) and V(wave) are optional, other columns become host variables (in a
        YAML plan a list stays a list).
      - V(platform) is one of V(zstack) (a ZStack storage migration), V(zstack_v2v) (a foreign VM converted
        into a ZStack VM; V(vm) is the new VM's name, V(source) the source URL, required, V(destination)
        the primary storage), V(nsx), V(vcenter) or V(powervc).
    required: true
    type: str
  check:
    description:
      - Look every VM of the plan up in its platform's API, with one batched read per platform
        (ZStack C(QueryVmInstance) by name, then by uuid for UUID-looking refs not found by name, and
        C(QueryPrimaryStorage); PowerVC C(GET /servers/detail); vCenter one property-collector read of
        every VM, for V(nsx) rows). A platform with no rows in the plan is not contacted. V(vcenter) rows
        are VMs their migration deploys from a content-library item, and V(zstack_v2v) rows VMs their
        conversion creates (from a source only ZStack's conversion reads), so neither is looked up.
      - Credentials come from the same environment variables as the modules, C(ZSTACK_*) for ZStack,
        C(OS_*) (or C(OS_CLOUD)) for PowerVC, C(VMWARE_*) for vCenter (also the vCenter of V(nsx) rows).
      - Each host found gets C(migration_id) (ZStack VM uuid, PowerVC server id, vCenter instance
        UUID) and C(migration_location) (ZStack primary storage of the root volume, PowerVC host,
        vCenter ESXi host name). For V(zstack) and V(powervc) rows with an empty C(source) column,
        C(migration_source) is set to that location too (for V(nsx) rows C(source) means the NSX VM
        group, so it is left as planned).
      - A VM not found, or found more than once by name, is a problem naming its row; a platform whose
        API cannot be read is one problem naming the platform and its host:port. Secrets never appear.
    type: bool
    default: false
    env:
      - name: HYBRIDCLOUD_MIGRATION_WAVE_PLAN_CHECK
extends_documentation_fragment:
  - inventory_cache
"""

EXAMPLES = r"""
# waves.wave_plan.yml, used with: ansible-playbook -i waves.wave_plan.yml playbooks/zstack_storage_migration.yml
plugin: hybridcloud.migration.wave_plan
plan: waves.csv

# waves.csv:
#   vm,platform,source,destination,wave
#   web01,zstack,ps-ceph-old,ps-ceph-new,1
#   db01,zstack,ps-ceph-old,ps-ceph-new,2
#   erp01,zstack_v2v,vmware://155cb773228d346ba8ed1135d48f3718,ps-nfs-01,2   (playbooks/zstack_v2v_import.yml)

# checked.wave_plan.yml, another inventory source: each VM looked up (ZSTACK_HOST, ZSTACK_USERNAME,
# ZSTACK_PASSWORD, OS_AUTH_URL ... in the environment), hosts completed with migration_id, kept in a
# cache for an hour:
#   plugin: hybridcloud.migration.wave_plan
#   plan: waves.csv
#   check: true
#   cache: true
#   cache_plugin: ansible.builtin.jsonfile
#   cache_connection: ~/.cache/hybridcloud-wave-plan
#   cache_timeout: 3600
"""

import csv
import hashlib
import os

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable

from ansible_collections.hybridcloud.migration.plugins.module_utils import powervc, vsphere, zstack
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import MigrationError
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Redactor
from ansible_collections.hybridcloud.migration.plugins.plugin_utils.wave_plan import (
    API_NAMES, WavePlanError, check_rows, complete_hosts, group_names, lookups, raise_problems, read_rows)

# Every secret the lookups may hold, masked in any message (the clients' Redactor does it too).
SECRET_VARIABLES = ("ZSTACK_PASSWORD", "ZSTACK_ACCESS_KEY_SECRET", "OS_PASSWORD", "VMWARE_PASSWORD")


def lookup(api, refs, environ):
    """(found, None) or (None, the problem) for REFS in API: one batched read, the client closed after."""
    client, where = None, ""
    try:
        if api == "zstack":
            client, where = zstack.client_from_environment(environ)
            return zstack.locate_vms(client, refs), None
        if api == "powervc":
            settings = powervc.settings_from_environment(environ)
            where = settings["auth"]["auth_url"].split("://", 1)[-1].split("/", 1)[0]
            client = powervc.PowerVCClient(settings, redactor=Redactor())
            return powervc.locate_servers(client, refs), None
        client, where = vsphere.vsphere_from_environment(environ)
        client.connect()
        return vsphere.locate_vms(client, refs), None
    except (MigrationError, OSError, ValueError) as exc:
        return None, "%s%s could not be read: %s" % (API_NAMES[api], " at " + where if where else "", to_native(exc))
    finally:
        if client is not None:
            try:
                client.close()
            except (MigrationError, OSError):
                pass  # the lookup's answer is in; a failed logout changes nothing for the inventory


class InventoryModule(BaseInventoryPlugin, Cacheable):
    NAME = "hybridcloud.migration.wave_plan"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("wave_plan.yml", "wave_plan.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        plan = os.path.expanduser(self.get_option("plan"))
        if not os.path.isabs(plan):
            plan = os.path.join(os.path.dirname(path), plan)
        check = self.get_option("check")
        try:
            with open(plan, "rb") as handle:
                fingerprint = hashlib.sha256(handle.read() + (b"\0check" if check else b"")).hexdigest()
        except OSError as exc:
            raise AnsibleParserError("wave plan %s: %s" % (plan, to_native(exc)))
        # The standard inventory cache; an entry is used only for the same plan file content and check.
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        hosts = None
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            if isinstance(cached, dict) and cached.get("fingerprint") == fingerprint:
                hosts = cached.get("hosts")
        if hosts is None:
            hosts = self._plan(plan, loader, check)
            if use_cache:
                self._cache[cache_key] = {"fingerprint": fingerprint, "hosts": hosts}
        for host, host_vars in hosts.items():
            self.inventory.add_host(host)
            for name, value in host_vars.items():
                self.inventory.set_variable(host, name, value)
            for group in group_names(host_vars):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)

    def _plan(self, plan, loader, check):
        where = "wave plan " + plan
        try:
            hosts, numbers, problems = check_rows(read_rows(plan, loader))
            if not check:
                raise_problems(problems, where)
                return hosts
            redact = Redactor([os.environ.get(name) for name in SECRET_VARIABLES])
            found, failures = {}, {}
            for api, refs in sorted(lookups(hosts).items()):
                found[api], failure = lookup(api, refs, os.environ)
                if failure:
                    failures[api] = redact(failure)
            return complete_hosts(hosts, numbers, found, failures, problems, where)
        except WavePlanError as exc:
            raise AnsibleParserError(to_native(exc))
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise AnsibleParserError("wave plan %s: %s" % (plan, to_native(exc)))
