#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

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
  - Bad VSN syntax, an unknown server or host, and a server that is not C(SHUTOFF) for
    O(state=assigned) or O(state=unassigned) fail before any change is made.
author: hybridcloud.migration contributors (@hybridcloud)
options:
  state:
    description:
      - V(reserved) - O(vsn) is in the reserved list; with O(description) set, with that description.
      - V(unreserved) - O(vsn) is not in the reserved list.
      - V(assigned) - O(server) has the VSN O(vsn). With O(vsn=auto), PowerVC picks a free VSN of the
        server's host, and a server that has any VSN is left alone. A server that has another VSN is an error
        (changing an IBM i serial affects its licence; unassign first).
      - V(unassigned) - O(server) has no VSN (when O(vsn) is set, it does not have that VSN).
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
    type: list
    elements: str
  description:
    description:
      - With O(state=reserved), the reservation's description. When it differs from the current
        one, the reservation is updated. When not set, any description is accepted and a new reservation gets none.
    type: str
  server:
    description:
      - Name or id of the server, for O(state=assigned) and O(state=unassigned).
      - A name that several servers carry is an error; give the id then.
    type: str
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
      - Seconds to wait when O(wait=true).
    type: int
    default: 600
notes:
  - The move request is sent with the PowerVC host names (C(TTTTMMM_SSSSSSS)) first and, if PowerVC answers
    400 or 404, once more with the HMC form (C(TTTT-MMM*SSSSSSS)); IBM does not document which form it wants.
  - PowerVC lists only reserved VSNs that no server uses. A moved VSN that was not in that list cannot be
    confirmed on the target; it is returned in RV(unverified) rather than reported as a failure.
  - A VSN reserved while a server still uses it is not listed until the server releases it, so the module cannot
    compare its description; a second reservation attempt answered "already reserved" counts as unchanged.
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
    server: ibmi-test-02
    vsn: auto

- name: Take the VSN away from a stopped VM
  hybridcloud.migration.powervc_vsn:
    state: unassigned
    server: ibmi-test-02
"""

RETURN = r"""
vsn:
  description:
    - The VSN after the run (predicted in check mode), for O(state=reserved), V(unreserved), V(assigned) and V(unassigned).
    - C(reserved) means listed in PowerVC's reserved list (which omits VSNs a server still uses).
  returned: when O(state) is not V(moved) and a VSN is involved
  type: dict
  sample:
    virtual_serial_number: CDF0004
    reserved: true
    host: 9080HEX_1234ABC
    description: DR pool for ibmi-prod
    server: null
vsns:
  description: With O(state=moved), the VSNs concerned as listed after the run (predicted in check mode).
  returned: when O(state=moved)
  type: list
  elements: dict
  sample:
    - virtual_serial_number: CDF0002
      reserved: true
      host: 9109RMD_1031CAT
      description: DR pool for ibmi-prod
      server: null
server:
  description: The server after the run (predicted VSN in check mode), for O(state=assigned) and O(state=unassigned).
  returned: when O(state) is V(assigned) or V(unassigned)
  type: dict
  sample:
    id: 3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e02
    name: ibmi-test-02
    status: SHUTOFF
    host: 9080HEX_1234ABC
    virtual_serial_number: ABCD101
actions:
  description:
    - The PowerVC calls made (in check mode, that would be made), in order. Empty when nothing had to change.
    - C(action) is one of C(reserve), C(update_reservation), C(unreserve), C(assign_vsn), C(unassign_vsn), C(move).
  returned: always
  type: list
  elements: dict
  sample:
    - action: move
      vsns: [CDF0002, CDF0003]
      source_host: 9080HEX_1234ABC
      target_host: 9109RMD_1031CAT
moved:
  description: With O(state=moved), the VSNs that were moved (would be, in check mode).
  returned: when O(state=moved)
  type: list
  elements: str
  sample: [CDF0002, CDF0003]
already_on_target:
  description: With O(state=moved), the requested VSNs that were already listed on O(target_host).
  returned: when O(state=moved)
  type: list
  elements: str
  sample: []
unverified:
  description:
    - With O(state=moved), moved VSNs whose arrival on O(target_host) was not confirmed, because they were not
      in the reserved list (PowerVC cannot show them there) or because O(wait=false).
  returned: when O(state=moved)
  type: list
  elements: str
  sample: []
"""

from ansible_collections.hybridcloud.migration.plugins.module_utils import _powervc_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import powervc
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import ConflictError
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff, wait_for

# powervc.md section 6: poll every 10 s at most; start sooner, most changes show within seconds.
MOVE_BACKOFF = dict(initial=2.0, factor=1.5, maximum=10.0, jitter=0.1)
SERVER_BACKOFF = dict(initial=1.0, factor=1.5, maximum=10.0, jitter=0.1)


class PowerVCVsn(MigrationModule):
    connection = powervc.CONNECTION
    argument_spec = dict(
        state=dict(type="str", required=True, choices=["reserved", "unreserved", "assigned", "unassigned", "moved"]),
        vsn=dict(type="str"),
        vsns=dict(type="list", elements="str"),
        description=dict(type="str"),
        server=dict(type="str"),
        host=dict(type="str"),
        source_host=dict(type="str"),
        target_host=dict(type="str"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
    )
    module_kwargs = dict(
        required_if=[("state", "reserved", ["vsn"]), ("state", "unreserved", ["vsn"]),
                     ("state", "assigned", ["server", "vsn"]), ("state", "unassigned", ["server"]),
                     ("state", "moved", ["source_host", "target_host"])],
        mutually_exclusive=[("vsn", "vsns")],
    )

    def run(self):
        self.result["actions"] = []
        self._check_options()
        getattr(self, "_" + self.params["state"])()

    def _check_options(self):
        """Options that make no sense for the state are errors, not silently ignored."""
        state = self.params["state"]
        allowed = {"reserved": ("vsn", "description", "host"), "unreserved": ("vsn", "host"),
                   "assigned": ("vsn", "server"), "unassigned": ("vsn", "server"),
                   "moved": ("vsn", "vsns", "source_host", "target_host")}[state]
        for name in ("vsn", "vsns", "description", "server", "host", "source_host", "target_host"):
            if self.params[name] is not None and name not in allowed:
                self.fail_parameter(name, "is not used with state=%s" % state)

    # -- reserved / unreserved ---------------------------------------------------------------
    def _reserved(self):
        self._reservation(want_reserved=True)

    def _unreserved(self):
        self._reservation(want_reserved=False)

    def _reservation(self, want_reserved):
        vsn = plan.normalize_vsn(self.params["vsn"])
        description = self.params["description"]
        host = plan.resolve_host(self.params["host"], self.client.hosts()) if self.params["host"] else None
        listed = plan.find_reserved(self.client.list_reserved(), vsn)
        if host and listed and not plan.same_host(listed["host"], host["name"]):
            self.fail_parameter("host", "is %s, but VSN %s is reserved on host %s" % (host["name"], vsn, listed["host"]))
        servers = self.client.list_servers()
        before = plan.vsn_state(vsn, listed, servers)
        action = plan.plan_reserve(vsn, description, listed) if want_reserved else plan.plan_unreserve(listed)
        if action is None:
            self.result["vsn"] = before
            return
        if want_reserved:
            after = dict(before, reserved=True, host=before["host"] or (host or {}).get("name"),
                         description=description if description is not None else before["description"] or "")
        else:
            after = dict(before, reserved=False, description=None)
        if self.check_mode:
            self._record(action, before, after, vsn=vsn)
            self.result["vsn"] = after
            return
        try:
            if action == "reserve":
                self.client.reserve(vsn, description)
            elif action == "update_reservation":
                self.client.update_reservation(vsn, description)
            else:
                self.client.unreserve(vsn)
        except ConflictError:
            # Reserved while a server still uses it: PowerVC lists it only once released (section 3).
            if action != "reserve" or not before["server"]:
                raise
            self.warn("VSN %s is already reserved and still used by server %s; PowerVC lists it (and its "
                      "description) only after the server releases it" % (vsn, before["server"]["name"]))
            self.result["vsn"] = dict(before, reserved=True)
            return
        self._record(action, before, after, vsn=vsn)
        self.result["vsn"] = plan.vsn_state(vsn, plan.find_reserved(self.client.list_reserved(), vsn), servers)

    # -- assigned / unassigned ---------------------------------------------------------------
    def _assigned(self):
        wanted = plan.normalize_vsn(self.params["vsn"], allow_auto=True)
        server = plan.find_server(self.params["server"], self.client.list_servers())
        action = plan.plan_assign(server, wanted)
        self._server_change(server, action, wanted)

    def _unassigned(self):
        vsn = plan.normalize_vsn(self.params["vsn"]) if self.params["vsn"] else None
        server = plan.find_server(self.params["server"], self.client.list_servers())
        action = plan.plan_unassign(server, vsn)
        self._server_change(server, action, None)

    def _server_change(self, server, action, wanted):
        """Run ACTION (assign_vsn / unassign_vsn / None) on SERVER, then wait until it shows WANTED."""
        before = plan.server_summary(server)
        if action is None:
            self._server_result(before)
            return
        after = dict(before, virtual_serial_number=wanted)
        if not self.check_mode:
            if action == "assign_vsn":
                self.client.assign(server["id"], wanted)
            else:
                self.client.unassign(server["id"])
            if self.params["wait"]:
                after = self._wait_for_server(server, wanted)
        self._record(action, _server_diff(before), _server_diff(after), server=before["name"],
                     vsn=wanted or before["virtual_serial_number"])
        self._server_result(after)

    def _wait_for_server(self, server, wanted):
        """The server's summary once GET /servers shows WANTED (a VSN, 'auto' = any, None = none)."""
        def shows_it():
            vsn = self.client.server_vsns().get(server["id"])
            done = vsn is None if wanted is None else (vsn is not None if wanted == plan.AUTO else vsn == wanted)
            return dict(plan.server_summary(server), virtual_serial_number=vsn) if done else None

        return wait_for(shows_it, self.params["timeout"], backoff=Backoff(**SERVER_BACKOFF),
                        what="server %s to show VSN %s" % (server.get("name"), wanted or "none"))

    def _server_result(self, summary):
        self.result["server"] = summary
        vsn = summary["virtual_serial_number"]
        if vsn and vsn != plan.AUTO:
            self.result["vsn"] = {"virtual_serial_number": vsn, "reserved": False, "host": summary["host"],
                                  "description": None, "server": {"id": summary["id"], "name": summary["name"]}}

    # -- moved ------------------------------------------------------------------------------------
    def _moved(self):
        hosts = self.client.hosts()
        source = plan.resolve_host(self.params["source_host"], hosts, "source_host")
        target = plan.resolve_host(self.params["target_host"], hosts, "target_host")
        if source["name"] == target["name"]:
            self.fail_parameter("target_host", "names the same host as source_host (%s)" % source["name"])
        wanted = self.params["vsns"] or ([self.params["vsn"]] if self.params["vsn"] else None)
        vsns = [plan.normalize_vsn(v, "vsns") for v in wanted] if wanted is not None else None
        records = self.client.list_reserved()
        moves = plan.plan_move(vsns, source["name"], target["name"], records)
        involved = vsns if vsns is not None else moves["move"]
        self.result.update(moved=moves["move"], already_on_target=moves["already"], unverified=[])
        before = _listing(involved, records)
        if not moves["move"]:
            self.result["vsns"] = before
            return
        predicted = [dict(r, host=target["name"], reserved=True) if r["virtual_serial_number"] in moves["move"] else r
                     for r in before]
        if self.check_mode:
            self.result["unverified"] = moves["unlisted"]
            self._record("move", _move_diff(before), _move_diff(predicted), vsns=moves["move"],
                         source_host=source["name"], target_host=target["name"])
            self.result["vsns"] = predicted
            return
        sent_source, sent_target = self.client.move(source["name"], target["name"], moves["move"])
        self._record("move", _move_diff(before), _move_diff(predicted), vsns=moves["move"],
                     source_host=sent_source, target_host=sent_target)
        checkable = [v for v in moves["move"] if v not in moves["unlisted"]]
        if self.params["wait"] and checkable:
            records = wait_for(lambda: self._arrived(checkable, target["name"]), self.params["timeout"],
                               backoff=Backoff(**MOVE_BACKOFF),
                               what="VSNs %s to be listed on host %s" % (", ".join(checkable), target["name"]))
            self.result["unverified"] = moves["unlisted"]
        else:
            self.result["unverified"] = moves["move"] if not self.params["wait"] else moves["unlisted"]
            records = self.client.list_reserved()
        self.result["vsns"] = _listing(involved, records)

    def _arrived(self, vsns, target):
        records = self.client.list_reserved()
        return None if plan.moved_pending(vsns, target, records) else records

    # -- shared -----------------------------------------------------------------------------------
    def _record(self, action, before, after, **details):
        """Note ACTION (done, or to be done in check mode) and mark the run changed with its diff."""
        self.result["actions"].append(dict(details, action=action))
        self.changed(before, after)


def _listing(vsns, records):
    by_vsn = dict((r["virtual_serial_number"], r) for r in records)
    return [plan.vsn_state(v, by_vsn.get(v), []) for v in vsns]


def _move_diff(states):
    return {"vsns": dict((s["virtual_serial_number"], {"host": s["host"], "reserved": s["reserved"]}) for s in states)}


def _server_diff(summary):
    return {"server": summary["name"], "virtual_serial_number": summary["virtual_serial_number"]}


def main():
    PowerVCVsn().execute()


if __name__ == "__main__":
    main()
