# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where an OVF deploy lands: names -> morefs, the target folder's VMs, power-on.

Two interchangeable sources with the same small interface:

* ``SoapInventory`` over pyVmomi (``vsphere.VSphere``): works everywhere, including vcsim, which
  has no REST inventory endpoints; accepts names, inventory paths and moref ids.
* ``RestInventory`` over ``GET /api/vcenter/<kind>?names=..``: no pyVmomi needed; names and moref
  ids only.

``resolve_placement`` turns the module's placement options into the deploy target using either.
"""

from __future__ import annotations

import contextlib

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import PollBackoff, wait_for

try:
    from pyVmomi import vim, vmodl
except ImportError:  # only SoapInventory needs it; vsphere.open_vsphere reports the missing library
    vim = vmodl = None

ROOT_POOL_NAME = "Resources"  # every cluster's and standalone host's root resource pool
POWER_ON_TIMEOUT = 300
ALREADY_ON = "ALREADY_IN_DESIRED_STATE"  # vAPI's answer to starting a powered-on VM (HTTP 400)
# vAPI codes (and SOAP faults) for "the VM is held by other work": a VM whose OVF deploy is still
# copying disks is in the inventory from the start, but vCenter refuses to power it on.
BUSY_CODES = ("NOT_ALLOWED_IN_CURRENT_STATE", "RESOURCE_BUSY", "RESOURCE_IN_USE")
BUSY_FAULTS = ("TaskInProgress", "InvalidState", "ResourceInUse")
# What start() found: the VM was started, was already on, or is held by a deploy still running.
STARTED, ALREADY, BUSY = "started", "already_on", "busy"
SOAP_POWER_ON = "PowerOnVM_Task"  # the vSphere API's name of the SOAP power-on
SOAP_RETRIEVE = "RetrievePropertiesEx"  # ... and of the bulk read
SOAP_POWER_STATES = {"poweredOn": "POWERED_ON", "poweredOff": "POWERED_OFF", "suspended": "SUSPENDED"}


def resolve_placement(inventory, datacenter, cluster=None, resource_pool=None, host=None, folder=None,
                      datastore=None, network_mappings=None):
    """Morefs of the deploy target; raises NotFoundError / ParameterError (ambiguous) naming the option."""
    with naming("datacenter"):
        resolved = {"datacenter": inventory.resolve("datacenter", datacenter)}
    dc = resolved["datacenter"]
    if cluster:
        with naming("cluster"):
            resolved["cluster"] = inventory.resolve("cluster", cluster, dc)
    if host:
        with naming("host"):
            resolved["host"] = inventory.resolve("host", host, dc)
    if resource_pool:
        with naming("resource_pool"):
            resolved["resource_pool"] = inventory.resource_pool(resource_pool, dc, resolved.get("cluster"))
    elif cluster:
        resolved["resource_pool"] = inventory.root_pool("cluster", resolved["cluster"])
    elif host:
        resolved["resource_pool"] = inventory.root_pool("host", resolved["host"])
    else:
        raise _errors.ParameterError("one of the parameters 'cluster', 'resource_pool' or 'host' is required")
    with naming("folder"):
        resolved["folder"] = inventory.resolve("folder", folder, dc) if folder else inventory.vm_folder(dc)
    if datastore:
        with naming("datastore"):
            resolved["datastore"] = inventory.resolve("datastore", datastore, dc)
    with naming("network_mappings"):
        resolved["network_mappings"] = {
            ovf_name: inventory.resolve("network", network, dc) for ovf_name, network in (network_mappings or {}).items()}
    return resolved


@contextlib.contextmanager
def naming(option):
    """Add "(parameter 'OPTION')" to a not-found or ambiguous lookup: the user sees which option to fix."""
    try:
        yield
    except (_errors.NotFoundError, _errors.ParameterError) as error:
        if "parameter '" not in error.message:
            error.message += " (parameter '%s')" % option
        raise


def start_when_free(inventory, vm_id, timeout, backoff=None, clock=None):
    """Power VM_ID on, trying again while vCenter refuses because the VM is held (its deploy still runs).

    Returns ``(outcome, attempts)``: STARTED or ALREADY, and how many start calls were made. The
    tries follow the collection's job-polling schedule (``PollBackoff``: a deploy that ends 5 s
    into the wait is noticed within 0.5 s, a long one at most 10 % late). After TIMEOUT seconds
    raises WaitTimeoutError naming vCenter's reason; TIMEOUT 0 means one try.
    """
    attempts = []

    def attempt():
        outcome = inventory.start(vm_id, timeout=max(timeout, 1.0))
        attempts.append(outcome)
        return None if outcome == BUSY else outcome

    try:
        outcome = wait_for(attempt, timeout, backoff=backoff or PollBackoff(), clock=clock,
                           what="the deploy of VM %s to finish" % vm_id)
    except _errors.WaitTimeoutError as error:
        error.details = {"attempts": len(attempts)}
        error.api_message = getattr(inventory, "busy_reason", None)
        raise
    return outcome, len(attempts)


def _named(kind, option):
    return option or kind.replace("_", " ")


# -- SOAP ------------------------------------------------------------------------------------------
class SoapInventory:
    """Lookups through vsphere.VSphere (opened lazily by OPEN, a callable returning a connected VSphere)."""

    power_on_operation = SOAP_POWER_ON

    def __init__(self, open_soap):
        self._open = open_soap
        self._soap = None
        self._objects = {}  # moref id -> moref object
        self._names = {}  # moref id -> name, read in one call by names()

    @property
    def soap(self):
        if self._soap is None:
            self._soap = self._open()
        return self._soap

    def _remember(self, moref):
        self._objects[moref._moId] = moref
        return moref._moId

    def _moref(self, moref_id):
        return self._objects[moref_id]

    def resolve(self, kind, ref, datacenter=None):
        dc = self._moref(datacenter) if datacenter else None
        return self._remember(self.soap.find(kind, ref, datacenter=dc))

    def root_pool(self, kind, moref_id):
        owner = self._moref(moref_id)
        if kind == "host":
            ((dummy, props),) = self.soap.retrieve(vim.HostSystem, ["parent"], objects=[owner])
            owner = props["parent"]
        ((dummy, props),) = self.soap.retrieve(vim.ComputeResource, ["resourcePool"], objects=[owner])
        return self._remember(props["resourcePool"])

    def resource_pool(self, ref, datacenter, cluster=None):
        """A pool by name inside CLUSTER when given (every cluster has a 'Resources'), else by find()."""
        if cluster and not ref.startswith("/"):
            rows = self.soap.retrieve(vim.ResourcePool, ["name"], container=self._moref(cluster))
            matches = [moref for moref, props in rows if props.get("name") == ref or moref._moId == ref]
            if len(matches) == 1:
                return self._remember(matches[0])
            if len(matches) > 1:
                raise _errors.ParameterError("resource pool '%s' is ambiguous in cluster %s: %s (give a path or moref)"
                                             % (ref, cluster, ", ".join(sorted(m._moId for m in matches))))
        return self.resolve("resource_pool", ref, datacenter)

    def vm_folder(self, datacenter):
        ((dummy, props),) = self.soap.retrieve(vim.Datacenter, ["vmFolder"], objects=[self._moref(datacenter)])
        return self._remember(props["vmFolder"])

    def vms_in_folder(self, name, folder):
        """Ids of the VMs named NAME directly in FOLDER (fresh read, never cached)."""
        rows = self.soap.retrieve(vim.VirtualMachine, ["name", "parent"], container=self._moref(folder))
        return sorted(self._remember(moref) for moref, props in rows
                      if props.get("name") == name and getattr(props.get("parent"), "_moId", None) == folder)

    def names(self, ids):
        """{moref id: name} of IDS (remembered objects), in one PropertyCollector read for those not known yet."""
        wanted = [self._objects[i] for i in dict.fromkeys(ids) if i in self._objects and i not in self._names]
        if wanted:
            types = list({type(moref): None for moref in wanted})
            for moref, props in self.soap.retrieve(types, {t: ["name"] for t in types}, objects=wanted):
                self._names[moref._moId] = props.get("name")
        return {i: self._names.get(i) for i in ids}

    def vms_named(self, names, folder):
        """{name: [(id, power state)]} of the VMs directly in FOLDER named one of NAMES, in one read (never cached)."""
        wanted = set(names)
        rows = self.soap.retrieve(vim.VirtualMachine, ["name", "parent", "runtime.powerState"],
                                  container=self._moref(folder))
        found = {}
        for moref, props in rows:
            if props.get("name") in wanted and getattr(props.get("parent"), "_moId", None) == folder:
                found.setdefault(props["name"], []).append(
                    (self._remember(moref), SOAP_POWER_STATES.get(str(props.get("runtime.powerState")))))
        return {name: sorted(found[name]) for name in found}

    def datastore_space(self, ids):
        """{datastore id: free bytes} of IDS (resolved before), in one PropertyCollector read."""
        stores = [self._objects[i] for i in dict.fromkeys(ids) if i in self._objects]
        if not stores:
            return {}
        rows = self.soap.retrieve(vim.Datastore, ["name", "summary.freeSpace"], objects=stores)
        out = {}
        for moref, props in rows:
            self._names[moref._moId] = props.get("name")
            out[moref._moId] = props.get("summary.freeSpace")
        return out

    def datastore_cluster(self, ref, datacenter):
        """(id, name, members) of the datastore cluster (StoragePod) REF (name or id) in DATACENTER.

        MEMBERS: [{"id", "name", "free_space", "capacity", "accessible", "maintenance"}], read in one call.
        """
        rows = self.soap.retrieve(vim.StoragePod, ["name", "childEntity"], container=self._moref(datacenter))
        matches = [(moref, props) for moref, props in rows if props.get("name") == ref or moref._moId == ref]
        if not matches:
            raise _errors.NotFoundError("no datastore cluster '%s' in datacenter %s (the datastore clusters: %s)"
                                        % (ref, datacenter, ", ".join(sorted(p.get("name") or m._moId for m, p in rows))
                                           or "none"), operation=SOAP_RETRIEVE, resource="StoragePod '%s'" % ref)
        if len(matches) > 1:
            raise _errors.ParameterError("datastore cluster '%s' is ambiguous, matches: %s (give a moref)"
                                         % (ref, ", ".join(sorted(m._moId for m, dummy in matches))))
        pod, props = matches[0]
        pod_id = self._remember(pod)
        self._names[pod_id] = props.get("name")
        members = []
        stores = list(props.get("childEntity") or [])
        paths = ["name", "summary.freeSpace", "summary.capacity", "summary.accessible", "summary.maintenanceMode"]
        for moref, info in (self.soap.retrieve(vim.Datastore, paths, objects=stores) if stores else []):
            ident = self._remember(moref)
            self._names[ident] = info.get("name")
            members.append({"id": ident, "name": info.get("name"), "free_space": info.get("summary.freeSpace"),
                            "capacity": info.get("summary.capacity"), "accessible": info.get("summary.accessible", True),
                            "maintenance": info.get("summary.maintenanceMode")})
        return pod_id, props.get("name"), members

    def _vm(self, vm_id):
        return self._objects.get(vm_id) or vim.VirtualMachine(vm_id, self.soap.stub)

    def power_state(self, vm_id):
        """POWERED_ON, POWERED_OFF or SUSPENDED, the REST spelling."""
        ((dummy, props),) = self.soap.retrieve(vim.VirtualMachine, ["runtime.powerState"], objects=[self._vm(vm_id)])
        return SOAP_POWER_STATES.get(str(props.get("runtime.powerState")))

    def start(self, vm_id, timeout=POWER_ON_TIMEOUT):
        """Power VM_ID on: STARTED, ALREADY (it was on) or BUSY (held by other work; ``busy_reason`` says why)."""
        if self.power_state(vm_id) == "POWERED_ON":
            return ALREADY
        vm = self._vm(vm_id)
        try:
            task = vm.PowerOnVM_Task()
        except vmodl.MethodFault as exc:
            return self._refused(exc, vm_id)

        def finished():
            info = task.info
            if info.state == "success":
                return STARTED
            if info.state == "error":
                return self._refused(info.error, vm_id)
            return None
        return wait_for(finished, timeout, backoff=PollBackoff(), what="the power-on of %s" % vm_id)

    def _refused(self, fault, vm_id):
        kind = type(fault).__name__.split(".")[-1]
        if kind == "InvalidPowerState":
            return ALREADY
        if kind in BUSY_FAULTS:
            self.busy_reason = getattr(fault, "msg", None) or kind
            return BUSY
        raise _errors.JobFailedError(getattr(fault, "msg", None) or str(fault), operation=SOAP_POWER_ON,
                                     resource=vm_id, code=kind)

    def close(self):
        soap, self._soap = self._soap, None
        if soap is not None:
            soap.close()


# -- REST ------------------------------------------------------------------------------------------
_REST_KINDS = {  # find kind -> (URL kind, id field of the summary, id filter)
    "datacenter": ("datacenter", "datacenter", "datacenters"),
    "cluster": ("cluster", "cluster", "clusters"),
    "host": ("host", "host", "hosts"),
    "resource_pool": ("resource-pool", "resource_pool", "resource_pools"),
    "folder": ("folder", "folder", "folders"),
    "datastore": ("datastore", "datastore", "datastores"),
    "network": ("network", "network", "networks"),
    "vm": ("vm", "vm", "vms"),
}


class RestInventory:
    """Lookups through the ``/api/vcenter/<kind>`` list endpoints of a VcenterRestClient."""

    def __init__(self, rest):
        self.rest = rest
        self._names = {}  # id -> name, from the summaries every lookup returns anyway

    @property
    def power_on_operation(self):
        return self.rest.power_on_operation

    def datastore_cluster(self, ref, datacenter):
        raise _errors.ParameterError("parameter 'datastore_cluster' needs inventory_lookup=soap: the vSphere Automation "
                                     "REST API lists no datastore clusters (nor their members' free space)")

    def names(self, ids):
        """{id: name} of IDS as the lookups saw them (no extra call)."""
        return {i: self._names.get(i) for i in ids}

    def _ids(self, kind, **filters):
        url_kind, id_field, dummy = _REST_KINDS[kind]
        entries = self.rest.list_inventory(url_kind, **filters)
        for entry in entries:
            if entry.get(id_field) and entry.get("name") is not None:
                self._names[entry[id_field]] = entry["name"]
        if filters.get("names"):
            # vCenter's names= filter is exact; drop what a server matched otherwise (e.g. ignoring case).
            entries = [entry for entry in entries if entry.get("name") in (None, *filters["names"])]
        return sorted({entry.get(id_field) for entry in entries if entry.get(id_field)})

    def _one(self, kind, ref, ids, scope=""):
        if not ids:
            hint = " (inventory paths need inventory_lookup=soap)" if ref.startswith("/") else ""
            raise _errors.NotFoundError("no %s '%s'%s%s" % (kind.replace("_", " "), ref, scope, hint),
                                        operation=self.rest.list_operation(_REST_KINDS[kind][0]),
                                        resource="vCenter %s" % self.rest.base_url)
        if len(ids) > 1:
            raise _errors.ParameterError("%s '%s' is ambiguous%s, matches: %s (give a moref)"
                                         % (kind.replace("_", " "), ref, scope, ", ".join(ids)))
        return ids[0]

    def resolve(self, kind, ref, datacenter=None, **filters):
        id_filter = _REST_KINDS[kind][2]
        if kind != "datacenter" and datacenter:
            filters["datacenters"] = [datacenter]
        if kind == "folder":
            filters["type"] = "VIRTUAL_MACHINE"
        ids = self._ids(kind, names=[ref], **filters) or self._ids(kind, **dict(filters, **{id_filter: [ref]}))
        return self._one(kind, ref, ids, " in datacenter %s" % datacenter if datacenter and kind != "datacenter" else "")

    def root_pool(self, kind, moref_id):
        ids = self._ids("resource_pool", names=[ROOT_POOL_NAME], **{kind + "s": [moref_id]})
        return self._one("resource_pool", ROOT_POOL_NAME, ids, " of %s %s" % (kind, moref_id))

    def resource_pool(self, ref, datacenter, cluster=None):
        if cluster:
            return self.resolve("resource_pool", ref, datacenter, clusters=[cluster])
        return self.resolve("resource_pool", ref, datacenter)

    def vm_folder(self, datacenter):
        ids = self._ids("folder", names=["vm"], datacenters=[datacenter], type="VIRTUAL_MACHINE")
        return self._one("folder", "vm", ids, " (the VM folder of datacenter %s)" % datacenter)

    def vms_in_folder(self, name, folder):
        return self._ids("vm", names=[name], folders=[folder])

    def vms_named(self, names, folder):
        """{name: [(id, power state)]} of the VMs in FOLDER named one of NAMES: one ``GET vcenter/vm`` call."""
        wanted = set(names)
        found = {}
        for entry in self.rest.list_inventory("vm", names=sorted(wanted), folders=[folder]):
            if entry.get("vm") and entry.get("name") in wanted:  # names= is exact on vCenter; drop other matches
                self._names[entry["vm"]] = entry["name"]
                found.setdefault(entry["name"], []).append((entry["vm"], entry.get("power_state")))
        return {name: sorted(found[name]) for name in found}

    def datastore_space(self, ids):
        """{datastore id: free bytes} of IDS: one ``GET vcenter/datastore?datastores=`` call."""
        ids = sorted(set(ids))
        if not ids:
            return {}
        out = {}
        for entry in self.rest.list_inventory("datastore", datastores=ids):
            if entry.get("datastore"):
                self._names[entry["datastore"]] = entry.get("name")
                out[entry["datastore"]] = entry.get("free_space")
        return out

    def power_state(self, vm_id):
        return self.rest.power_state(vm_id)

    def start(self, vm_id, timeout=POWER_ON_TIMEOUT):
        """Power VM_ID on (synchronous on vCenter): STARTED, ALREADY or BUSY (``busy_reason`` says why)."""
        try:
            self.rest.power_on(vm_id)
        except _errors.ApiError as error:
            if error.code == ALREADY_ON:
                return ALREADY
            if error.code in BUSY_CODES:
                self.busy_reason = error.api_message or error.message
                return BUSY
            if error.status is None or (error.status < 500 and error.status != 429):
                raise  # a clear refusal (4xx): nothing was done
            return self._after_uncertain_start(vm_id, error, retry=error.status in (429, 503))
        except _errors.TransportError as error:  # sent, answer lost: vCenter may have started it
            return self._after_uncertain_start(vm_id, error, retry=False)
        return STARTED

    def _after_uncertain_start(self, vm_id, error, retry):
        """The start got no clear answer: the VM's power state, read back, decides; nothing is resent blindly."""
        if self.power_state(vm_id) == "POWERED_ON":
            return STARTED  # vCenter acted, the answer was lost
        if retry:  # 429 / 503 and the VM still off: the server asked for a later try
            self.busy_reason = error.api_message or error.message
            return BUSY
        raise error

    def close(self):
        pass
