# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""vSphere Automation REST options: 1:1 with ``REST_ARGUMENT_SPEC`` in module_utils/vcenter_rest.py.

Used together with the ``hybridcloud.migration.vsphere`` fragment (the connection options are shared).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  api_family:
    description:
      - Which vSphere Automation REST URL family to use, on the same host and port as the SOAP API.
      - V(api) is the C(/api) family of vCenter 7.0U2 and later.
      - V(rest) is the legacy C(/rest) family (older vCenter, and the govmomi vCenter simulator).
      - V(auto) tries C(POST /api/session) first and uses C(/rest) when the server answers 404.
    type: str
    default: auto
    choices: [auto, api, rest]
  inventory_lookup:
    description:
      - How names of datacenters, clusters, hosts, resource pools, folders, datastores, networks and VMs
        are turned into managed object IDs, and how the existing VMs of the target folder are read.
      - V(soap) uses the vSphere SOAP API (C(/sdk), needs pyVmomi); names, inventory paths
        (V(/DC1/vm/Migrated)) and managed object IDs are accepted. It works on every vCenter and on the simulator.
      - V(rest) uses the C(GET /api/vcenter/<kind>?names=...) lookups of the REST API instead, so pyVmomi is
        not needed; names and managed object IDs are accepted, inventory paths are not.
      - V(auto) uses V(rest) when the C(/api) family is in use and V(soap) with the legacy C(/rest) family.
      - A name that matches more than one object is an error in every case.
    type: str
    default: auto
    choices: [auto, soap, rest]
"""
