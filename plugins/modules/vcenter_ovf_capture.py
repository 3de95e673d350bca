#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vcenter_ovf_capture
short_description: Capture a VM as an OVF template in a vCenter content library
version_added: 1.0.0
description:
  - Exports a virtual machine into an OVF library item of a vCenter content library (the C(create)
    operation of the vSphere Automation REST API, C(/api) or the legacy C(/rest) family).
  - Idempotent by item name. When the library already has an item named O(item), nothing is captured
    and that item is adopted (RV(outcome=adopted)), unless O(overwrite=true).
  - With O(overwrite=true) the existing item's content is replaced by a new capture (every run
    captures again and reports a change). vCenter keeps the item's name and description.
  - The capture call is synchronous and sent once, never repeated. After any uncertain answer (a lost
    connection, a read timeout, an HTTP 5xx or 429) the module looks for the result for up to 30 seconds
    (within O(timeout)). The result is a new item by name or, when overwriting, the item with new content
    (C(content_version) or C(last_modified_time) changed). When it is found, it is the result
    (RV(answer_lost=true)); otherwise the task fails without resending the capture.
  - "How a re-run decides what is already done: the item of an interrupted capture (a killed run) is
    found by name and adopted, never captured a second time. The REST API offers no sign of a capture
    still writing the item, so it is adopted as it is."
author: hybridcloud.migration contributors (@hybridcloud)
extends_documentation_fragment:
  - hybridcloud.migration.vsphere
  - hybridcloud.migration.vcenter_rest
  - hybridcloud.migration.attributes
options:
  vm:
    description:
      - The VM to capture, by name, inventory path (with O(inventory_lookup=soap)) or managed object ID.
      - Names and IDs put into a URL path are percent-encoded, so C(/), C(?), C(&) or C(#) cannot change the
        request; values of dots only, control characters and bidirectional-override characters are refused
        (the same holds for O(library), O(datacenter) and O(item)).
    type: str
    required: true
  datacenter:
    description:
      - The datacenter in which to look up O(vm) by name.
    type: str
  library:
    description:
      - The content library to capture into, by name or ID (the create target's C(library_id)).
      - May be left out to update an existing item given by O(item) (its ID, or a name unique across libraries);
        the item's own library is used then. Creating a new item needs it.
    type: str
  item:
    description:
      - The library item, as in M(hybridcloud.migration.vcenter_ovf_deploy) - the two targets of the C(create)
        operation.
      - A new item (the C(create_spec)'s C(name), in O(library)) when no item of that name exists.
      - An existing item (by name in O(library), or by ID) is adopted as it is, or with O(overwrite=true) updated
        (the create target's C(library_item_id), sent with its C(library_id)) - vCenter replaces its content but
        keeps its name and description.
    type: str
    required: true
  description:
    description:
      - The description of a new library item (the C(create_spec)'s C(description)).
      - vCenter keeps the description of an item it updates (O(overwrite=true)); the module warns when O(description)
        differs from it.
    type: str
  flags:
    description:
      - OVF export flags (the C(create_spec)'s C(flags), for example V(EXTRA_CONFIG)), as listed by vCenter's
        C(vcenter.ovf.export_flag list) operation.
    type: list
    elements: str
  overwrite:
    description:
      - Replace the content of an existing item named O(item) with a new capture of O(vm).
    type: bool
    default: false
  wait:
    description:
      - Wait for the capture to finish. With V(false) the capture call gets 10 seconds to answer; when it is
        still running then and the item exists, the module returns RV(outcome=started).
    type: bool
    default: true
  timeout:
    description:
      - The deadline, in seconds, for the whole run (lookups, the capture call, looking for its result).
      - When it passes while the capture is still running, the task fails naming the item (which then
        exists, so C(changed=true)); a re-run adopts it. Must be at least 1.
    type: int
    default: 10800
seealso:
  - module: hybridcloud.migration.vcenter_ovf_deploy
"""

EXAMPLES = r"""
- name: Capture the prepared VM as a migration template
  hybridcloud.migration.vcenter_ovf_capture:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    vm: web01
    datacenter: DC-East
    library: Migration Templates
    item: web01-template
    description: web01 as of the migration freeze

- name: Refresh the template's content from the VM
  hybridcloud.migration.vcenter_ovf_capture:
    vm: vm-101
    library: Migration Templates
    item: web01-template
    flags: [EXTRA_CONFIG]
    overwrite: true

- name: Update an existing item given by its ID (its library is the item's own)
  hybridcloud.migration.vcenter_ovf_capture:
    vm: web01
    item: 1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9
    overwrite: true
"""

RETURN = r"""
library_item:
  description: The library item (new, overwritten or already present). In check mode the ID of a new item is null.
  returned: always
  type: dict
  sample: {"id": "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9", "name": "web01-template",
           "library_id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f", "library_name": "Migration Templates"}
vm:
  description: The captured VM, its name and managed object ID.
  returned: always
  type: dict
  sample: {"name": "web01", "moref": "vm-101"}
overwritten:
  description: Whether an existing item's content was replaced.
  returned: always
  type: bool
  sample: false
adopted:
  description: True when the item was already in the library and was not captured by this run.
  returned: always
  type: bool
  sample: false
answer_lost:
  description: True when this run captured the item but the answer of the capture call was lost (or was an
    HTTP 5xx) and the item was found afterwards.
  returned: always
  type: bool
  sample: false
outcome:
  description:
    - What this run did. V(captured) a new item; V(overwritten) new content for the existing item;
      V(adopted) the item was already there; V(started) this run's capture is still
      running (O(wait=false), or the run failed because O(timeout) passed).
    - Null in check mode and when the run failed before deciding.
  returned: always
  type: str
  sample: captured
api_family:
  description: The REST URL family used (V(api) or V(rest)).
  returned: always
  type: str
  sample: api
"""


from ansible_collections.hybridcloud.migration.plugins.module_utils import _vcenter_ovf_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import vcenter_rest
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, JobFailedError, NotFoundError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, PollBackoff, format_seconds, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import naming

# After an uncertain answer, how long the captured item is looked for before concluding that nothing was done.
RECONCILE_WINDOW = 30.0
# wait=false: how long the capture call is given to answer before the run returns with the capture running.
START_WINDOW = 10.0


class VcenterOvfCapture(MigrationModule):
    connection = vcenter_rest.CONNECTION
    argument_spec = dict(
        vm=dict(type="str", required=True),
        datacenter=dict(type="str"),
        library=dict(type="str"),
        item=dict(type="str", required=True),
        description=dict(type="str"),
        flags=dict(type="list", elements="str"),
        overwrite=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=vcenter_rest.DEFAULT_DEPLOY_TIMEOUT),
    )
    ranges = {"timeout": (1, None)}

    def run(self):
        params = self.params
        self.deadline = Deadline(params["timeout"])
        rest, inventory = self.client.rest, self.client.inventory
        self.rest = rest
        self.result.update(api_family=rest.family, vm=None, overwritten=False, adopted=False, answer_lost=False,
                           outcome=None, library_item={"id": None, "name": params["item"], "library_id": None})
        library_id = None
        if params["library"]:
            with naming("library"):
                library_id = rest.resolve_library(params["library"])
        self.library_id = library_id
        # Real state: an item of that name (or id), also one an interrupted run's capture is still writing.
        existing = self.existing_item()
        if library_id is None:
            if not existing:
                self.fail_parameter("library", "is required to create a new item: no library item '%s' exists to "
                                    "update" % params["item"])
            library_id = self.library_id = existing.get("library_id")
        self.result["library_item"].update(library_id=library_id, library_name=rest.library_name(library_id),
                                           id=existing["id"] if existing else None)
        if existing:
            self.result["library_item"]["name"] = existing.get("name") or params["item"]
        with naming("datacenter"):
            datacenter = inventory.resolve("datacenter", params["datacenter"]) if params["datacenter"] else None
        with naming("vm"):
            vm_id = inventory.resolve("vm", params["vm"], datacenter)
        vm_name = inventory.names([vm_id]).get(vm_id) or params["vm"]
        self.result["vm"] = {"name": vm_name, "moref": vm_id}
        if existing and not params["overwrite"]:
            self.result.update(adopted=True, outcome=plan.ADOPTED)
            return
        if existing and params["description"] is not None and params["description"] != existing.get("description"):
            self.warn("vCenter keeps the description of an item it updates; 'description' is not applied to library "
                      "item %s" % plan.label(existing.get("name"), existing["id"]))
        # The diff: a new item (its name, library, source) or new content for an existing one, names beside ids.
        library = plan.label(self.result["library_item"]["library_name"], library_id)
        source = plan.label(vm_name, vm_id)
        if existing:
            version = existing.get("content_version")
            before = {"content": "content version %s" % version if version else "the item's current content"}
            after = {"content": "captured again from VM %s" % source}
        else:
            before = {}
            after = {"library_item": params["item"], "library": library, "source_vm": source}
            if params["description"] is not None:
                after["description"] = params["description"]
        if self.check_mode:
            self.changed(before=before, after=after)
            self.diff_header(existing and existing["id"], library)
            return

        def reconcile():
            return self.look_for_result(existing)

        if self.deadline.remaining() <= 0:
            raise WaitTimeoutError("the timeout of %s passed during the lookups, before the capture was sent; "
                                   "nothing was captured" % format_seconds(params["timeout"]),
                                   operation=vcenter_rest.OP_CREATE, resource="library item '%s'" % params["item"])
        read_timeout = self.deadline.remaining() if params["wait"] else min(self.deadline.remaining(), START_WINDOW)
        try:
            item_id, lost = rest.create_item(vm_id, library_id, self.result["library_item"]["name"],
                                             library_item_id=existing["id"] if existing else None,
                                             description=params["description"], flags=params["flags"],
                                             reconcile=reconcile, timeout=max(read_timeout, 1.0))
        except (JobFailedError, ApiError) as error:
            if existing or not (isinstance(error, JobFailedError) or error.status == 400):
                raise
            # Refused: decide from a re-read whether another run created the item meanwhile.
            found = self.existing_item()
            if not found or not plan.is_duplicate_name("%s %s" % (error, error.code)):
                raise
            self.warn("library item '%s' appeared while this run captured it (%s); adopted %s"
                      % (params["item"], error.message, found["id"]))
            self.result["library_item"]["id"] = found["id"]
            self.result.update(adopted=True, outcome=plan.ADOPTED)
            return
        if existing:
            self.changed(before=before, after=after)
        else:
            self.changed(before=before, after=dict(after, library_item=plan.label(params["item"], item_id)))
        self.diff_header(existing and item_id, library)
        self.result["library_item"]["id"] = item_id
        self.result.update(overwritten=bool(existing), answer_lost=lost,
                           outcome=plan.OVERWRITTEN if existing else plan.CAPTURED)
        if lost and self.deadline.remaining() <= 0:
            self.result["outcome"] = plan.STARTED
            raise WaitTimeoutError(
                "the capture of VM %s did not answer within the timeout of %s; library item %s ('%s') exists and its "
                "capture may still be running. Re-run the task: the item is adopted, never captured again"
                % (source, format_seconds(params["timeout"]), item_id, params["item"]),
                operation=vcenter_rest.OP_CREATE, resource="library item '%s'" % params["item"])
        if lost and not params["wait"]:
            self.result["outcome"] = plan.STARTED
        elif lost:
            self.warn("the answer to the capture call was lost; library item %s was found afterwards" % item_id)

    def diff_header(self, item_id, library):
        """An overwrite's diff shows the content only; its header says which item."""
        if item_id and "diff" in self.result:
            header = "library item %s in library %s" % (plan.label(self.result["library_item"]["name"], item_id), library)
            self.result["diff"].update(before_header=header, after_header=header)

    def existing_item(self):
        try:
            with naming("item"):
                return self.rest.resolve_item(self.params["item"], self.library_id)
        except NotFoundError as error:
            if "is not in library" in error.message:
                raise  # an item ID of another library: never create a new item named after that ID
            return None

    def look_for_result(self, existing):
        """After an uncertain answer: the new item by name, or the overwritten item with new content; else None."""
        def look():
            found = self.existing_item()
            if not found:
                return None
            if existing is None:
                return found["id"]
            changed = any(found.get(key) != existing.get(key) for key in ("content_version", "last_modified_time"))
            return found["id"] if changed else None
        try:
            return wait_for(look, min(self.deadline.remaining(), RECONCILE_WINDOW), backoff=PollBackoff(),
                            what="library item '%s'" % self.params["item"])
        except WaitTimeoutError:
            return None

    def validate(self):
        # Called by the base before the session is opened: nothing is sent for bad input.
        params = self.params
        for option in ("vm", "datacenter", "library", "item"):
            if params[option] is not None:
                self.check_name(option, params[option])
                problem = plan.id_like_problem(params[option])
                if problem:
                    self.fail_parameter(option, problem)
        for flag in params["flags"] or []:
            self.check_name("flags", flag, "flag")


def main():
    VcenterOvfCapture().execute()


if __name__ == "__main__":
    main()
