#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: powervc_server
short_description: Deploy or delete an IBM PowerVC VM (IBM i, AIX) with a virtual serial number (VSN)
version_added: 1.0.0
description:
  - Creates an IBM PowerVC virtual machine from an image and a flavor (compute template), on a chosen host,
    with a virtual serial number (VSN) set at create time, and waits until it is C(ACTIVE).
    This is how a reserved VSN is used again after a host evacuation or a re-deploy
    (IBM i licences follow the serial number).
  - Deletes a VM, optionally keeping its VSN reserved for a later re-deploy.
  - The VSN is passed as PowerVC documents it, in the C(powervm:virtual_serial_number) extra spec of an inline
    flavor in C(POST /servers); the inline flavor carries the sizes and extra specs of O(flavor).
  - The server name is the key. A run first reads the servers. A server of that name that exists is not created
    again and not changed; one still being built (an earlier run was interrupted) is waited for.
    A server still building that shows no VSN yet is compared with O(virtual_serial_number) once its build has
    ended (PowerVC may show the VSN of a new server only then).
    After a create whose answer was lost (connection reset, timeout, 5xx) the module looks the server up by name
    and adopts it instead of sending the create again; after a delete whose answer was lost, it reads the server
    again and counts the delete as done when the server is gone. A server that Nova is already deleting
    (C(OS-EXT-STS:task_state) C(deleting), an earlier run was interrupted) is waited for, not deleted again
    (action C(adopt_delete)); with O(reserve_vsn_on_delete=true) its VSN is reserved afterwards only if it is
    not listed as reserved once the server is gone.
  - Every name is resolved and every input checked before anything is sent; bad input fails naming the option
    and nothing is changed.
  - Many VMs in one task with O(vms) (a wave). One read of the servers plans all of them, at most O(parallel)
    builds and deletes run at a time, and one poller (one server list per poll, whatever the number of VMs)
    waits for all of them. Each VM converges as in the single form (its name is the key; a re-run adopts builds
    and deletes left running and never sends a create twice). Every VM is attempted even when others fail;
    the task fails at the end naming the failed VMs. Per-VM outcomes are returned in RV(vms).
author: hybridcloud.migration contributors (@hybridcloud)
options:
  vm:
    description:
      - Name of the VM (the PowerVC server). Must be unique in the project; several servers of that name are an error.
      - Names are compared exactly (not as Nova's regular-expression filter) and sent in request bodies only,
        never in a URL; empty names and names with control or Unicode formatting characters are rejected.
      - One of O(vm) and O(vms) is required.
    type: str
    aliases: [name]
  vms:
    description:
      - Several VMs in one task, each a dict of the per-VM options of the single form (O(vms[].vm) required).
        The top-level options of the same name are the defaults of every item; a top-level option the item's
        state does not use is not applied to it, while an item's own option its state does not use is an error.
      - Two items may not name the same server or ask for the same VSN. Mutually exclusive with O(vm).
      - Every item is planned (names resolved, VSNs checked) from one read of the servers before anything is
        sent; bad input in any item fails the task naming it (for example C(vms[3].image)) and changes nothing.
        A conflict with an existing server (another VSN, another host, a server in C(ERROR)) fails only that VM.
    type: list
    elements: dict
    suboptions:
      vm:
        description: Name of the VM, as O(vm).
        type: str
        required: true
        aliases: [name]
      state:
        description: As O(state); default the top-level O(state).
        type: str
        choices: [present, absent]
      image:
        description: As O(image).
        type: str
      flavor:
        description: As O(flavor).
        type: str
      networks:
        description: As O(networks).
        type: list
        elements: dict
        suboptions:
          network:
            description: Network id or name.
            type: str
            required: true
          fixed_ip:
            description: Fixed IPv4 address on that network.
            type: str
      host:
        description: As O(host).
        type: str
      virtual_serial_number:
        description: As O(virtual_serial_number).
        type: str
      reserve_vsn_on_delete:
        description: As O(reserve_vsn_on_delete).
        type: bool
      reservation_description:
        description: As O(reservation_description).
        type: str
  parallel:
    description:
      - With O(vms), at most this many builds and deletes at a time (between 1 and 32). Builds and deletes of these
        VMs found running (an earlier, interrupted run) count.
      - With O(wait=false), at most this many are started; the others are reported as C(not_started) and a later
        run starts them.
    type: int
    default: 4
  state:
    description:
      - V(present) - the server exists. Created (and waited for, see O(wait)) when there is none of that name.
        An existing server is reported as it is (C(changed=false)); it is never modified.
      - V(absent) - no server of that name exists. Deleted (and waited for) when there is one.
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - Image to deploy, by id or name (ids win; a name several images carry is an error).
      - Required to create a server; not compared on an existing one.
    type: str
  flavor:
    description:
      - Flavor (PowerVC compute template), by id or name. Its sizes and extra specs are sent as an inline flavor,
        together with the VSN extra spec.
      - Required to create a server; not compared on an existing one.
    type: str
  networks:
    description:
      - The networks of a new server, in order; not compared on an existing one.
    type: list
    elements: dict
    suboptions:
      network:
        description: Network id or name.
        type: str
        required: true
      fixed_ip:
        description: Fixed IPv4 address on that network; PowerVC picks one when not set.
        type: str
  host:
    description:
      - Host to deploy on, placed through the availability zone (C(:<host>)).
        Accepted as C(TTTT-MMM*SSSSSSS), C(TTTTMMM_SSSSSSS) or the PowerVC display name, resolved through the
        hypervisor list (admins only; other users can give only the two MTMS forms), as in
        M(hybridcloud.migration.powervc_vsn).
      - When not set and O(virtual_serial_number) is a reserved VSN, the server goes to that VSN's host;
        otherwise PowerVC's scheduler picks the host.
      - With O(state=present), an existing server on another host fails (this module does not move servers).
    type: str
  virtual_serial_number:
    description:
      - V(auto) - PowerVC picks a free VSN of the target host at create time. Which one cannot be read before
        (PowerVC lists only reserved VSNs), so check mode reports V(auto). An existing server with any VSN matches.
      - A VSN, 7 letters or digits (upper-cased), for example C(ABCD567). A reserved VSN is used (and its
        reservation consumed); one in use by another server fails before anything is sent.
        An existing server with this VSN matches.
      - V(none) - no VSN. An existing server without a VSN matches.
      - When not set, a new server gets no VSN and the VSN of an existing server is not compared.
      - An existing server with another VSN fails (nothing is changed; the message says how to change it with
        M(hybridcloud.migration.powervc_vsn)).
    type: str
  reserve_vsn_on_delete:
    description:
      - With O(state=absent), keep the server's VSN reserved, to be used again by a later create.
      - PowerVC's delete takes no such flag, so the VSN is reserved first (a VSN still on a VM can be reserved)
        and the server deleted after; if the reservation fails (for example on an HMC-managed host, where PowerVC
        reserves nothing), the server is not deleted. A re-run after an interrupted delete finds the VSN already
        reserved and goes on with the delete.
    type: bool
    default: false
  reservation_description:
    description: Description of the reservation made with O(reserve_vsn_on_delete).
    type: str
  wait:
    description:
      - Wait until the new server is C(ACTIVE) (or C(ERROR), which fails the task with PowerVC's fault message),
        or until the deleted server is gone.
      - With V(false), the module returns once PowerVC accepted the request; a later run with O(wait=true)
        picks the server up and waits for it.
    type: bool
    default: true
  timeout:
    description:
      - Seconds for the whole task, from its start to the moment the server (with O(vms), every server) is in its
        final state (the reads,
        the create or delete and, when O(wait=true), the wait after it), between 1 and 86400.
      - A build or delete still running at the deadline keeps running; a re-run finds it and waits for it.
    type: int
    default: 1800
notes:
  - Images, flavors and networks are read through the compute endpoint (C(GET /images/detail),
    C(/flavors/detail), C(/flavors/{id}/os-extra_specs), C(/os-networks)). When the endpoint does not serve a
    listing, the value is taken as an id as written and only PowerVC's answer to the create checks it; a flavor
    whose sizes cannot be read is then sent as C(flavorRef) beside the inline flavor that carries the VSN.
  - The create request is never repeated by the module. If its answer is lost, the server is looked up by name;
    if it is not there, the task fails and a re-run creates it.
  - The admin password in PowerVC's create answer is masked and never returned.
  - The hypervisor list is read to put host display names beside host ids (null for a user who may not read it).
  - With O(vms), a wait polls C(GET /servers/detail) (one list for every VM, at once and then every 0.5 s for
    5 s after each build or delete starts, then at most 10 % of the time waited apart, at most 10 s); once every
    build and delete has ended, C(GET /servers) (where IBM documents the VSN) and C(/servers/detail) are read
    once more and each VM's outcome is decided from that read.
  - The diff (C(--diff)) shows a created server as it is planned (fields not known yet are left out), a deleted one
    as it was, and for a build this run saw end only the fields that changed, under C(name (id)).
extends_documentation_fragment:
  - hybridcloud.migration.powervc
  - hybridcloud.migration.attributes
seealso:
  - module: hybridcloud.migration.powervc_vsn
  - module: hybridcloud.migration.powervc_vsn_info
  - name: IBM PowerVC virtual serial number (VSN) APIs
    description: The create-with-VSN call this module makes.
    link: https://www.ibm.com/docs/en/powervc-cloud/2.3.0?topic=apis-virtual-serial-number-vsn
  - name: IBM PowerVC deploy VMs without volumes
    description: The inline-flavor form of the create request.
    link: https://www.ibm.com/docs/en/powervc-cloud/2.3.3?topic=apis-deploy-vms-without-volumes
"""

EXAMPLES = r"""
- name: Re-deploy ibmi-prod-01 on the DR host with its reserved VSN
  hybridcloud.migration.powervc_server:
    cloud: powervc
    vm: ibmi-prod-01
    image: IBM i 7.5 base
    flavor: ibmi-small
    networks:
      - network: prod-vlan10
        fixed_ip: 10.10.10.21
    host: dr-p10-b
    virtual_serial_number: CDF0002

- name: Deploy an IBM i test VM with any free VSN of its host
  hybridcloud.migration.powervc_server:
    auth:
      auth_url: https://powervc.example.com:5000/v3
      username: root
      password: "{{ powervc_password }}"
      project_name: ibm-default
    vm: ibmi-test-07
    image: IBM i 7.5 base
    flavor: ibmi-medium
    networks:
      - network: prod-vlan10
    host: 9080-HEX*1234ABC
    virtual_serial_number: auto
    timeout: 3600

- name: Re-deploy a wave of IBM i VMs with their reserved VSNs, 8 builds at a time
  hybridcloud.migration.powervc_server:
    cloud: powervc
    image: IBM i 7.5 base
    flavor: ibmi-small
    networks:
      - network: dr-vlan20
    parallel: 8
    vms:
      - vm: ibmi-prod-01
        virtual_serial_number: CDF0002
      - vm: ibmi-prod-02
        virtual_serial_number: CDF0003
        flavor: ibmi-medium
      - vm: ibmi-old-09
        state: absent
        reserve_vsn_on_delete: true

- name: Delete a VM but keep its VSN reserved for the re-deploy
  hybridcloud.migration.powervc_server:
    vm: ibmi-prod-01
    state: absent
    reserve_vsn_on_delete: true
    reservation_description: ibmi-prod-01 moves to the DR host
"""

RETURN = r"""
vms:
  description:
    - With O(vms), one entry per item, in order. In check mode, what a real run would report.
    - C(outcome) is C(created), C(deleted), C(adopted) (a build found running, waited for until it ended),
      C(unchanged), C(failed), C(in_progress) (still running at the deadline or with O(wait=false); a re-run
      adopts it) or C(not_started) (not started before the deadline, or beyond O(parallel) with O(wait=false)).
    - C(from) and C(to) are the server before and after as one line (status, host display name beside the host
      id, VSN), or C(absent). C(error) is the failure (the operation, the API's code and message) or empty.
      C(started) and C(ended) are epoch seconds (null when not started or not ended). C(jobs) is always empty
      (Nova's create and delete answer with the server id, no job id).
    - C(actions) and C(server) are as in the single form, for that VM.
  returned: with O(vms)
  type: list
  elements: dict
  sample:
    - name: ibmi-prod-01
      id: 0c6f1c1e-6d52-4b0e-9d57-3a1b2c3d4e5f
      state: present
      outcome: created
      from: absent
      to: ACTIVE on dr-p10-b (9109RMD_1031CAT), VSN CDF0002
      jobs: []
      error: ""
      started: 1796432400.12
      ended: 1796432461.87
      actions: []
      server: {}
server:
  description:
    - Without O(vms), the server after the run. In check mode, the server a create would make (C(id) null); after a delete, empty.
    - C(host) is visible to admins only (null otherwise), C(host_display_name) is its PowerVC display name.
      C(fault) is set for a server in C(ERROR).
  returned: without O(vms)
  type: dict
  sample:
    id: 0c6f1c1e-6d52-4b0e-9d57-3a1b2c3d4e5f
    name: ibmi-prod-01
    status: ACTIVE
    host: 9109RMD_1031CAT
    host_display_name: dr-p10-b
    virtual_serial_number: CDF0002
    image: ibmi-7.5-base
    flavor: inline-3b1f0a9c2d4e
    availability_zone: Default Group
    addresses:
      prod-vlan10:
        - addr: 10.10.10.21
          version: 4
          OS-EXT-IPS:type: fixed
actions:
  description:
    - Without O(vms), what was done (in check mode, what would be done), in order. Empty when nothing had to change.
    - C(action) is C(create), C(adopt) (a server found building or created by a run whose answer was lost,
      then waited for), C(reserve_vsn), C(delete) or C(adopt_delete) (a server Nova was already deleting,
      waited for), and with O(state=present) C(wait_deleted) (a server of that name being deleted, waited for
      before the create).
    - For C(create), C(virtual_serial_number) is the VSN asked for (V(auto) when PowerVC picks), C(vsn_source) says
      where it comes from, and C(host) is the target host (null when PowerVC's scheduler picks); C(image) and
      C(flavor) are ids, with C(image_name), C(flavor_name) and C(host_display_name) beside them.
    - Every other action has the server's C(name) and C(id).
  returned: without O(vms)
  type: list
  elements: dict
  sample:
    - action: create
      name: ibmi-prod-01
      image: ibmi-7.5-base
      image_name: IBM i 7.5 base
      flavor: ibmi-small
      flavor_name: ibmi-small
      networks: [prod-vlan10]
      host: 9109RMD_1031CAT
      host_display_name: dr-p10-b
      virtual_serial_number: CDF0002
      vsn_source: reserved on host 9109RMD_1031CAT
vsn:
  description:
    - With O(state=absent) and O(reserve_vsn_on_delete=true), the VSN kept and whether it is listed as reserved
      after the delete (predicted in check mode).
  returned: when a VSN was reserved on delete
  type: dict
  sample:
    virtual_serial_number: CDF0002
    reserved: true
    host: 9109RMD_1031CAT
    host_display_name: dr-p10-b
"""


import time

from ansible_collections.hybridcloud.migration.plugins.module_utils import _powervc_server_plan as splan
from ansible_collections.hybridcloud.migration.plugins.module_utils import powervc
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ConflictError, JobFailedError, MigrationError, ParameterError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Deadline, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils._powervc_plan import (
    AUTO, changes, display_name, find_reserved, resolve_host, server_vsn, vm_label)


def per_vm_options():
    """The options of one VM: the top-level ones (defaults for every VM) and each ``vms`` entry's."""
    return dict(
        state=dict(type="str", choices=["present", "absent"]),
        image=dict(type="str"),
        flavor=dict(type="str"),
        networks=dict(type="list", elements="dict", options=dict(
            network=dict(type="str", required=True),
            fixed_ip=dict(type="str"),
        )),
        host=dict(type="str"),
        virtual_serial_number=dict(type="str"),
        reserve_vsn_on_delete=dict(type="bool"),
        reservation_description=dict(type="str"),
    )


def argument_spec():
    spec = per_vm_options()  # an entry's unset option (None) takes the top-level one
    spec.update(
        vm=dict(type="str", aliases=["name"]),
        vms=dict(type="list", elements="dict",
                 options=dict(per_vm_options(), vm=dict(type="str", required=True, aliases=["name"]))),
        parallel=dict(type="int", default=4),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=1800),
    )
    spec["state"]["default"] = "present"
    spec["reserve_vsn_on_delete"]["default"] = False
    return spec


class PowerVCServer(MigrationModule):
    connection = powervc.CONNECTION
    argument_spec = argument_spec()
    module_kwargs = dict(mutually_exclusive=[["vm", "vms"]], required_one_of=[["vm", "vms"]])
    ranges = {"timeout": (1, 86400), "parallel": (1, 32)}

    def validate(self):
        self.deadline = Deadline(self.params["timeout"])  # the whole task, login included
        if self.params["vms"] is not None:
            self._validate_bulk()
            return
        # Before the client is opened: options that make no sense for the state are errors, not ignored
        # (the argspec cannot say "only with state=X"), and names and the VSN are checked before any call.
        if self.params["state"] == "present":
            for option in ("reserve_vsn_on_delete", "reservation_description"):
                if self.params[option] not in (None, False):
                    self.fail_parameter(option, "is used only with state=absent")
        else:
            for option in ("image", "flavor", "networks", "host", "virtual_serial_number"):
                if self.params[option] is not None:
                    self.fail_parameter(option, "is not used with state=absent")
            if self.params["reservation_description"] is not None and not self.params["reserve_vsn_on_delete"]:
                self.fail_parameter("reservation_description", "is used only with reserve_vsn_on_delete=true")
        self.name = self.check_name("vm", self.params["vm"])
        self.vsn = splan.wanted_vsn(self.params["virtual_serial_number"])

    def run(self):
        self.result.update(actions=[], server={})
        self.final = None  # the server as the last read after a build showed it
        # The hypervisor list: to resolve 'host', and to put display names beside host ids in the output.
        if self.params["vms"] is not None:
            self._bulk()
            return
        self.hosts = self.client.hosts(needed=bool(self.params["host"]))
        if self.params["state"] == "present":
            self._present()
        else:
            self._absent()

    # -- present -----------------------------------------------------------------------------
    def _present(self):
        servers = self.client.list_servers()
        host = self._host()
        existing = splan.find_by_name(servers, self.name)
        if existing is not None and splan.is_deleting(existing):
            going = existing
            existing = self._wait_deleted(existing)
            # Its VSN is free (or reserved) once it is gone: plan the create without it.
            servers = ([s for s in servers if s is not going] if self.check_mode else self.client.list_servers())
        if existing is not None:
            self._existing(existing, host)
            return
        body, action, predicted = self._plan_create(self.name, self.params, self.vsn, host, servers)
        self.result["actions"].append(action)
        if self.check_mode:
            self.changed({}, _known(predicted))
            self.result["server"] = predicted
            return
        created = self._create(body)
        self.changed({}, _known(predicted))  # before the wait: a build that fails has still created a server
        self._finish(created)
        if "diff" in self.result:
            self.result["diff"]["after"] = _known(self.result["server"])

    def _plan_create(self, name, opts, vsn, host, servers, prefix=""):
        """(POST /servers body, the 'create' action, the predicted server) for server NAME from OPTS.

        Every name is resolved here, before anything is sent; PREFIX names the option inside 'vms'. SERVERS: those
        to check the VSN against (the servers that carry it are enough).
        """
        for option in ("image", "flavor"):
            if not opts[option]:
                self.fail_parameter(prefix + option, "is required to create server %s (there is none of that name)"
                                    % name)
        try:
            image = splan.resolve(opts["image"], self._listing("images"), "image", "image")
            flavor = splan.resolve(opts["flavor"], self._listing("flavors"), "flavor", "flavor")
            networks, network_names = splan.resolve_networks(opts["networks"], self._networks(opts["networks"]))
            reserved = self._listing("reserved") if vsn not in (None, splan.NONE, AUTO) else []
            target, record = splan.check_vsn_for_create(vsn, host["name"] if host else None, reserved, servers)
        except ParameterError as error:
            raise splan.prefixed(error, prefix) if prefix else error
        for item in (image, flavor):
            if item.get("unchecked"):
                self.warn("PowerVC does not list %ss here; %r is sent as an id, unchecked" % (
                    "image" if item is image else "flavor", item["id"]))
        flavor, specs = self._flavor_details(flavor)
        vsn = vsn if vsn is not None else splan.NONE
        # Sizes unknown (flavors not listed): name the flavor too, the inline part then carries the VSN only.
        flavor_ref = flavor["id"] if flavor.get("vcpus") is None else None
        body = splan.create_request(name, image["id"], splan.inline_flavor(flavor, specs, vsn), networks,
                                    splan.zone_for(target), flavor_ref)
        if record is not None:
            source = "reserved on host %s" % record["host"]
        elif vsn == AUTO:
            source = "picked by PowerVC from the free VSNs of %s at create" % ("host " + target if target else
                                                                               "the host PowerVC's scheduler picks")
        elif vsn == splan.NONE:
            source = "no VSN"
        else:
            source = "not in the reserved list; PowerVC checks it is free on the target host"
            self.warn("VSN %s is not reserved; PowerVC will use it only if it is free on the target host" % vsn)
        action = {"action": "create", "name": name, "image": image["id"], "image_name": image.get("name"),
                  "flavor": flavor["id"], "flavor_name": flavor.get("name"), "networks": network_names,
                  "host": target, "host_display_name": display_name(target, self.hosts),
                  "virtual_serial_number": vsn, "vsn_source": source}
        predicted = splan.planned_server(name, image["id"], flavor["id"], target,
                                         None if vsn == splan.NONE else vsn, network_names)
        predicted["host_display_name"] = display_name(target, self.hosts)
        return body, action, predicted

    def _listing(self, what):
        """Images, flavors, networks or reserved VSNs, each read once per run (a bulk run shares them)."""
        cache = self.__dict__.setdefault("_listings", {})
        if what not in cache:
            cache[what] = {"images": self.client.list_images, "flavors": self.client.list_flavors,
                           "networks": self.client.list_networks, "reserved": self.client.list_reserved}[what]()
        return cache[what]

    def _flavor_details(self, flavor):
        """FLAVOR with its sizes, and its extra specs; read once per flavor id."""
        cache = self.__dict__.setdefault("_flavors", {})
        key = flavor["id"]
        if key not in cache:
            if not flavor.get("unchecked") and flavor.get("vcpus") is None:  # a plain listing: read the sizes
                flavor = dict(flavor, **(self.client.get_flavor(flavor["id"]) or {}))
            specs = self.client.flavor_extra_specs(flavor["id"]) if not flavor.get("unchecked") else {}
            cache[key] = (flavor, specs)
        return cache[key]

    def _wait_deleted(self, server):
        """A server of that name that Nova is deleting is no server to keep: wait until it is gone, then create.

        In check mode (or with wait=false) it is reported as going, and the create is planned after it.
        """
        self.result["actions"].append({"action": "wait_deleted", "name": self.name, "id": server.get("id")})
        if self.check_mode:
            return None
        if not self.params["wait"]:
            raise ConflictError("server %s (id %s) is being deleted; run again once it is gone, or with wait=true"
                                % (self.name, server.get("id")), operation="check existing server",
                                resource="server %s" % self.name)
        wait_for(lambda: True if self.client.get_server(server["id"]) is None else None, self.deadline.remaining(),
                 backoff=powervc.poll_backoff(), what="server %s (id %s) to be deleted" % (self.name, server["id"]))
        return None

    def _host(self):
        if not self.params["host"]:
            return None
        return resolve_host(self.params["host"], self.hosts, "host")

    def _networks(self, entries):
        if not entries:
            return []
        return self._listing("networks")

    def _existing(self, server, host):
        """A server of that name exists: check it matches, adopt it if it is still being built."""
        state = splan.build_state(server)
        # IBM does not say when a new server's VSN shows: one still building without a VSN is
        # checked once its build has ended, not called a conflict now.
        defer_vsn = state == "pending" and not server_vsn(server)
        self._check_conflicts(server, host, check_vsn=not defer_vsn)
        if state == "pending":
            # An earlier run was interrupted (or ran with wait=false): wait for its build, do not create again.
            self.result["actions"].append({"action": "adopt", "name": self.name, "id": server.get("id"),
                                           "status": server.get("status")})
            before = self._state(server)
            if self.check_mode or not self.params["wait"]:
                self.result["server"] = before
                if self.check_mode and self.params["wait"]:  # the real run would see the build end
                    self.changed(*self._diff(before, dict(before, status="ACTIVE")))
                return
            try:
                self._finish(server)
            finally:
                if self.result["server"].get("status") != before["status"]:
                    self.changed(*self._diff(before, self.result["server"]))  # this run saw the build end
            if defer_vsn:
                self._check_conflicts(self.final or server, host)
            return
        self.result["server"] = self._state(server)
        if state == "failed":
            raise JobFailedError("server %s (id %s) is in ERROR: %s; delete it (state=absent) and run again to "
                                 "re-create it" % (self.name, server.get("id"), splan.fault_message(server)),
                                 operation=powervc.OP_CREATE_SERVER, resource="server %s" % self.name)

    def _check_conflicts(self, server, host, check_vsn=True):
        """ConflictError when SERVER has another VSN (when CHECK_VSN) or runs on another host than asked."""
        conflicts = (("virtual_serial_number", splan.vsn_conflict(server, self.vsn) if check_vsn else None),
                     ("host", splan.host_conflict(server, host and host["name"])))
        for option, problem in conflicts:
            if problem:
                self.result["server"] = self._state(server)
                raise ConflictError("parameter '%s': %s" % (option, problem), operation="check existing server",
                                    resource="server %s" % self.name)

    def _create(self, body):
        """POST /servers once; after any failure, the server of that name if PowerVC made it anyway."""
        try:
            return self.client.create_server(body)
        except ParameterError:
            raise
        except MigrationError as error:
            try:
                found = splan.find_by_name(self.client.list_servers(), self.name)
            except MigrationError:
                found = None
            if found is None:
                raise error
            self.warn("the answer to the create of server %s was lost (%s), but PowerVC created it (id %s); "
                      "adopted, not sent again" % (self.name, error, found.get("id")))
            self.result["actions"].append({"action": "adopt", "name": self.name, "id": found.get("id"),
                                           "status": found.get("status")})
            return found

    def _finish(self, server):
        """Wait (when asked) until the server is built; report it from a fresh read."""
        server_id = server.get("id")
        if self.params["wait"]:
            def built():
                current = self.client.get_server(server_id)
                return current if splan.build_state(current) != "pending" else None

            try:
                current = wait_for(built, self.deadline.remaining(), backoff=powervc.poll_backoff(),
                                   what="server %s (id %s) to be built" % (self.name, server_id))
            except WaitTimeoutError as error:
                self.result["server"] = self._state(self.client.get_server(server_id) or server)
                error.message += "; it is still %s, a re-run waits for it again" % self.result["server"].get("status")
                raise
        else:
            current = self.client.get_server(server_id)
        # GET /servers is where IBM documents the VSN; lay it over the single-server read.
        listed = next((s for s in self.client.list_servers() if s.get("id") == server_id), None)
        final = dict(current or {}, **dict((k, v) for k, v in (listed or {}).items() if k in powervc.VSN_FIELDS))
        self.final = final or None
        self.result["server"] = self._state(final or server)
        state = splan.build_state(current)
        if state == "failed":
            raise JobFailedError("server %s (id %s) went to ERROR while being built: %s"
                                 % (self.name, server_id, splan.fault_message(current)),
                                 operation=powervc.OP_CREATE_SERVER, resource="server %s" % self.name)
        if state == "gone":
            raise JobFailedError("server %s (id %s) disappeared while being built" % (self.name, server_id),
                                 operation=powervc.OP_CREATE_SERVER, resource="server %s" % self.name)

    # -- absent ------------------------------------------------------------------------------
    def _absent(self):
        server = splan.find_by_name(self.client.list_servers(), self.name)
        actions = splan.plan_absent(server, self.params["reserve_vsn_on_delete"])
        if not actions:
            return
        before = self._state(server)
        vsn = server_vsn(server)
        for action in actions:
            entry = {"action": action, "name": self.name, "id": server.get("id")}
            if action == "reserve_vsn":
                entry["virtual_serial_number"] = vsn
            self.result["actions"].append(entry)
        if self.params["reserve_vsn_on_delete"] and vsn:
            self.result["vsn"] = self._vsn_result(vsn, True, before.get("host"))
        if self.check_mode:
            self.changed(_known(before), {})
            return
        if actions == ["adopt_delete"]:
            self._adopt_delete(server, before, vsn)
            return
        if "reserve_vsn" in actions:
            self._reserve(vsn)
        try:
            self.client.delete_server(server["id"], self.name)
        except MigrationError as error:
            # The answer may be lost after PowerVC acted: decide from a fresh read, not from the answer.
            current = self.client.get_server(server["id"])
            if current is not None and not splan.is_deleting(current):
                raise
            self.warn("the answer to the delete of server %s was lost (%s), but the server is %s"
                      % (self.name, error, "gone" if current is None else "being deleted"))
        self.changed(_known(before), {})
        if not self.params["wait"]:
            current = self.client.get_server(server["id"])
            self.result["server"] = self._state(current)
            return
        wait_for(lambda: True if self.client.get_server(server["id"]) is None else None, self.deadline.remaining(),
                 backoff=powervc.poll_backoff(), what="server %s (id %s) to be deleted" % (self.name, server["id"]))
        if "reserve_vsn" in actions:
            listed = find_reserved(self.client.list_reserved(), vsn)
            self.result["vsn"] = self._vsn_result(vsn, listed is not None, (listed or {}).get("host") or before.get("host"))
            if listed is None:
                self.warn("VSN %s was reserved before the delete of server %s but is not listed as reserved now"
                          % (vsn, self.name))

    def _adopt_delete(self, server, before, vsn):
        """Nova is already deleting the server (an earlier run sent the delete): wait, send no delete again.

        The earlier run reserved the VSN before its delete; if the VSN is not listed as reserved once
        the server is gone (someone else deleted it), it is reserved now.
        """
        self.result["server"] = before
        if not self.params["wait"]:
            return
        wait_for(lambda: True if self.client.get_server(server["id"]) is None else None, self.deadline.remaining(),
                 backoff=powervc.poll_backoff(), what="server %s (id %s) to be deleted" % (self.name, server["id"]))
        self.result["server"] = {}
        self.changed(_known(before), {})  # this run saw the delete end
        if not (self.params["reserve_vsn_on_delete"] and vsn):
            return
        listed = find_reserved(self.client.list_reserved(), vsn)
        if listed is None:
            self.result["actions"].append({"action": "reserve_vsn", "name": self.name, "id": server.get("id"),
                                           "virtual_serial_number": vsn})
            self._reserve(vsn)
            listed = find_reserved(self.client.list_reserved(), vsn)
        self.result["vsn"] = self._vsn_result(vsn, listed is not None, (listed or {}).get("host") or before.get("host"))

    def _vsn_result(self, vsn, reserved, host):
        return {"virtual_serial_number": vsn, "reserved": reserved, "host": host,
                "host_display_name": display_name(host, self.hosts)}

    def _state(self, server):
        return splan.server_state(server, self.hosts)

    def _diff(self, before, after):
        """Only the fields of the server that change, under 'name (id)'."""
        key = vm_label(before)
        old, new = changes(before, after)
        return {key: old}, {key: new}

    def _reserve(self, vsn):
        description = self.params["reservation_description"]
        if description is None:
            description = "kept by hybridcloud.migration.powervc_server on delete of %s" % self.name
        try:
            self.client.reserve(vsn, description)
        except ConflictError:
            # Already reserved while still on the VM (an earlier, interrupted run): go on with the delete.
            self.warn("VSN %s of server %s was already reserved" % (vsn, self.name))

    # -- bulk (vms) --------------------------------------------------------------------------
    def _validate_bulk(self):
        """Each item of 'vms' with its defaults filled in and checked; names unique, explicit VSNs unique."""
        if not self.params["vms"]:
            self.fail_parameter("vms", "must list at least one VM")
        self.items, names = [], {}
        for index, raw in enumerate(self.params["vms"]):
            item = splan.item_options(raw, self.params, index)
            item["index"] = index
            name = self.check_name("vms[%d].vm" % index, item["vm"])
            if name in names:
                self.fail_parameter("vms[%d].vm" % index, "names server %s, as vms[%d] does" % (name, names[name]))
            names[name] = index
            try:
                item["vsn"] = splan.wanted_vsn(item["virtual_serial_number"]) if item["state"] == "present" else None
            except ParameterError as error:
                raise splan.prefixed(error, "vms[%d]." % index)
            self.items.append(item)
        splan.duplicate_vsns(self.items)

    def _bulk(self):
        """Plan every VM from one read of the servers, then build / delete with at most 'parallel' at a time
        and one poller (one server list per poll) for all of them; outcomes from the last read."""
        self.hosts = self.client.hosts(needed=any(item["host"] for item in self.items))
        servers = self.client.list_servers()
        # Indexed once: looking each VM's name and VSN up in the whole list made planning O(VMs x servers).
        self.by_name, self.by_vsn = {}, {}
        for server in servers:
            self.by_name.setdefault(server.get("name"), []).append(server)
            if server_vsn(server):
                self.by_vsn.setdefault(server_vsn(server), []).append(server)
        # Every item is planned (and every name resolved) before anything is sent: bad input changes nothing.
        vms = [self._plan_item(index, item) for index, item in enumerate(self.items)]
        if self.check_mode:
            for vm in vms:
                vm["final"] = vm["predicted"] if "predicted" in vm else vm["before"]
                if vm["kind"] in ("adopt", "adopt_delete") and not self.params["wait"]:
                    vm["outcome"] = "in_progress"
            self._bulk_result(vms, [vm for vm in vms if vm["kind"] in ("create", "recreate", "delete")
                                    or (vm["kind"] in ("adopt", "adopt_delete") and self.params["wait"])])
            return
        listing = self._run_jobs(vms)
        self._bulk_finish(vms, listing)

    def _plan_item(self, index, item):
        """One VM's plan: kind None (nothing to do), 'create', 'recreate' (wait for the server of that name
        being deleted, then create), 'adopt' (its build runs), 'delete', 'adopt_delete', or 'failed'."""
        prefix = "vms[%d]." % index
        name = item["vm"]
        vm = {"index": index, "name": name, "item": item, "kind": None, "id": None, "actions": [], "error": "",
              "outcome": "unchanged", "started": None, "ended": None, "uncertain": None, "changed": False}
        try:
            existing = splan.find_by_name(self.by_name.get(name, []), name)
        except ParameterError as error:
            raise splan.prefixed(error, prefix)
        vm["before"] = self._state(existing)
        vm["id"] = existing.get("id") if existing else None
        if item["state"] == "absent":
            actions = splan.plan_absent(existing, item["reserve_vsn_on_delete"])
            if actions:
                vm["kind"] = "adopt_delete" if actions == ["adopt_delete"] else "delete"
                vm["vsn"] = server_vsn(existing)
                vm["outcome"] = "deleted"
                for action in actions:
                    entry = {"action": action, "name": name, "id": vm["id"]}
                    if action == "reserve_vsn":
                        entry["virtual_serial_number"] = vm["vsn"]
                    vm["actions"].append(entry)
            vm["predicted"] = {}
            return vm
        host = resolve_host(item["host"], self.hosts, prefix + "host") if item["host"] else None
        going = None
        if existing is not None and splan.is_deleting(existing):
            going, existing = existing, None
            vm["actions"].append({"action": "wait_deleted", "name": name, "id": going.get("id")})
        if existing is not None:
            state = splan.build_state(existing)
            # IBM does not say when a new server's VSN shows: one building without a VSN is checked after.
            vm["defer_vsn"] = state == "pending" and not server_vsn(existing)
            problem = self._conflict(existing, item, host, check_vsn=not vm["defer_vsn"])
            if problem:
                return self._failed(vm, problem)
            if state == "failed":
                return self._failed(vm, "server %s (id %s) is in ERROR: %s; delete it (state=absent) and run again "
                                    "to re-create it" % (name, vm["id"], splan.fault_message(existing)))
            if state == "pending":
                vm.update(kind="adopt", outcome="adopted", predicted=dict(vm["before"], status="ACTIVE"))
                vm["actions"].append({"action": "adopt", "name": name, "id": vm["id"], "status": existing.get("status")})
            return vm
        users = [s for s in self.by_vsn.get(item["vsn"], []) if s is not going]  # the servers its VSN is on
        vm["body"], action, vm["predicted"] = self._plan_create(name, item, item["vsn"], host, users, prefix)
        vm["actions"].append(action)
        vm["kind"] = "recreate" if going is not None else "create"
        vm["outcome"] = "created"
        if going is not None:
            vm["id"] = going.get("id")
        return vm

    def _conflict(self, server, item, host, check_vsn=True):
        """'parameter ...: why' when an existing SERVER does not match ITEM (its VSN, its host), else None."""
        prefix = "vms[%d]." % item["index"]
        for option, problem in (("virtual_serial_number", splan.vsn_conflict(server, item["vsn"]) if check_vsn
                                 else None), ("host", splan.host_conflict(server, host and host["name"]))):
            if problem:
                return "parameter '%s%s': %s" % (prefix, option, problem)
        return None

    @staticmethod
    def _failed(vm, error):
        vm.update(kind="failed", outcome="failed", error=error)
        return vm

    def _run_jobs(self, vms):
        """Submit the builds and deletes, at most 'parallel' running at a time (running builds and deletes
        adopted from an earlier run count), and wait for all of them with one poller. The last server list."""
        parallel, now = self.params["parallel"], time.time()
        running = [vm for vm in vms if vm["kind"] in ("adopt", "adopt_delete", "recreate")]
        queue = [vm for vm in vms if vm["kind"] in ("create", "delete")]
        for vm in running:
            vm["started"] = now  # watched from now on (the work itself began earlier)
        backoff = powervc.BatchBackoff()

        def submit():
            while queue and len(running) < parallel:
                vm = queue.pop(0)
                if self._submit(vm):
                    running.append(vm)
                backoff.restart()  # a new job: poll it as closely as a job that just started

        def poll():
            listing = self.client.list_servers_detail()  # status is all a poll needs; the VSN is read after
            by_id = dict((s.get("id"), s) for s in listing)  # one look-up per running VM, not a scan
            for vm in list(running):
                if self._settled(vm, listing, by_id):
                    running.remove(vm)
            submit()
            return listing if not running and not queue else None

        submit()
        if not self.params["wait"]:
            for vm in running:
                vm["outcome"] = "in_progress"
            for vm in queue:
                vm["outcome"] = "not_started"  # started by a later run (wait=false keeps 'parallel' too)
            return self.client.list_servers()
        try:
            if running or queue:
                wait_for(poll, self.deadline.remaining(), backoff=backoff,
                         what="%d server builds and deletes" % (len(running) + len(queue)))
            return self.client.list_servers()  # the re-read every outcome is decided from, VSNs included
        except WaitTimeoutError as error:
            for vm in running:
                vm.update(outcome="in_progress", error="%s; still running at the deadline, a re-run waits for it"
                          % error)
            for vm in queue:
                vm.update(outcome="not_started", error="not started before the deadline (timeout); a re-run starts it")
            return self.client.list_servers()

    def _submit(self, vm):
        """Send VM's create, or its reservation and delete; True when there is something to wait for."""
        vm["started"] = time.time()
        if vm["kind"] in ("create", "recreate"):
            vm["kind"] = "create"
            try:
                created = self.client.create_server(vm["body"])
            except MigrationError as error:
                # The answer may be lost after PowerVC acted: the next read looks the server up by name.
                vm["uncertain"] = str(error)
                return True
            vm["id"] = created.get("id")
            vm["changed"] = True
            return True
        if "reserve_vsn" in [a["action"] for a in vm["actions"]]:
            description = vm["item"]["reservation_description"]
            if description is None:
                description = "kept by hybridcloud.migration.powervc_server on delete of %s" % vm["name"]
            try:
                self.client.reserve(vm["vsn"], description)
                vm["changed"] = True
            except ConflictError:
                self.warn("VSN %s of server %s was already reserved" % (vm["vsn"], vm["name"]))
            except MigrationError as error:
                self._failed(vm, "%s; the server was not deleted" % error)
                return False
        try:
            self.client.delete_server(vm["id"], vm["name"])
            vm["changed"] = True
        except MigrationError as error:
            vm["uncertain"] = str(error)  # decided by the next read: gone or being deleted counts as sent
        return True

    def _settled(self, vm, listing, by_id):
        """Update VM from the server LISTING (BY_ID: the same, by id); True when its job has ended (either way)."""
        current = by_id.get(vm["id"]) if vm["id"] else None
        if vm["kind"] in ("delete", "adopt_delete"):
            if current is None:
                vm.update(outcome="deleted", ended=time.time(), changed=True)
                return True
            if vm["uncertain"] and not splan.is_deleting(current):
                self._failed(vm, vm["uncertain"])
                vm["ended"] = time.time()
                return True
            return False
        if vm["kind"] == "recreate":  # the old server of that name is gone: its create may go now
            return not self._submit(vm) if current is None else False
        if vm["id"] is None and vm["uncertain"]:
            found = [s for s in listing if s.get("name") == vm["name"]]
            if len(found) != 1:
                vm["ended"] = time.time()
                if found:
                    why = "%s; %d servers are now called %s" % (vm["uncertain"], len(found), vm["name"])
                else:
                    why = "%s; no server %s was created (a re-run creates it)" % (vm["uncertain"], vm["name"])
                self._failed(vm, why)
                return True
            current = found[0]
            vm.update(id=current.get("id"), changed=True)
            self.warn("the answer to the create of server %s was lost (%s), but PowerVC created it (id %s); adopted, "
                      "not sent again" % (vm["name"], vm["uncertain"], vm["id"]))
            vm["actions"].append({"action": "adopt", "name": vm["name"], "id": vm["id"], "status": current.get("status")})
        state = splan.build_state(current)
        if state == "pending":
            return False
        vm["ended"] = time.time()
        vm["changed"] = True  # this run created the server, or saw the adopted build end
        if state == "gone":
            self._failed(vm, "server %s (id %s) disappeared while being built" % (vm["name"], vm["id"]))
        elif state == "failed":
            self._failed(vm, "%s: server %s (id %s) went to ERROR while being built: %s"
                         % (powervc.OP_CREATE_SERVER, vm["name"], vm["id"], splan.fault_message(current)))
        return True

    def _bulk_finish(self, vms, listing):
        """Outcomes from the last server list: each VM's server as it is now; reserved VSNs read once."""
        by_id = dict((s.get("id"), s) for s in listing or [])
        for vm in vms:
            current = by_id.get(vm["id"]) if vm["id"] else None
            vm["final"] = self._state(current)
            if vm.get("defer_vsn") and current is not None and not vm["error"]:
                # An adopted build that showed no VSN while building: compared now that it has ended.
                problem = self._conflict(current, vm["item"], None)
                if problem:
                    self._failed(vm, problem)
        kept = [vm for vm in vms if vm["kind"] in ("delete", "adopt_delete") and vm["outcome"] == "deleted"
                and vm["item"]["reserve_vsn_on_delete"] and vm.get("vsn")]
        if kept:
            reserved = self.client.list_reserved()
            for vm in kept:
                listed = find_reserved(reserved, vm["vsn"])
                if listed is None and vm["kind"] == "adopt_delete":
                    # The earlier run reserved before its delete; someone else deleted it: reserve now.
                    vm["actions"].append({"action": "reserve_vsn", "name": vm["name"], "id": vm["id"],
                                          "virtual_serial_number": vm["vsn"]})
                    try:
                        self.client.reserve(vm["vsn"], vm["item"]["reservation_description"])
                        listed = {"host": vm["before"].get("host")}
                    except MigrationError as error:
                        self._failed(vm, str(error))
                vm["vsn_reserved"] = listed is not None
                if listed is None and not vm["error"]:
                    self.warn("VSN %s was reserved before the delete of server %s but is not listed as reserved now"
                              % (vm["vsn"], vm["name"]))
        self._bulk_result(vms, [vm for vm in vms if vm["changed"]])

    def _bulk_result(self, vms, changed):
        entries, before, after = [], {}, {}
        changed = set(id(vm) for vm in changed)
        for vm in vms:
            final = vm.get("final") or {}
            label = vm_label(dict(final or vm["before"], name=vm["name"]))
            to = splan.describe(final)
            if vm["outcome"] == "deleted" and vm.get("vsn_reserved", vm["item"].get("reserve_vsn_on_delete")) \
                    and vm.get("vsn"):
                to += ", VSN %s reserved" % vm["vsn"]
            entries.append({"name": vm["name"], "id": final.get("id") or vm["id"], "state": vm["item"]["state"],
                            "outcome": vm["outcome"], "from": splan.describe(vm["before"]), "to": to, "jobs": [],
                            "error": vm["error"], "started": vm["started"], "ended": vm["ended"],
                            "actions": vm["actions"], "server": final})
            if id(vm) in changed:
                old, new = changes(_known(vm["before"]), _known(final))
                before[label], after[label] = old, new
        self.result["vms"] = entries
        if changed:
            self.changed(before, after)
        summary = splan.failure_summary(entries)
        if summary:
            failed = len([e for e in entries if e["error"]])
            raise JobFailedError("%d of %d servers failed: %s" % (failed, len(entries), summary),
                                 resource="%d servers" % len(entries))


def _known(state):
    """STATE without the fields that are not known (None): a diff never shows null for "unknown"."""
    return dict((k, v) for k, v in state.items() if v is not None)


def main():
    PowerVCServer().execute()


if __name__ == "__main__":
    main()
