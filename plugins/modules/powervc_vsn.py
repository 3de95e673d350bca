#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: powervc_vsn
short_description: Reserve, assign and move IBM PowerVC virtual serial numbers (VSNs)
version_added: 1.0.0
description:
  - Manages the virtual serial numbers (VSNs) of IBM PowerVC, which license IBM i to a serial
    number that can move between hosts (POWER9 firmware 950+ and Power10).
  - O(state=reserved) reserves a VSN in the current project (or updates the description of a
    reserved one), O(state=unreserved) releases it back to its host.
    Both work on NovaLink-managed hosts only (a PowerVC rule).
  - O(state=assigned) gives a server a VSN (a given one or V(auto)), O(state=unassigned) takes it away;
    the server must be stopped (C(SHUTOFF)).
  - O(state=moved) moves reserved VSNs from O(source_host) to O(target_host) and waits until they are listed there.
  - Idempotent. The reserved list is read first; only what differs is changed.
  - Bad VSN syntax, an unknown server or host, a VSN another server uses, and a server that is not
    C(SHUTOFF) for O(state=assigned) or O(state=unassigned) fail before any change is made. Option
    values (numbers, names, the Keystone URL) are checked before the module even logs in.
  - Safe to re-run after any interruption (a killed run, a timeout, a lost answer, a server error).
    PowerVC answers a move, an assign and an unassign with "accepted" and shows the change only after
    a delay, and keeps no readable trace of work under way. So after an uncertain answer (connection lost
    or reset, read timeout, any 5xx) the module re-reads where the VSNs (or the server's VSN) are, for up
    to 30 seconds (at most half the O(timeout)), and sends the call again only for what is still
    unchanged. When PowerVC refuses a call because the VSN is no longer on the source host (or the server
    already has, or no longer has, a VSN), the module re-reads the same way, as that is what PowerVC answers
    while a change started by an earlier, interrupted run settles; such a change is waited for and
    reported in RV(adopted). Only then is the refusal reported as an error.
author: hybridcloud.migration contributors (@hybridcloud)
options:
  state:
    description:
      - V(reserved) - O(vsn) is in the reserved list; with O(description) set, with that description.
      - V(unreserved) - O(vsn) is not in the reserved list.
      - V(assigned) - O(vm) has the VSN O(vsn). With O(vsn=auto), PowerVC picks a free VSN of the
        VM's host, and a VM that has any VSN is left alone. A server that has another VSN is an error
        (changing an IBM i serial affects its licence; unassign first).
      - V(unassigned) - O(vm) has no VSN (when O(vsn) is set, it does not have that VSN).
      - V(moved) - the VSNs O(vsns) are reserved on O(target_host). Only VSNs not yet there are moved.
    type: str
    required: true
    choices: [reserved, unreserved, assigned, unassigned, moved]
  vsn:
    description:
      - The VSN, 7 letters or digits (upper-cased before use), for example C(ABCD567).
      - V(auto) is accepted with O(state=assigned) only.
      - With O(state=moved), a single VSN to move (or use O(vsns)).
    type: str
  vsns:
    description:
      - With O(state=moved), the VSNs to move.
      - When neither O(vsns) nor O(vsn) is given, every VSN reserved on O(source_host) is moved (the
        host's whole reserved pool, as a DR move needs it); a second run then finds nothing left to move.
      - An empty list moves nothing.
    type: list
    elements: str
  description:
    description:
      - With O(state=reserved), the reservation's description. When it differs from the current
        one, the reservation is updated. When not set, any description is accepted and a new reservation gets none.
    type: str
  vm:
    description:
      - Name or id of the VM (the PowerVC server), for O(state=assigned) and O(state=unassigned).
      - A name that several servers carry is an error; give the id then.
    type: str
    aliases: [server]
  host:
    description:
      - With O(state=reserved) or O(state=unreserved), the host that should own the VSN.
        The module fails if the VSN is listed on another host.
      - Accepted as C(TTTT-MMM*SSSSSSS), C(TTTTMMM_SSSSSSS) or the PowerVC display name, resolved through
        the hypervisor list (readable by admins only; other users can give only the two MTMS forms).
    type: str
  source_host:
    description:
      - With O(state=moved), the host the VSNs are reserved on now. Same forms as O(host).
    type: str
  target_host:
    description:
      - With O(state=moved), the host the VSNs should be reserved on. Same forms as O(host).
    type: str
  wait:
    description:
      - Wait until the change shows in PowerVC (the moved VSNs listed under O(target_host); the server showing its new VSN).
      - With V(false), the module returns right after PowerVC accepted the request.
    type: bool
    default: true
  timeout:
    description:
      - Seconds for the whole task, from its start to the moment every VSN (or the VM) is in its final state -
        the reads, the calls, re-reads after an uncertain answer, resent calls and, when O(wait=true), the wait
        until the change shows in PowerVC.
      - Work PowerVC accepted and still runs at the deadline keeps running; a re-run finds it and waits for it.
      - At least 1.
    type: int
    default: 600
notes:
  - The move request is sent with the PowerVC host names (C(TTTTMMM_SSSSSSS)) first and, only if PowerVC answers
    that a host is unknown (404, or a 400 saying so without naming a VSN), once more with the HMC form
    (C(TTTT-MMM*SSSSSSS)); IBM does not document which form it wants. A refusal about the VSNs is never
    retried with another form.
  - Changes are never resent blindly after a 503 or a lost answer (reads are retried); see the description.
    VSNs that are not in the reserved list are moved in a call of their own, so that a refusal says which ones
    PowerVC would not move.
  - Waiting reads the reserved list (or the server list) at once, then every 0.5 s until 5 s have passed, then
    at most 10 % of the time already waited apart and never more than 10 s apart (IBM's interval); a change
    is noticed at most 0.5 s late in its first 5 s and at most 10 % late after that.
  - Server names, host names and descriptions are only compared with what PowerVC lists or sent in JSON
    bodies, never put into a URL as given, so any printable text is accepted; empty values and control or
    Unicode bidi/format characters are rejected. VSNs must be 7 letters or digits.
  - PowerVC lists only reserved VSNs that no server uses. A moved VSN that was not in that list cannot be
    confirmed on the target; it is returned in RV(unverified) rather than reported as a failure.
  - A VSN reserved while a server still uses it is not listed until the server releases it, so the module cannot
    compare its description; a second reservation attempt answered "already reserved" counts as unchanged.
  - The hypervisor list is read to put host display names beside host ids in results, diffs and messages; for a user
    who may not read it (non-admin), the display names are null and hosts are named by their ids.
  - The diff (C(--diff)) lists only what changes - the VSNs whose host changes (host as C(display name (MTMS))), the
    reservation fields that change, or the VM's VSN under C(name (id)); C(none) means no VSN.
extends_documentation_fragment:
  - hybridcloud.migration.powervc
  - hybridcloud.migration.attributes
seealso:
  - module: hybridcloud.migration.powervc_vsn_info
  - name: IBM PowerVC virtual serial number (VSN) APIs
    description: The REST calls this module makes.
    link: https://www.ibm.com/docs/en/powervc-cloud/2.3.0?topic=apis-virtual-serial-number-vsn
"""

EXAMPLES = r"""
- name: Reserve a VSN for the DR copy of ibmi-prod
  hybridcloud.migration.powervc_vsn:
    cloud: powervc
    state: reserved
    vsn: CDF0004
    description: DR pool for ibmi-prod

- name: Move the DR pool to the DR host and wait until it is listed there
  hybridcloud.migration.powervc_vsn:
    auth:
      auth_url: https://powervc.example.com:5000/v3
      username: root
      password: "{{ powervc_password }}"
      project_name: ibm-default
    state: moved
    source_host: 9080-HEX*1234ABC
    target_host: dr-p10-b
    vsns: [CDF0002, CDF0003]
    timeout: 900

- name: Give a stopped IBM i VM any free VSN of its host (credentials from OS_* variables)
  hybridcloud.migration.powervc_vsn:
    state: assigned
    vm: ibmi-test-02
    vsn: auto

- name: Take the VSN away from a stopped VM
  hybridcloud.migration.powervc_vsn:
    state: unassigned
    vm: ibmi-test-02
"""

RETURN = r"""
vsn:
  description:
    - The VSN after the run (predicted in check mode), for O(state=reserved), V(unreserved), V(assigned) and V(unassigned).
    - C(reserved) means listed in PowerVC's reserved list (which omits VSNs a server still uses).
    - C(host) is the host id (MTMS) as PowerVC lists it, C(host_display_name) its PowerVC display name (null when
      the user may not read the hypervisor list), C(server) the name and id of the server that uses the VSN.
  returned: when O(state) is not V(moved) and a VSN is involved
  type: dict
  sample:
    virtual_serial_number: CDF0004
    reserved: true
    host: 9080HEX_1234ABC
    host_display_name: prod-p10-a
    description: DR pool for ibmi-prod
    server: null
vsns:
  description:
    - With O(state=moved), the VSNs concerned as listed after the run (predicted in check mode), each with its
      outcome in the collection's per-object shape (as the bulk modules' C(vms)), also when the run fails.
    - C(name) is the VSN. C(outcome) is C(moved), C(adopted) (a move found under way, see RV(adopted)),
      C(unchanged) (already on O(target_host)), C(in_progress) (accepted, not listed on the target yet, see
      RV(pending)), C(unverified) (see RV(unverified)) or C(failed) (refused, or not sent because the run failed
      first; C(error) says why). In check mode, what a real run would report.
    - C(from) and C(to) are O(source_host) and O(target_host) as C(display name (MTMS)). C(jobs) is always empty
      (PowerVC's move answers 202 with no job id). C(started) is when this run first sent the VSN's move (epoch
      seconds), C(ended) when the read that shows it on the target was made; null when not started or not ended.
  returned: when O(state=moved)
  type: list
  elements: dict
  sample:
    - virtual_serial_number: CDF0002
      reserved: true
      host: 9109RMD_1031CAT
      host_display_name: dr-p10-b
      description: DR pool for ibmi-prod
      server: null
      name: CDF0002
      outcome: moved
      from: prod-p10-a (9080HEX_1234ABC)
      to: dr-p10-b (9109RMD_1031CAT)
      jobs: []
      error: ""
      started: 1796432400.12
      ended: 1796432402.87
server:
  description: The server after the run (predicted VSN in check mode), for O(state=assigned) and O(state=unassigned).
  returned: when O(state) is V(assigned) or V(unassigned)
  type: dict
  sample:
    id: 3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e02
    name: ibmi-test-02
    status: SHUTOFF
    host: 9080HEX_1234ABC
    host_display_name: prod-p10-a
    virtual_serial_number: ABCD101
actions:
  description:
    - The PowerVC calls made that changed, or may have changed, something (in check mode, that would be made),
      in order. Empty when nothing had to change. Calls PowerVC refused are not listed.
    - C(action) is one of C(reserve), C(update_reservation), C(unreserve), C(assign_vsn), C(unassign_vsn), C(move).
    - For C(move), C(source_host) and C(target_host) are the host forms PowerVC accepted,
      C(source_host_display_name) and C(target_host_display_name) their PowerVC display names (null when unknown).
    - For C(assign_vsn) and C(unassign_vsn), C(server) and C(server_id) are the server's name and id, C(vsn) the VSN.
    - For the reservation calls, C(vsn) is the VSN.
  returned: always
  type: list
  elements: dict
  sample:
    - action: move
      vsns: [CDF0002, CDF0003]
      source_host: 9080HEX_1234ABC
      source_host_display_name: prod-p10-a
      target_host: 9109RMD_1031CAT
      target_host_display_name: dr-p10-b
moved:
  description:
    - With O(state=moved), the requested VSNs that were listed on O(source_host) when the run started and are
      listed on O(target_host) at its end (in check mode, that would be moved). Set on failure too, from a
      fresh read; VSNs that did not arrive are never in it.
    - Includes the VSNs of RV(adopted).
  returned: when O(state=moved)
  type: list
  elements: str
  sample: [CDF0002, CDF0003]
adopted:
  description:
    - VSNs whose change this run did not make but found under way and waited for, typically started by an
      earlier run that was interrupted (PowerVC refused this run's call because the change was already made).
    - With O(state=moved), a subset of RV(moved); with O(state=assigned) or V(unassigned), the VSN concerned.
  returned: when O(state) is V(moved), V(assigned) or V(unassigned)
  type: list
  elements: str
  sample: []
pending:
  description:
    - With O(state=moved), VSNs whose move PowerVC accepted in this run but that are not listed on
      O(target_host) yet, because O(wait=false) or the O(timeout) passed. A re-run finds them there, or still
      under way, and waits for them.
  returned: when O(state=moved)
  type: list
  elements: str
  sample: []
source_host:
  description: With O(state=moved), the host O(source_host) names - C(name) (the PowerVC host id) and C(display_name).
  returned: when O(state=moved)
  type: dict
  sample:
    name: 9080HEX_1234ABC
    display_name: prod-p10-a
target_host:
  description: With O(state=moved), the host O(target_host) names - C(name) (the PowerVC host id) and C(display_name).
  returned: when O(state=moved)
  type: dict
  sample:
    name: 9109RMD_1031CAT
    display_name: dr-p10-b
already_on_target:
  description: With O(state=moved), the requested VSNs that were already listed on O(target_host).
  returned: when O(state=moved)
  type: list
  elements: str
  sample: []
unverified:
  description:
    - With O(state=moved), VSNs that are not in PowerVC's reserved list (so their arrival cannot be confirmed)
      and whose move PowerVC accepted (or refused again after a lost answer, which means the lost call moved them).
  returned: when O(state=moved)
  type: list
  elements: str
  sample: []
changed:
  description:
    - True when something changed in PowerVC during the run, also on failure - a VSN arrived, a move was
      accepted, a reservation or a server's VSN changed. A run whose calls were all refused or lost without
      effect reports false.
  returned: always
  type: bool
  sample: true
"""

import time

from ansible_collections.hybridcloud.migration.plugins.module_utils import _powervc_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import powervc
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ConflictError, MigrationError, WaitTimeoutError)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import (
    Clock, Deadline, format_seconds, wait_for)

# One call is sent at most this often in a run: the first time, then again only after an uncertain
# answer (lost, timed out, 5xx) when re-reading showed that it did not take effect.
MAX_SENDS = 3


class PowerVCVsn(MigrationModule):
    connection = powervc.CONNECTION
    argument_spec = dict(
        state=dict(type="str", required=True, choices=["reserved", "unreserved", "assigned", "unassigned", "moved"]),
        vsn=dict(type="str"),
        vsns=dict(type="list", elements="str"),
        description=dict(type="str"),
        vm=dict(type="str", aliases=["server"]),
        host=dict(type="str"),
        source_host=dict(type="str"),
        target_host=dict(type="str"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
    )
    module_kwargs = dict(
        required_if=[("state", "reserved", ["vsn"]), ("state", "unreserved", ["vsn"]),
                     ("state", "assigned", ["vm", "vsn"]), ("state", "unassigned", ["vm"]),
                     ("state", "moved", ["source_host", "target_host"])],
        mutually_exclusive=[("vsn", "vsns")],
    )
    ranges = {"timeout": (1, None)}

    def validate(self):
        self.clock = Clock()
        # The user's timeout is the deadline of the whole task: login, reads, calls, re-reads, resends, waits.
        self.deadline = Deadline(self.params["timeout"], self.clock)
        # Before the client is opened: every option is checked before any call, login included.
        self._check_options()

    def run(self):
        self.result["actions"] = []
        self.hosts = None  # the hypervisor list once read: display names beside host ids
        getattr(self, "_" + self.params["state"])()

    def _check_options(self):
        """Options that make no sense for the state are errors, not silently ignored; names are checked."""
        state = self.params["state"]
        allowed = {"reserved": ("vsn", "description", "host"), "unreserved": ("vsn", "host"),
                   "assigned": ("vsn", "vm"), "unassigned": ("vsn", "vm"),
                   "moved": ("vsn", "vsns", "source_host", "target_host")}[state]
        for name in ("vsn", "vsns", "description", "vm", "host", "source_host", "target_host"):
            if self.params[name] is not None and name not in allowed:
                self.fail_parameter(name, "is not used with state=%s" % state)
        # Server and host names are only compared with what PowerVC lists (never put into a URL as
        # given), so any printable text is fine; control and bidi characters are not.
        for name in ("vm", "host", "source_host", "target_host"):
            self.check_name(name, self.params[name], "VM name or id" if name == "vm" else "host")
        if self.params["description"]:
            self.check_name("description", self.params["description"], "description")
        if self.params["vsn"] is not None:
            plan.normalize_vsn(self.params["vsn"], allow_auto=state == "assigned")
        if state == "moved":
            self._requested_vsns()

    # -- reserved / unreserved ---------------------------------------------------------------
    def _reserved(self):
        self._reservation(want_reserved=True)

    def _unreserved(self):
        self._reservation(want_reserved=False)

    def _reservation(self, want_reserved):
        vsn = plan.normalize_vsn(self.params["vsn"])
        description = self.params["description"]
        hosts = self.client.hosts(needed=bool(self.params["host"]))
        host = plan.resolve_host(self.params["host"], hosts) if self.params["host"] else None
        listed = plan.find_reserved(self.client.list_reserved(), vsn)
        if host and listed and not plan.same_host(listed["host"], host["name"]):
            self.fail_parameter("host", "is %s, but VSN %s is reserved on host %s" % (
                plan.host_label(host["name"], hosts), vsn, plan.host_label(listed["host"], hosts)))
        servers = self.client.list_servers()
        before = plan.vsn_state(vsn, listed, servers, hosts)
        if host and before["server"] and before["host"] and not plan.same_host(before["host"], host["name"]):
            self.fail_parameter("host", "is %s, but VSN %s is in use by server %s on host %s" % (
                plan.host_label(host["name"], hosts), vsn, plan.vm_label(before["server"]),
                plan.host_label(before["host"], hosts)))
        action = plan.plan_reserve(vsn, description, listed) if want_reserved else plan.plan_unreserve(listed)
        if action is None:
            self.result["vsn"] = before
            return
        if want_reserved:
            after = dict(before, reserved=True, host=before["host"] or (host or {}).get("name"),
                         description=description if description is not None else before["description"] or "")
            after["host_display_name"] = plan.display_name(after["host"], hosts)
        else:
            after = dict(before, reserved=False, description=None)
        if self.check_mode:
            self._record(action, *_vsn_diff(before, after, hosts), vsn=vsn)
            self.result["vsn"] = after
            return
        self._lost_answers = 0
        try:
            self._send_reservation(action, vsn, description, want_reserved)
        except ConflictError:
            # Reserved while a server still uses it: PowerVC lists it only once released (section 3).
            if action != "reserve" or not before["server"]:
                raise
            self.result["vsn"] = dict(before, reserved=True)
            if self._lost_answers:  # our first reserve most likely did it: its answer was lost, not its effect
                self._record(action, *_vsn_diff(before, self.result["vsn"], hosts), vsn=vsn)
                self.warn("VSN %s is reserved now; the answer to the reserve call was lost, so it was most likely "
                          "this run that reserved it. PowerVC lists it only after server %s releases it"
                          % (vsn, plan.vm_label(before["server"])))
                return
            self.warn("VSN %s is already reserved and still used by server %s; PowerVC lists it (and its "
                      "description) only after the server releases it" % (vsn, plan.vm_label(before["server"])))
            return
        self.result["vsn"] = plan.vsn_state(vsn, plan.find_reserved(self.client.list_reserved(), vsn), servers, hosts)
        self._record(action, *_vsn_diff(before, self.result["vsn"], hosts), vsn=vsn)

    def _send_reservation(self, action, vsn, description, want_reserved):
        """ACTION; after an uncertain answer the list is read again and the call resent only if not done.

        Reservations show in the list at once (no delay is documented for them), so one re-read decides.
        """
        for attempt in range(1, MAX_SENDS + 1):
            try:
                if action == "reserve":
                    self.client.reserve(vsn, description)
                elif action == "update_reservation":
                    self.client.update_reservation(vsn, description)
                else:
                    self.client.unreserve(vsn)
                return
            except MigrationError as error:
                if plan.outcome_of(error) != "uncertain" or attempt == MAX_SENDS:
                    raise
                self._lost_answers += 1
                listed = plan.find_reserved(self.client.list_reserved(), vsn)
                if (listed is not None) == want_reserved and (
                        not want_reserved or description is None or listed["description"] == description):
                    return  # the call whose answer was lost did it

    # -- assigned / unassigned ---------------------------------------------------------------
    def _assigned(self):
        wanted = plan.normalize_vsn(self.params["vsn"], allow_auto=True)
        servers = self.client.list_servers()
        server = plan.find_server(self.params["vm"], servers, "vm")
        reserved = self.client.list_reserved() if wanted != plan.AUTO and not plan.server_vsn(server) else ()
        action = plan.plan_assign(server, wanted, "vm", servers=servers, reserved=reserved)
        self.hosts = self.client.hosts(needed=False)
        self._server_change(server, action, wanted)

    def _unassigned(self):
        vsn = plan.normalize_vsn(self.params["vsn"]) if self.params["vsn"] else None
        server = plan.find_server(self.params["vm"], self.client.list_servers(), "vm")
        action = plan.plan_unassign(server, vsn, "vm")
        self.hosts = self.client.hosts(needed=False)
        self._server_change(server, action, None)

    def _server_change(self, server, action, wanted):
        """Run ACTION (assign_vsn / unassign_vsn / None) on SERVER, then wait until it shows WANTED.

        After an uncertain answer the server is re-read (allowing for PowerVC's delay) before the call
        is sent again; after a refusal (409/400) it is re-read too, because a change started by an
        earlier, interrupted run makes PowerVC refuse the same call: that change is then waited for
        (adopted) instead of failing.
        """
        before = plan.server_summary(server, self.hosts)
        label = plan.vm_label(before)
        self.result["adopted"] = []
        if action is None:
            self._server_result(before)
            return
        after = dict(before, virtual_serial_number=wanted)
        details = dict(server=before["name"], server_id=before["id"], vsn=wanted or before["virtual_serial_number"])
        if self.check_mode:
            self._record(action, *_server_diff(before, after), **details)
            self._server_result(after)
            return
        ours = False  # whether one of this run's calls may have made the change
        error = None
        for _attempt in range(MAX_SENDS):
            try:
                if action == "assign_vsn":
                    self.client.assign(server["id"], wanted, label)
                else:
                    self.client.unassign(server["id"], label)
                error = None
                break
            except MigrationError as exc:
                error, outcome = exc, plan.outcome_of(exc)
                if outcome == "failed":
                    raise
            ours = ours or outcome == "uncertain"
            if outcome == "refused":
                current = next((s for s in self.client.list_servers() if s.get("id") == server["id"]), None)
                if current is None or current.get("status") != "SHUTOFF":
                    raise error
            shown = self._watch_server(server, wanted, plan.settle_window(self.deadline.remaining()))
            if shown is not None:
                if not ours:  # done by a change that was already under way: adopted
                    self.result["adopted"] = [shown["virtual_serial_number"] or before["virtual_serial_number"]]
                self._record(action, *_server_diff(before, shown), **details)
                self._server_result(shown)
                return
            if outcome == "refused":
                raise error
        if error is not None:
            raise error
        self._record(action, *_server_diff(before, after), **details)
        if self.params["wait"]:
            shown = self._watch_server(server, wanted, self.deadline.remaining())
            if shown is None:
                self._server_result(before)
                raise WaitTimeoutError(
                    "PowerVC accepted %s on server %s, but the server did not show VSN %s within the timeout of %s; "
                    "a re-run finds the change done or still under way and waits for it"
                    % (powervc.OPERATIONS[action], label, wanted or "none", format_seconds(self.params["timeout"])))
            after = shown
        self._server_result(after)

    def _watch_server(self, server, wanted, seconds):
        """The server's summary once GET /servers shows WANTED (a VSN, 'auto' = any, None = none) within
        SECONDS; None if it does not."""
        def shows_it():
            vsn = self.client.server_vsns().get(server["id"])
            done = vsn is None if wanted is None else (vsn is not None if wanted == plan.AUTO else vsn == wanted)
            return dict(plan.server_summary(server, self.hosts), virtual_serial_number=vsn) if done else None

        try:
            return wait_for(shows_it, seconds, backoff=powervc.poll_backoff(), clock=self.clock,
                            what="server %s to show VSN %s" % (plan.vm_label(server), wanted or "none"))
        except WaitTimeoutError:
            return None

    def _server_result(self, summary):
        self.result["server"] = summary
        vsn = summary["virtual_serial_number"]
        if vsn and vsn != plan.AUTO:
            self.result["vsn"] = {"virtual_serial_number": vsn, "reserved": False, "host": summary["host"],
                                  "host_display_name": summary["host_display_name"], "description": None,
                                  "server": {"id": summary["id"], "name": summary["name"]}}

    # -- moved ------------------------------------------------------------------------------------
    def _requested_vsns(self):
        """The VSNs asked for, normalised and without repeats; None = every VSN reserved on the source."""
        if self.params["vsns"] is not None:
            wanted, name = self.params["vsns"], "vsns"
        elif self.params["vsn"] is not None:
            wanted, name = [self.params["vsn"]], "vsn"
        else:
            return None
        vsns = []
        for value in wanted:
            vsn = plan.normalize_vsn(value, name)
            if vsn not in vsns:
                vsns.append(vsn)
        return vsns

    def _moved(self):
        hosts = self.hosts = self.client.hosts()
        source = plan.resolve_host(self.params["source_host"], hosts, "source_host")
        target = plan.resolve_host(self.params["target_host"], hosts, "target_host")
        if source["name"] == target["name"]:
            self.fail_parameter("target_host", "names the same host as source_host (%s)"
                                % plan.host_label(source["name"], hosts))
        self.result.update(source_host={"name": source["name"], "display_name": source["display_name"]},
                           target_host={"name": target["name"], "display_name": target["display_name"]})
        vsns = self._requested_vsns()
        records = self.client.list_reserved()
        moves = plan.plan_move(vsns, source["name"], target["name"], records)
        involved = vsns if vsns is not None else moves["move"]
        unlisted = moves["unlisted"]
        listed = [v for v in moves["move"] if v not in unlisted]
        before = _listing(involved, records, hosts)
        self.result.update(moved=[], adopted=[], pending=[], unverified=[], already_on_target=moves["already"],
                           vsns=before)
        labels = (plan.host_label(source["name"], hosts), plan.host_label(target["name"], hosts))
        if not moves["move"]:
            self._outcomes(involved, None, labels, {}, None)
            return
        if self.check_mode:
            predicted = [dict(r, host=target["name"], host_display_name=target["display_name"], reserved=True)
                         if r["virtual_serial_number"] in listed else r for r in before]
            self.result.update(moved=listed, unverified=unlisted, vsns=predicted)
            self._outcomes(involved, None, labels, {}, None)
            self._record("move", *_move_diff(before, predicted, hosts), vsns=moves["move"],
                         source_host=source["name"], source_host_display_name=source["display_name"],
                         target_host=target["name"], target_host_display_name=target["display_name"])
            return
        job = _Move(source, target, hosts)
        records = None
        try:
            # VSNs PowerVC cannot show (not in its reserved list) go in a call of their own, so that a
            # refusal of either call says something about the VSNs in it.
            for group, checkable in ((listed, True), (unlisted, False)):
                if group:
                    self._move_group(job, group, checkable)
            if self.params["wait"] and job.accepted_listed(listed):
                records = self._watch_move(job.accepted_listed(listed), target["name"], self.deadline.remaining())
                if plan.moved_pending(job.accepted_listed(listed), target["name"], records):
                    raise WaitTimeoutError(
                        "PowerVC accepted %s of VSNs %s to host %s, but they were not listed there within the "
                        "timeout of %s; a re-run finds them there or still under way and waits for them"
                        % (powervc.OP_MOVE,
                           ", ".join(plan.moved_pending(job.accepted_listed(listed), target["name"], records)),
                           job.target_label, format_seconds(self.params["timeout"])))
        except MigrationError as error:
            job.error = error
            raise
        finally:
            self._move_result(job, involved, listed, before, records)
            self._outcomes(involved, job.error, labels, job.started, job.ended)

    def _outcomes(self, involved, error, labels, started, ended):
        """Lay the per-VSN outcome fields (name, outcome, from, to, jobs, error, started, ended) over RV(vsns)."""
        outcomes = plan.move_outcomes(involved, self.result, error, labels, started, ended)
        entries = self.result["vsns"]
        self.result["vsns"] = [dict(e, **outcomes.get(e["virtual_serial_number"], {})) for e in entries]

    def _move_group(self, job, vsns, checkable):
        """Send the move of VSNS until PowerVC accepted it, or re-reading shows it done or under way.

        After an uncertain answer (lost, timed out, 5xx) the reserved list is re-read for up to
        ``plan.settle_window`` (PowerVC lists a move only after a delay), and only the VSNs still on
        the source are sent again. A refusal (400/409: "not on the source") is re-read the same way:
        it is what PowerVC answers while a move started by an earlier, interrupted run settles.
        """
        todo, error = list(vsns), None
        for _attempt in range(MAX_SENDS):
            try:
                self._send_move(job, todo)
                return
            except MigrationError as exc:
                error, outcome = exc, plan.outcome_of(exc)
                if outcome == "failed" or plan.host_unknown(exc, todo):
                    raise
            if outcome == "uncertain":
                job.uncertain.update(todo)
            if not checkable:
                if outcome == "refused" and set(todo) <= job.uncertain:
                    # No longer on the source for PowerVC after our call with the lost answer: that call moved them.
                    job.unverified.extend(todo)
                    self.warn("PowerVC refused to move VSNs %s again after a lost answer, so the first call moved "
                              "them; they are not in the reserved list, so their arrival cannot be confirmed"
                              % ", ".join(todo))
                    return
                if outcome == "refused":
                    raise error
                continue
            records = self._watch_move(todo, job.target, plan.settle_window(self.deadline.remaining()))
            progress = plan.move_progress(todo, job.source, job.target, records)
            if progress["elsewhere"]:
                raise error
            todo = progress["on_source"] + progress["unlisted"]
            if not todo:
                return
            if outcome == "refused" and len(progress["on_target"]) == 0:
                raise error
        raise error

    def _send_move(self, job, vsns):
        """One move of VSNS with the host form that works; the HMC form only when PowerVC says the host is unknown."""
        forms = [job.form] if job.form else [(job.source, job.target)]
        hmc = (plan.hmc_form(job.source), plan.hmc_form(job.target))
        if not job.form and all(hmc):
            forms.append(hmc)
        first = None
        for source, target in forms:
            for vsn in vsns:  # attempted from its first call on, accepted or not
                job.started.setdefault(vsn, time.time())
            try:
                self.client.move(source, target, vsns, labels=(job.source_label, job.target_label))
            except MigrationError as error:
                if first is None and len(forms) > 1 and plan.host_unknown(error, vsns):
                    first = error
                    continue
                if first is not None and plan.host_unknown(error, vsns):
                    first.message = "%s; the retry with the HMC host form %s -> %s failed too: %s" % (
                        first.message, source, target, error.api_message or error.message)
                    raise first
                raise
            job.form = (source, target)
            job.accepted.extend(vsns)
            self.result["actions"].append({"action": "move", "vsns": list(vsns),
                                           "source_host": source, "source_host_display_name": job.source_name,
                                           "target_host": target, "target_host_display_name": job.target_name})
            return

    def _watch_move(self, vsns, target, seconds):
        """The reserved list once every VSN of VSNS is listed on TARGET, or the last one read within SECONDS."""
        last = {}

        def arrived():
            last["records"] = self.client.list_reserved()
            return None if plan.moved_pending(vsns, target, last["records"]) else last["records"]

        try:
            return wait_for(arrived, seconds, backoff=powervc.poll_backoff(), clock=self.clock,
                            what="VSNs %s to be listed on host %s" % (", ".join(vsns), plan.host_label(target, self.hosts)))
        except WaitTimeoutError:
            return last["records"]

    def _move_result(self, job, involved, listed, before, records):
        """Every result field from a fresh read, also when the run fails: only what really moved is 'moved'."""
        if records is None:
            try:
                records = self.client.list_reserved()
            except MigrationError:  # the error being raised, if any, says more; keep what the run knows
                records = []
        job.ended = time.time()
        progress = plan.move_progress(listed, job.source, job.target, records)
        moved = progress["on_target"]
        self.result["moved"] = moved
        self.result["adopted"] = [v for v in moved if v not in job.accepted and v not in job.uncertain]
        self.result["pending"] = [v for v in job.accepted_listed(listed) if v not in moved]
        self.result["unverified"] = [v for v in job.accepted if v not in listed] + job.unverified
        if records:
            self.result["vsns"] = _listing(involved, records, self.hosts)
        if moved or self.result["pending"] or self.result["unverified"]:
            self.changed(*_move_diff(before, self.result["vsns"], self.hosts))

    # -- shared -----------------------------------------------------------------------------------
    def _record(self, action, before, after, **details):
        """Note ACTION (done, or to be done in check mode) and mark the run changed with its diff."""
        self.result["actions"].append(dict(details, action=action))
        self.changed(before, after)


class _Move:
    """What one run knows about its move: the host form PowerVC took, the VSNs accepted or in doubt."""

    def __init__(self, source, target, hosts):
        self.source = source["name"]
        self.target = target["name"]
        self.source_name, self.target_name = source["display_name"], target["display_name"]
        self.source_label = plan.host_label(self.source, hosts)
        self.target_label = plan.host_label(self.target, hosts)
        self.form = None  # (source, target) as PowerVC accepted them
        self.accepted = []  # VSNs of calls answered 2xx
        self.uncertain = set()  # VSNs of calls whose answer was lost, timed out or 5xx
        self.unverified = []  # unlisted VSNs that the lost call moved (PowerVC refused them again)
        self.started = {}  # VSN -> epoch seconds its (first accepted) move was sent
        self.ended = None  # epoch seconds of the read the outcomes come from
        self.error = None  # the failure of the run, if any

    def accepted_listed(self, listed):
        return [v for v in listed if v in self.accepted]


def _listing(vsns, records, hosts=None):
    by_vsn = dict((r["virtual_serial_number"], r) for r in records)
    return [plan.vsn_state(v, by_vsn.get(v), [], hosts) for v in vsns]


def _move_diff(before, after, hosts):
    """The VSNs whose host changes, each with its host as 'display name (MTMS)': only what changes."""
    old = dict((s["virtual_serial_number"], s) for s in before)
    diff_before, diff_after = {}, {}
    for state in after:
        vsn, prior = state["virtual_serial_number"], old.get(state["virtual_serial_number"], {})
        if state["host"] and not plan.same_host(state["host"], prior.get("host")):
            diff_before[vsn] = {"host": plan.host_label(prior["host"], hosts)} if prior.get("host") else {}
            diff_after[vsn] = {"host": plan.host_label(state["host"], hosts)}
    return {"vsns": diff_before}, {"vsns": diff_after}


def _vsn_diff(before, after, hosts):
    """Only the fields of the VSN that change (reservation, description, host as 'display name (id)'), under 'VSN <vsn>'."""
    def fields(state):
        return {"reserved": state.get("reserved"), "description": state.get("description"),
                "host": plan.host_label(state["host"], hosts) if state.get("host") else None}

    old, new = plan.changes(fields(before), fields(after))
    key = "VSN %s" % before["virtual_serial_number"]
    return {key: old}, {key: new}


def _server_diff(before, after):
    """The VM's VSN before and after, under 'name (id)'; 'none' for no VSN, as PowerVC writes it."""
    key = plan.vm_label(before)
    return ({key: {"virtual_serial_number": before["virtual_serial_number"] or "none"}},
            {key: {"virtual_serial_number": after["virtual_serial_number"] or "none"}})


def main():
    PowerVCVsn().execute()


if __name__ == "__main__":
    main()
