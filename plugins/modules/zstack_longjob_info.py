#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zstack_longjob_info
short_description: Read ZStack LongJobs (storage migrations, V2V conversions)
version_added: 1.0.0
description:
  - Returns the ZStack LongJobs that match every given filter (one query). Without filters, all LongJobs.
  - Use it to follow a job started by M(hybridcloud.migration.zstack_ps_migrate) or
    M(hybridcloud.migration.zstack_v2v_convert) with O(hybridcloud.migration.zstack_ps_migrate#module:wait=false).
author: hybridcloud.migration contributors (@hybridcloud)
options:
  uuid:
    description: The LongJob's uuid.
    type: str
  name:
    description:
      - The LongJob's name.
      - ZStack's query syntax has no escape, so a name it would misread is rejected (not encoded), namely
        an empty name, one starting with V(=), or one containing V(!=), V(>=), V(<=), V(?=) or V(~=).
    type: str
  states:
    description: Only jobs in one of these states.
    type: list
    elements: str
    choices: [Waiting, Suspended, Running, Succeeded, Canceling, Canceled, Failed]
  target_resource_uuid:
    description: Only jobs working on this resource (for example the VM of a storage migration).
    type: str
  job_name:
    description:
      - Only jobs of this kind, for example V(APIPrimaryStorageMigrateVmMsg) or V(APIConvertVmFromForeignHypervisorMsg).
      - Checked like O(name).
    type: str
  api_id:
    description: Only the job started by this API call (the C(job_uuid) that zstack_ps_migrate returns).
    type: str
extends_documentation_fragment:
  - hybridcloud.migration.zstack
  - hybridcloud.migration.attributes.info_module
"""

EXAMPLES = r"""
- name: The running storage migrations of a VM
  hybridcloud.migration.zstack_longjob_info:
    job_name: APIPrimaryStorageMigrateVmMsg
    target_resource_uuid: f0f7aed586e55a32bd0ee16379608c2b
    states: [Waiting, Running]
  register: migrations

- name: Follow a conversion until it ends
  hybridcloud.migration.zstack_longjob_info:
    uuid: "{{ started.job_uuid }}"
  register: jobs
  until: jobs.long_jobs[0].state in ['Succeeded', 'Failed', 'Canceled']
  retries: 240
  delay: 60
"""

RETURN = r"""
long_jobs:
  description:
    - The matching LongJob inventories, as ZStack returns them (C(jobData) and C(jobResult) are strings, often JSON).
    - Secrets ZStack keeps in C(jobData), such as a V2V C(sshPrivKey), are masked.
  returned: always
  type: list
  elements: dict
  sample: [{"uuid": "46574bd4623d4e1c9c1e150a1bc829f5", "name": "APIPrimaryStorageMigrateVmMsg",
            "jobName": "APIPrimaryStorageMigrateVmMsg", "state": "Running", "apiId": "b3e031bde29b46dd924aed1059fce57c",
            "targetResourceUuid": "f0f7aed586e55a32bd0ee16379608c2b", "jobData": "{\"dstPrimaryStorageUuid\": \"d15c3212\"}",
            "jobResult": null, "createDate": "Nov 23, 2026 8:27:43 PM"}]
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import zstack
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import (
    is_uuid, longjob_conditions, query_value_problem)

STATES = ["Waiting", "Suspended", "Running", "Succeeded", "Canceling", "Canceled", "Failed"]


class ZstackLongjobInfo(MigrationModule):
    connection = zstack.CONNECTION
    argument_spec = dict(
        uuid=dict(type="str"),
        name=dict(type="str"),
        states=dict(type="list", elements="str", choices=STATES),
        target_resource_uuid=dict(type="str"),
        job_name=dict(type="str"),
        api_id=dict(type="str"),
    )

    def validate(self):
        p = self.params
        for name in ("uuid", "target_resource_uuid", "api_id"):
            if p[name] is not None and not is_uuid(p[name]):
                self.fail_parameter(name, "must be a ZStack uuid (32 lowercase hex characters), got %r" % p[name])
        for name in ("name", "job_name"):  # compared with '=' in a query: must mean themselves to its parser
            if p[name] is not None:
                self.check_name(name, p[name])
                problem = query_value_problem(p[name])
                if problem:
                    self.fail_parameter(name, "%s (got %r)" % (problem, p[name]))

    def run(self):
        p = self.params
        conditions = longjob_conditions(p["uuid"], p["name"], p["states"], p["target_resource_uuid"], p["job_name"],
                                        p["api_id"])
        jobs = self.client.query("longjobs", conditions)
        self.result["long_jobs"] = [self.client.shown(job) for job in jobs]


def main():
    ZstackLongjobInfo().execute()


if __name__ == "__main__":
    main()
