"""vCenter REST emulator: both URL families (``/api`` and legacy ``/rest``), content library, OVF.

Plays a real vCenter 7.0U2+/8.x (optionally 9.1) as described in /work/shared/api/vcenter_rest.md,
not govmomi's vcsim (the project runs vcsim separately for its ``/rest`` quirks). In short:

* ``/rest`` wraps every answer in ``{"value": ...}``, encodes maps as ``[{"key", "value"}]`` lists
  and needs ``id:`` before ids in ``com/vmware/...`` paths; ``/api`` answers bare values and uses
  JSON objects for maps.
* Sessions come from Basic-auth logins, travel in the ``vmware-api-session-id`` header and expire
  after ``session_idle_timeout`` seconds without use (checked on read, no timers).
* OVF deploy is synchronous: the request is held for ``deploy_seconds`` (2 s unless the seed says
  otherwise; test modules shorten it with the ``deploy-duration`` action). As on vCenter, where ImportVApp registers
  the VM before the disks are copied, the VM is in the inventory from the moment the deploy starts,
  so it exists even if the client gives up and hangs up; ``state`` shows ``deploying`` until then.
* Failures the client cannot prevent come back as HTTP 200 with ``succeeded: false``: an item
  marked ``broken`` (its message), a duplicate VM name in the folder, an un-accepted EULA.
* VM power (``POST /api/vcenter/vm/{vm}/power?action=start|stop|suspend|reset`` -> 204,
  ``POST /rest/vcenter/vm/{vm}/power/<action>`` -> 200 without body, ``GET .../power``) acts at once
  on the VM's ``power_state`` (deployed VMs start ``POWERED_OFF``); the state already reached gives
  400 ``ALREADY_IN_DESIRED_STATE``, a disallowed transition or a VM still being deployed 400
  ``NOT_ALLOWED_IN_CURRENT_STATE``.

* The whole ``deployment_spec`` is checked and recorded on the new VM (``storage_profile``,
  ``default_datastore``, ``storage_provisioning``, ``storage_mappings``, ``flags``, ``locale``): unknown
  policies or datastores give 400, a StorageGroupMapping needs the field its ``type`` names, and a
  mapping for a storage group the descriptor lacks gives 400 INVALID_ARGUMENT (an assumption: the
  reference does not say). Descriptors may carry ``vmw:StorageGroupSection``s, which ``filter``
  reports in ``storage_groups`` (item ``sql-appliance``: ``sql-data``, ``sql-logs``). Storage policies
  are listed by ``GET /api/vcenter/storage/policies`` (``policies=`` filter; /rest ``filter.policies``).
* OVF capture (create) is synchronous too: the request is held for ``capture_seconds`` (0 unless set
  with the ``capture-duration`` action); the new item is in the library from the start (an overwrite's
  new content version too), so it exists even if the client hangs up.

Admin actions (``POST /__emulator__/<action>``): ``deploy-duration`` ``{"seconds"}``,
``capture-duration`` ``{"seconds"}``, ``session-timeout`` ``{"seconds"}``, ``v91-mode`` ``{"enabled"}``,
``break-item`` ``{"item_id", "broken": true, "message"}``, ``datastore-space`` ``{"datastore_id", "free_space"}``
(bytes; what ``GET /api/vcenter/datastore`` reports as ``free_space``). A deploy takes the item's ``size`` off
the free space of the VM's datastore.
"""

import base64
import copy
import functools
import json
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

from tests.emulators._server import Emulator, Response, empty_response, json_response, route

OVF_NS = "http://schemas.dmtf.org/ovf/envelope/1"
RASD_NS = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
VMW_NS = "http://www.vmware.com/schema/ovf"
NS = {"ovf": OVF_NS, "rasd": RASD_NS, "vmw": VMW_NS}

TARGET_STRUCT = "com.vmware.vcenter.ovf.library_item.deployment_target"
DEPLOY_SPEC_STRUCT = "com.vmware.vcenter.ovf.library_item.resource_pool_deployment_spec"
STORAGE_GROUP_STRUCT = "com.vmware.vcenter.ovf.library_item.storage_group_mapping"
CREATE_TARGET_STRUCT = "com.vmware.vcenter.ovf.library_item.create_target"
CREATE_SPEC_STRUCT = "com.vmware.vcenter.ovf.library_item.create_spec"
SOURCE_STRUCT = "com.vmware.vcenter.ovf.library_item.deployable_identity"
INPUT_STRUCT = "operation-input"

DEFAULT_SETTINGS = {"deploy_seconds": 2.0, "capture_seconds": 0.0, "session_idle_timeout": 1800.0, "v91_mode": False}


def make_ovf(name, annotation="", networks=(), eula=None, cpus=1, memory_mib=1024, properties=(), storage_groups=()):
    """A small but well-formed OVF descriptor (what the library item's .ovf file holds).

    STORAGE_GROUPS: VMware's ``vmw:StorageGroupSection`` ids (disks grouped for storage placement);
    the filter operation reports them in ``storage_groups`` and a deploy maps them with ``storage_mappings``.
    """
    groups = "".join('<vmw:StorageGroupSection ovf:required="false" vmw:id=%s><Info>Storage group</Info>'
                     '<vmw:Name>%s</vmw:Name></vmw:StorageGroupSection>' % (quoteattr(g), escape(g))
                     for g in storage_groups)
    nets = "".join('<Network ovf:name=%s><Description>%s</Description></Network>'
                   % (quoteattr(n), escape(n)) for n in networks)
    props = "".join('<Property ovf:key=%s ovf:type="string" ovf:value="" ovf:userConfigurable="true">'
                    '<Label>%s</Label></Property>' % (quoteattr(p), escape(p)) for p in properties)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Envelope xmlns="%s" xmlns:ovf="%s" xmlns:rasd="%s" xmlns:vmw="%s">' % (OVF_NS, OVF_NS, RASD_NS, VMW_NS)
        + '<References><File ovf:id="file1" ovf:href=%s/></References>'
        % quoteattr(name + "-disk1.vmdk")
        + '<DiskSection><Info>Virtual disks</Info><Disk ovf:diskId="vmdisk1" ovf:fileRef="file1"'
          ' ovf:capacity="20" ovf:capacityAllocationUnits="byte * 2^30"/></DiskSection>'
        + '<NetworkSection><Info>Logical networks</Info>%s</NetworkSection>' % nets
        + groups
        + '<VirtualSystem ovf:id=%s><Info>A virtual machine</Info><Name>%s</Name>' % (quoteattr(name), escape(name))
        + '<AnnotationSection><Info>Annotation</Info><Annotation>%s</Annotation></AnnotationSection>' % escape(annotation)
        + ('<EulaSection><Info>End User License Agreement</Info><License>%s</License></EulaSection>' % escape(eula)
           if eula else "")
        + ('<ProductSection><Info>Properties</Info><Product>%s</Product>%s</ProductSection>' % (escape(name), props)
           if properties else "")
        + '<VirtualHardwareSection><Info>Virtual hardware</Info><System></System>'
        + '<Item><rasd:ElementName>%d virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID>'
          '<rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>%d</rasd:VirtualQuantity></Item>'
          % (cpus, cpus)
        + '<Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>%d MB of memory'
          '</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType>'
          '<rasd:VirtualQuantity>%d</rasd:VirtualQuantity></Item>' % (memory_mib, memory_mib)
        + '</VirtualHardwareSection></VirtualSystem></Envelope>'
    )


def parse_ovf(text):
    """The parts of a descriptor the emulator uses: OvfSummary fields plus CPU and memory."""
    root = ET.fromstring(text)
    system = root.find("ovf:VirtualSystem", NS)
    properties = [
        {"@class": "com.vmware.vcenter.ovf.property", "id": p.get("{%s}key" % OVF_NS),
         "type": p.get("{%s}type" % OVF_NS), "value": p.get("{%s}value" % OVF_NS, ""),
         "label": p.findtext("ovf:Label", "", NS), "description": p.findtext("ovf:Description", "", NS),
         "category": "", "class_id": "", "instance_id": "",
         "ui_optional": p.get("{%s}userConfigurable" % OVF_NS) == "true"}
        for p in system.iterfind("ovf:ProductSection/ovf:Property", NS)
    ]
    quantities = {item.findtext("rasd:ResourceType", "", NS): int(item.findtext("rasd:VirtualQuantity", "0", NS))
                  for item in system.iterfind("ovf:VirtualHardwareSection/ovf:Item", NS)}
    return {
        "name": system.findtext("ovf:Name", "", NS) or system.get("{%s}id" % OVF_NS),
        "annotation": system.findtext("ovf:AnnotationSection/ovf:Annotation", "", NS),
        "eulas": [e.text or "" for e in system.iterfind("ovf:EulaSection/ovf:License", NS)],
        "networks": [n.get("{%s}name" % OVF_NS) for n in root.iterfind("ovf:NetworkSection/ovf:Network", NS)],
        "storage_groups": [g.get("{%s}id" % VMW_NS) for g in root.iterfind("vmw:StorageGroupSection", NS)],
        "additional_params": [{"@class": "com.vmware.vcenter.ovf.property_params", "type": "PropertyParams",
                               "properties": properties}] if properties else [],
        "cpu_count": quantities.get("3", 1),
        "memory_size_MiB": quantities.get("4", 1024),
    }


EULA = "MIGRATION TEMPLATE LICENSE. By deploying this template you accept the Example Corp terms of use."

DEFAULT_SEED = {
    # The contract's 2 s deploy; test modules that deploy a lot shorten it with the deploy-duration action.
    "settings": {"deploy_seconds": 2.0, "session_idle_timeout": 1800, "v91_mode": False},
    "users": [{"username": "administrator@vsphere.local", "password": "VMware1!"},
              {"username": "migrator@vsphere.local", "password": "Migrate-2026"}],
    "datacenters": [{"id": "datacenter-1", "name": "DC-East"}, {"id": "datacenter-2", "name": "DC-West"}],
    "clusters": [{"id": "domain-c8", "name": "Prod", "datacenter": "datacenter-1"},
                 {"id": "domain-c30", "name": "DR", "datacenter": "datacenter-2"}],
    "hosts": [{"id": "host-10", "name": "esx01.east.example.com", "cluster": "domain-c8"},
              {"id": "host-11", "name": "esx02.east.example.com", "cluster": "domain-c8"},
              {"id": "host-31", "name": "esx01.west.example.com", "cluster": "domain-c30"}],
    # "Resources" exists in both clusters, like every cluster's root pool.
    "resource_pools": [{"id": "resgroup-9", "name": "Resources", "cluster": "domain-c8", "parent": None},
                       {"id": "resgroup-22", "name": "Migrations", "cluster": "domain-c8", "parent": "resgroup-9"},
                       {"id": "resgroup-32", "name": "Resources", "cluster": "domain-c30", "parent": None}],
    "folders": [{"id": "group-v3", "name": "vm", "datacenter": "datacenter-1", "parent": None},
                {"id": "group-v40", "name": "Migrated", "datacenter": "datacenter-1", "parent": "group-v3"},
                {"id": "group-v5", "name": "vm", "datacenter": "datacenter-2", "parent": None},
                {"id": "group-v41", "name": "Migrated", "datacenter": "datacenter-2", "parent": "group-v5"}],
    "datastores": [{"id": "datastore-14", "name": "east-vsan", "datacenter": "datacenter-1", "type": "VSAN",
                    "capacity": 4398046511104, "free_space": 2199023255552},
                   {"id": "datastore-15", "name": "east-nfs01", "datacenter": "datacenter-1", "type": "NFS",
                    "capacity": 1099511627776, "free_space": 549755813888},
                   {"id": "datastore-34", "name": "west-vmfs01", "datacenter": "datacenter-2", "type": "VMFS",
                    "capacity": 2199023255552, "free_space": 1099511627776}],
    "storage_profiles": [{"id": "aa6d5a82-1c88-45da-85d3-3d74b91a5bad", "name": "vSAN Default Storage Policy"},
                         {"id": "c4f1e9a0-7b2d-4e8f-9a61-5d3c2b1a0f9e", "name": "Gold"}],
    # "VM Network" exists in both datacenters (ambiguous without a datacenter filter).
    "networks": [{"id": "network-12", "name": "VM Network", "datacenter": "datacenter-1",
                  "type": "STANDARD_PORTGROUP"},
                 {"id": "dvportgroup-20", "name": "Backend", "datacenter": "datacenter-1",
                  "type": "DISTRIBUTED_PORTGROUP"},
                 {"id": "network-35", "name": "VM Network", "datacenter": "datacenter-2",
                  "type": "STANDARD_PORTGROUP"}],
    "vms": [{"id": "vm-101", "name": "web01", "folder": "group-v3", "resource_pool": "resgroup-9",
             "host": "host-10", "datastore": "datastore-14", "power_state": "POWERED_ON", "cpu_count": 2,
             "memory_size_MiB": 4096, "guest_OS": "UBUNTU_64", "annotation": "", "networks": ["network-12"]},
            {"id": "vm-102", "name": "db01", "folder": "group-v40", "resource_pool": "resgroup-22",
             "host": "host-11", "datastore": "datastore-15", "power_state": "POWERED_OFF", "cpu_count": 4,
             "memory_size_MiB": 16384, "guest_OS": "RHEL_9_64", "annotation": "Migrated database",
             "networks": ["network-12", "dvportgroup-20"]}],
    "libraries": [{"id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f", "name": "Migration Templates", "type": "LOCAL",
                   "description": "Templates used by the migration playbooks", "datastore": "datastore-14"},
                  {"id": "0c9b8a76-5d4e-4f3a-8b2c-1d0e9f8a7b6c", "name": "Golden Images", "type": "LOCAL",
                   "description": "Hardened base images", "datastore": "datastore-15"}],
    "items": [{"id": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d", "library_id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f",
               "name": "ubuntu-22.04", "description": "Ubuntu 22.04 LTS, two NICs",
               "ovf": make_ovf("ubuntu-22.04", "Ubuntu 22.04 LTS migration template", ("VM Network", "Backend"),
                               EULA, cpus=2, memory_mib=4096, properties=("hostname",))},
              {"id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", "library_id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f",
               "name": "legacy-appliance", "description": "Appliance whose disk never uploaded",
               "ovf": make_ovf("legacy-appliance", "Legacy appliance", ("VM Network",)),
               "broken": "Failed to deploy OVF package: the file 'legacy-appliance-disk1.vmdk' referenced by the "
                         "OVF descriptor is missing from the library item."},
              {"id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "library_id": "0c9b8a76-5d4e-4f3a-8b2c-1d0e9f8a7b6c",
               "name": "ubuntu-22.04", "description": "Hardened Ubuntu 22.04",
               "ovf": make_ovf("ubuntu-22.04-hardened", "Hardened Ubuntu", ("VM Network",))},
              # Disks in two OVF storage groups: a deploy places each group (storage_mappings).
              {"id": "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e", "library_id": "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f",
               "name": "sql-appliance", "description": "SQL appliance, data and logs disks in storage groups",
               "ovf": make_ovf("sql-appliance", "SQL appliance", ("VM Network",), storage_groups=("sql-data", "sql-logs"))}],
}

SEED_TIME = "2026-01-15T09:30:00.000Z"


def item_size(item):
    """The bytes a library item takes (its ``size``): the descriptor plus a 2 GiB disk."""
    return len(item["ovf"]) + 2147483648


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int(ts % 1 * 1000)


class ApiError(Exception):
    """A vAPI error; the endpoint wrapper puts it into the calling family's envelope."""

    def __init__(self, status, error_type, msg_id, message, *args):
        super().__init__(message)
        self.status, self.error_type = status, error_type
        self.messages = [{"id": msg_id, "default_message": message.format(*args), "args": [str(a) for a in args]}]

    def response(self, family):
        if family == "rest":
            body = {"type": "com.vmware.vapi.std.errors." + self.error_type.lower(),
                    "value": {"messages": self.messages, "error_type": self.error_type}}
        else:
            body = {"error_type": self.error_type, "messages": self.messages}
        return json_response(self.status, body)


def invalid(msg_id, message, *args):
    return ApiError(400, "INVALID_ARGUMENT", msg_id, message, *args)


def missing(field, struct):
    return invalid("vapi.data.structure.field.missing", "Field '{0}' missing from structure '{1}'", field, struct)


def no_route():
    return ApiError(404, "NOT_FOUND", "com.vmware.vapi.rest.httpNotFound", "Not found.")


def field(obj, name, struct, kind=str, required=True):
    """OBJ[NAME] checked for presence and type, as vAPI's input validation does (400 otherwise)."""
    value = obj.get(name)
    if value is None:
        if required:
            raise missing(name, struct)
        return None
    if not isinstance(value, kind):
        raise invalid("vapi.data.structure.field.invalid", "Field '{0}' of structure '{1}' has an invalid value",
                      name, struct)
    return value


def check_provisioning(value, name):
    if value not in (None, "thin", "thick", "eagerZeroedThick"):
        raise invalid("vapi.data.enum.invalid", "Invalid value '{0}' for field '{1}'", value, name)


def ovf_result(succeeded, errors=(), **extra):
    """DeploymentResult / CreateResult: HTTP 200 whatever SUCCEEDED says."""
    result = {"succeeded": succeeded}
    result.update(extra)
    result["error"] = {"errors": list(errors), "warnings": [], "information": []}
    return result


def ovf_error(category, error_class, msg_id, message, *args):
    return {"category": category,
            "error": {"@class": "com.vmware.vapi.std.errors." + error_class,
                      "messages": [{"id": msg_id, "default_message": message.format(*args),
                                    "args": [str(a) for a in args]}]}}


def endpoint(method, pattern, auth=True):
    """A route serving both families: checks the session, maps ApiError and wraps /rest answers.

    The handler gets ``(request, family, **groups)`` and returns a plain value (200, wrapped in
    ``{"value"}`` on /rest) or a ready Response.
    """

    def mark(func):
        @functools.wraps(func)
        def handler(self, request, **groups):
            family = "rest" if request.path.startswith("/rest/") else "api"
            try:
                if auth:
                    self.authenticate(request)
                result = func(self, request, family, **groups)
            except ApiError as exc:
                return exc.response(family)
            if isinstance(result, Response):
                return result
            return json_response(200, {"value": result} if family == "rest" else result)

        return route(method, pattern)(handler)

    return mark


# GET /api/vcenter/<kind>: the fields of each summary besides the id and the name.
SUMMARY_FIELDS = {
    "vm": ("power_state", "cpu_count", "memory_size_MiB"),
    "folder": ("type",),
    "resource-pool": (),
    "datastore": ("type", "free_space", "capacity"),
    "network": ("type",),
    "host": ("connection_state", "power_state"),
    "cluster": ("ha_enabled", "drs_enabled"),
    "datacenter": (),
}
BROKEN_MESSAGE = "Failed to deploy OVF package: the OVF package is corrupt."
# VM.Power action -> (state after it, states it is allowed from); the desired state itself gives
# ALREADY_IN_DESIRED_STATE (reset excepted: it restarts a powered-on VM).
POWER_TRANSITIONS = {
    "start": ("POWERED_ON", ("POWERED_OFF", "SUSPENDED")),
    "stop": ("POWERED_OFF", ("POWERED_ON", "SUSPENDED")),
    "suspend": ("SUSPENDED", ("POWERED_ON",)),
    "reset": ("POWERED_ON", ("POWERED_ON",)),
}


class VcenterRestEmulator(Emulator):
    name = "vcenter_rest"

    # -- state -----------------------------------------------------------------------------
    def load(self, seed):
        seed = copy.deepcopy(seed or DEFAULT_SEED)
        self.settings = dict(DEFAULT_SETTINGS, **seed.get("settings", {}))
        self.users = {u["username"]: u["password"] for u in seed.get("users", [])}
        self.sessions = {}
        self.tokens = {}  # client_token -> {"result", "until"} of a deploy/create that succeeded
        self.objects = {}
        for kind in ("datacenters", "clusters", "hosts", "resource_pools", "folders", "datastores",
                     "storage_profiles", "networks", "vms", "libraries", "items"):
            self.objects[kind] = {o["id"]: o for o in seed.get(kind, [])}
        for vm in self.objects["vms"].values():
            vm.setdefault("network_mappings", {})
            vm.setdefault("deploying_until", 0)
        for item in self.objects["items"].values():
            for key, value in (("creation_time", SEED_TIME), ("last_modified_time", SEED_TIME),
                               ("content_version", "2"), ("metadata_version", "1"), ("broken", None)):
                item.setdefault(key, value)
            if item["broken"] is True:  # a seed may just say "broken": true
                item["broken"] = BROKEN_MESSAGE
        numbers = [int(v.split("-")[-1]) for v in self.objects["vms"] if v.split("-")[-1].isdigit()]
        self.next_vm = max(numbers, default=1000) + 1

    def snapshot(self):
        now = time.time()
        state = {kind: list(objs.values()) for kind, objs in copy.deepcopy(self.objects).items()}
        for vm in state["vms"]:
            vm["deploying"] = vm.pop("deploying_until") > now
        state.update(settings=dict(self.settings), sessions=len(self.sessions),
                     client_tokens=sorted(self.tokens))
        return state

    def expire_sessions(self):
        self.sessions.clear()

    def connection_info(self):
        info = {"username": next(iter(self.users), None), "password": next(iter(self.users.values()), None)}
        info.update({kind: {i: o["name"] for i, o in objs.items()} for kind, objs in self.objects.items()})
        info["broken_items"] = [i for i, item in self.objects["items"].items() if item["broken"]]
        firsts = {"datacenter_id": "datacenters", "cluster_id": "clusters", "host_id": "hosts",
                  "resource_pool_id": "resource_pools", "folder_id": "folders", "datastore_id": "datastores",
                  "network_id": "networks", "library_id": "libraries", "vm_id": "vms"}
        info.update({key: next(iter(self.objects[kind]), None) for key, kind in firsts.items()})
        info["item_id"] = next((i for i, item in self.objects["items"].items() if not item["broken"]), None)
        return info

    def not_found(self, request):
        if request.path.startswith(("/api/", "/rest/")):
            return no_route().response("rest" if request.path.startswith("/rest/") else "api")
        return super().not_found(request)

    def admin(self, request, action):
        body = request.json() or {}
        with self.lock:
            if action == "deploy-duration":
                self.settings["deploy_seconds"] = float(body["seconds"])
            elif action == "capture-duration":
                self.settings["capture_seconds"] = float(body["seconds"])
            elif action == "session-timeout":
                self.settings["session_idle_timeout"] = float(body["seconds"])
            elif action == "v91-mode":
                self.settings["v91_mode"] = bool(body.get("enabled", True))
            elif action == "datastore-space":
                datastore = self.objects["datastores"].get(body.get("datastore_id"))
                if datastore is None:
                    return json_response(404, {"error": "no such datastore"})
                datastore["free_space"] = int(body["free_space"])
                return json_response(200, datastore)
            elif action == "break-item":
                item = self.objects["items"].get(body.get("item_id"))
                if item is None:
                    return json_response(404, {"error": "no such item"})
                item["broken"] = (body.get("message") or BROKEN_MESSAGE) if body.get("broken", True) else None
                return json_response(200, item)
            else:
                return None
            return json_response(200, self.settings)

    # -- helpers ---------------------------------------------------------------------------
    def authenticate(self, request):
        token = request.header("vmware-api-session-id")
        session = self.sessions.get(token)
        now = time.time()
        if session and now - session["last"] > self.settings["session_idle_timeout"]:
            del self.sessions[token]
            session = None
        if not session:
            raise ApiError(401, "UNAUTHENTICATED", "com.vmware.vapi.endpoint.method.authentication.required",
                           "Authentication required.")
        session["last"] = now
        return token, session

    def login(self, request):
        scheme, dummy, data = (request.header("Authorization") or "").partition(" ")
        try:
            user, dummy, password = base64.b64decode(data, validate=True).decode().partition(":")
        except ValueError:
            user = password = None
        if scheme.lower() != "basic" or user not in self.users or self.users[user] != password:
            raise ApiError(401, "UNAUTHENTICATED", "vapi.security.authentication.invalid",
                           "Unable to authenticate user")
        token = uuid.uuid4().hex
        now = time.time()
        self.sessions[token] = {"user": user, "created": now, "last": now}
        return token

    @staticmethod
    def body(request):
        try:
            body = request.json()
        except ValueError:
            raise invalid("vapi.json.parse.error", "Unable to parse the request body as JSON")
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise invalid("vapi.data.structure.invalid", "The request body must be a JSON object")
        return body

    @staticmethod
    def action(request, family):
        return request.arg("~action" if family == "rest" else "action")

    @staticmethod
    def path_id(family, raw):
        """/rest spells ids in com/vmware paths as ``id:<id>``; without the prefix no route matches."""
        raw = unquote(raw)
        if family == "rest":
            if not raw.startswith("id:"):
                raise no_route()
            return raw[3:]
        return raw

    @staticmethod
    def decode_map(family, value, name):
        """A vAPI map: /rest a list of {key, value} (duplicates refused), /api a JSON object."""
        if value is None:
            return {}
        if family == "api":
            if not isinstance(value, dict):
                raise invalid("vapi.data.map.invalid", "Field '{0}' must be a map (JSON object)", name)
            return value
        if not isinstance(value, list):
            raise invalid("vapi.data.map.invalid", "Field '{0}' must be a map (list of key/value pairs)", name)
        result = {}
        for entry in value:
            if not isinstance(entry, dict) or "key" not in entry or "value" not in entry:
                raise invalid("vapi.data.map.invalid", "Field '{0}' must be a map (list of key/value pairs)", name)
            if entry["key"] in result:
                raise invalid("vapi.data.map.duplicate.key", "Element already present in the map")
            result[entry["key"]] = entry["value"]
        return result

    @staticmethod
    def encode_map(family, mapping):
        return mapping if family == "api" else [{"key": k, "value": v} for k, v in mapping.items()]

    def moref(self, kind, value, name, label):
        obj = self.objects[kind].get(value) if isinstance(value, str) else None
        if obj is None:
            raise invalid("com.vmware.vcenter.ovf.invalid_moref", "Invalid {0} '{1}' in field '{2}': no such object",
                          label, value, name)
        return obj

    def datacenter_of(self, kind, obj):
        """The datacenter of any inventory object (clusters carry it; the rest hang below them)."""
        if kind in ("folders", "datastores", "networks", "clusters"):
            return obj["datacenter"]
        if kind in ("hosts", "resource_pools"):
            return self.objects["clusters"][obj["cluster"]]["datacenter"]
        if kind == "vms":
            return self.objects["folders"][obj["folder"]]["datacenter"]
        return obj["id"]

    def client_token(self, request, family, body):
        if family == "rest":
            return field(body, "client_token", INPUT_STRUCT, required=False)
        return request.arg("client_token") or request.header("Client-Token")

    def replay(self, token):
        record = self.tokens[token]
        self.wait_unlocked(record["until"])
        return record["result"]

    def wait_unlocked(self, until):
        """Hold the request until UNTIL without blocking other clients.

        Handlers run under ``self.lock`` (taken once by ``Emulator._dispatch``); a deploy that
        kept it would freeze every lookup a client makes to reconcile after its own timeout.
        """
        delay = until - time.time()
        if delay <= 0:
            return
        self.lock.release()
        try:
            time.sleep(delay)
        finally:
            self.lock.acquire()

    def item(self, item_id):
        item = self.objects["items"].get(item_id)
        if item is None:
            raise ApiError(404, "NOT_FOUND", "com.vmware.vdcs.cls-main.item_not_found",
                           "Library item '{0}' does not exist", item_id)
        return item

    def library(self, library_id):
        library = self.objects["libraries"].get(library_id)
        if library is None:
            raise ApiError(404, "NOT_FOUND", "com.vmware.vdcs.cls-main.library_not_found",
                           "Library '{0}' does not exist", library_id)
        return library

    # -- sessions --------------------------------------------------------------------------
    def session_info(self, session):
        user, dummy, domain = session["user"].partition("@")
        return {"user": "%s\\%s" % (domain.upper(), user.capitalize()) if domain else user,
                "created_time": iso(session["created"]), "last_accessed_time": iso(session["last"])}

    @endpoint("POST", r"/api/session", auth=False)
    def api_login(self, request, family):
        return json_response(201, json.dumps(self.login(request)))

    @endpoint("GET", r"/api/session")
    def api_session_info(self, request, family):
        return self.session_info(self.authenticate(request)[1])

    @endpoint("POST", r"/rest/com/vmware/cis/session", auth=False)
    def rest_session(self, request, family):
        action = self.action(request, family)
        if action == "get":
            return self.session_info(self.authenticate(request)[1])
        if action is not None:
            raise no_route()
        return self.login(request)

    @endpoint("DELETE", r"/(?:api/session|rest/com/vmware/cis/session)")
    def logout(self, request, family):
        del self.sessions[self.authenticate(request)[0]]
        return empty_response(204 if family == "api" else 200)

    @endpoint("GET", r"/(?:api|rest)/appliance/system/version")
    def version(self, request, family):
        version, build = ("9.1.0.0", "24930000") if self.settings["v91_mode"] else ("8.0.3.00400", "24322831")
        return {"version": version, "build": build, "product": "VMware vCenter Server",
                "type": "vCenter Server with an embedded Platform Services Controller",
                "summary": "Patch for VMware vCenter Server " + version, "releasedate": "2025-01-01",
                "install_time": SEED_TIME}

    # -- inventory lookups -----------------------------------------------------------------
    def facets(self, kind, obj):
        """The filter values OBJ answers to (``names=``, ``datacenters=``, ...), as lists."""
        facets = {"names": [obj["name"]], "datacenters": [self.datacenter_of(kind, obj)], kind: [obj["id"]]}
        if kind == "vms":
            host = self.objects["hosts"][obj["host"]]
            facets.update(folders=[obj["folder"]], resource_pools=[obj["resource_pool"]], hosts=[obj["host"]],
                          clusters=[host["cluster"]], power_states=[obj["power_state"]])
        elif kind == "folders":
            facets.update(parent_folders=[obj["parent"]], type=["VIRTUAL_MACHINE"])
        elif kind == "resource_pools":
            facets.update(clusters=[obj["cluster"]], parent_resource_pools=[obj["parent"]],
                          hosts=[h for h, host in self.objects["hosts"].items() if host["cluster"] == obj["cluster"]])
        elif kind in ("datastores", "networks"):
            facets.update(types=[obj["type"]])
        elif kind == "hosts":
            facets.update(clusters=[obj["cluster"]], connection_states=["CONNECTED"])
        return facets

    def summary(self, kind, url_kind, obj):
        defaults = {"type": "VIRTUAL_MACHINE", "connection_state": "CONNECTED", "power_state": "POWERED_ON",
                    "ha_enabled": True, "drs_enabled": True}
        summary = {url_kind.replace("-", "_"): obj["id"], "name": obj["name"]}
        summary.update({f: obj.get(f, defaults.get(f)) for f in SUMMARY_FIELDS[url_kind]})
        return summary

    @endpoint("GET", r"/(?:api|rest)/vcenter/(?P<url_kind>vm|folder|resource-pool|datastore|network|host|cluster"
                     r"|datacenter)")
    def list_inventory(self, request, family, url_kind):
        kind = {"vm": "vms", "resource-pool": "resource_pools"}.get(url_kind, url_kind + "s")
        filters = {}
        for key, values in request.query.items():
            if family == "rest":
                # /rest: filter.names=X, also the indexed form filter.names.1=X
                if not key.startswith("filter."):
                    continue
                key = key.split(".")[1]
            filters.setdefault(key, set()).update(values)
        result = []
        for obj in self.objects[kind].values():
            facets = self.facets(kind, obj)
            if all(set(facets.get(key, [])) & wanted for key, wanted in filters.items() if key in facets):
                result.append(self.summary(kind, url_kind, obj))
        return result

    @endpoint("GET", r"/(?:api|rest)/vcenter/vm/(?P<vm_id>[^/]+)")
    def get_vm(self, request, family, vm_id):
        vm = self.vm(vm_id)
        nics = {}
        for index, net_id in enumerate(vm["networks"]):
            network = self.objects["networks"][net_id]
            nics[str(4000 + index)] = {
                "label": "Network adapter %d" % (index + 1), "type": "VMXNET3", "mac_type": "ASSIGNED",
                "mac_address": "00:50:56:%02x:%02x:%02x" % (int(vm["id"].split("-")[-1]) % 256, index, 1),
                "state": "CONNECTED" if vm["power_state"] == "POWERED_ON" else "NOT_CONNECTED",
                "start_connected": True, "allow_guest_control": True, "wake_on_lan_enabled": True,
                "backing": {"type": network["type"], "network": net_id, "network_name": network["name"]}}
        return {"name": vm["name"], "power_state": vm["power_state"], "guest_OS": vm.get("guest_OS", "OTHER_LINUX_64"),
                "cpu": {"count": vm["cpu_count"], "cores_per_socket": 1, "hot_add_enabled": False,
                        "hot_remove_enabled": False},
                "memory": {"size_MiB": vm["memory_size_MiB"], "hot_add_enabled": False},
                "hardware": {"version": "VMX_19", "upgrade_policy": "NEVER", "upgrade_status": "NONE"},
                "identity": {"name": vm["name"], "instance_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, vm["id"]))},
                "nics": self.encode_map(family, nics), "disks": self.encode_map(family, {}),
                "boot": {"type": "BIOS", "delay": 0}}

    @endpoint("GET", r"/(?:api|rest)/vcenter/storage/policies")
    def list_storage_policies(self, request, family):
        """``GET /api/vcenter/storage/policies`` (``policies=`` filter; /rest ``filter.policies``)."""
        wanted = set(request.query.get("filter.policies" if family == "rest" else "policies", []))
        return [{"policy": p["id"], "name": p["name"], "description": p.get("description", "")}
                for p in self.objects["storage_profiles"].values() if not wanted or p["id"] in wanted]

    # -- power ---------------------------------------------------------------------------------
    def vm(self, vm_id):
        vm = self.objects["vms"].get(unquote(vm_id))
        if vm is None:
            raise ApiError(404, "NOT_FOUND", "com.vmware.api.vcenter.vm.not_found",
                           "Virtual machine with identifier '{0}' does not exist.", vm_id)
        return vm

    @endpoint("GET", r"/(?:api|rest)/vcenter/vm/(?P<vm_id>[^/]+)/power")
    def get_power(self, request, family, vm_id):
        state = self.vm(vm_id)["power_state"]
        return dict({"state": state}, **({"clean_power_off": True} if state == "POWERED_OFF" else {}))

    @endpoint("POST", r"/api/vcenter/vm/(?P<vm_id>[^/]+)/power")
    def api_power(self, request, family, vm_id):
        self.power(vm_id, self.action(request, family))
        return empty_response(204)

    @endpoint("POST", r"/rest/vcenter/vm/(?P<vm_id>[^/]+)/power/(?P<action>[^/]+)")
    def rest_power(self, request, family, vm_id, action):
        self.power(vm_id, action)
        return empty_response(200)  # a void /rest operation: 200, no body

    def power(self, vm_id, action):
        """VM.Power start|stop|suspend|reset, with vSphere's state rules (synchronous, as on vCenter)."""
        if action not in POWER_TRANSITIONS:
            raise no_route()
        vm = self.vm(vm_id)
        state = vm["power_state"]
        if vm["deploying_until"] > time.time():
            raise ApiError(400, "NOT_ALLOWED_IN_CURRENT_STATE", "com.vmware.api.vcenter.vm.power.busy",
                           "Virtual machine '{0}' is being deployed; the operation is not allowed in its current "
                           "state.", vm["id"])
        desired, allowed_from = POWER_TRANSITIONS[action]
        if state == desired and action != "reset":
            raise ApiError(400, "ALREADY_IN_DESIRED_STATE", "com.vmware.api.vcenter.vm.power.already_" + desired.lower(),
                           "Virtual machine is already {0}.", desired.lower().replace("_", " "))
        if state not in allowed_from:
            raise ApiError(400, "NOT_ALLOWED_IN_CURRENT_STATE", "com.vmware.api.vcenter.vm.power.invalid_state",
                           "Operation '{0}' is not allowed when the virtual machine is {1}.", action,
                           state.lower().replace("_", " "))
        vm["power_state"] = desired

    # -- content library -------------------------------------------------------------------
    def find_spec(self, family, body):
        if family == "rest":
            return field(body, "spec", INPUT_STRUCT, dict)
        return body

    @endpoint("POST", r"/(?:api/content|rest/com/vmware/content)/library")
    def find_library(self, request, family):
        if self.action(request, family) != "find":
            raise no_route()
        spec = self.find_spec(family, self.body(request))
        name, kind = spec.get("name"), spec.get("type")
        return [lib["id"] for lib in self.objects["libraries"].values()
                if (name is None or lib["name"].casefold() == name.casefold())
                and (kind is None or lib["type"] == kind)]

    @endpoint("GET", r"/(?:api/content|rest/com/vmware/content)/library")
    def list_libraries(self, request, family):
        return list(self.objects["libraries"])

    @endpoint("GET", r"/(?:api/content|rest/com/vmware/content)/library/(?P<raw_id>(?!item\Z)[^/]+)")
    def get_library(self, request, family, raw_id):
        library = self.library(self.path_id(family, raw_id))
        return {"id": library["id"], "name": library["name"], "type": library["type"],
                "description": library.get("description", ""), "creation_time": SEED_TIME,
                "last_modified_time": SEED_TIME, "version": "1", "server_guid": "e3c6f1b8-vc01",
                "storage_backings": [{"type": "DATASTORE", "datastore_id": library.get("datastore")}],
                "publish_info": {"published": False, "authentication_method": "NONE", "persist_json_enabled": False}}

    @endpoint("POST", r"/(?:api/content|rest/com/vmware/content)/library/item")
    def find_item(self, request, family):
        if self.action(request, family) != "find":
            raise no_route()
        spec = self.find_spec(family, self.body(request))
        name, library_id, kind = spec.get("name"), spec.get("library_id"), spec.get("type")
        return [item["id"] for item in self.objects["items"].values()
                if (name is None or item["name"].casefold() == name.casefold())
                and (library_id is None or item["library_id"] == library_id)
                and (kind is None or kind == "ovf")]

    @endpoint("GET", r"/(?:api/content|rest/com/vmware/content)/library/item")
    def list_items(self, request, family):
        library_id = request.arg("library_id")
        if not library_id:
            raise missing("library_id", INPUT_STRUCT)
        self.library(library_id)
        return [i for i, item in self.objects["items"].items() if item["library_id"] == library_id]

    @endpoint("GET", r"/(?:api/content|rest/com/vmware/content)/library/item/(?P<raw_id>[^/]+)")
    def get_item(self, request, family, raw_id):
        item = self.item(self.path_id(family, raw_id))
        return {"id": item["id"], "library_id": item["library_id"], "name": item["name"], "type": "ovf",
                "description": item.get("description", ""), "size": item_size(item),
                "cached": True, "content_version": item["content_version"],
                "metadata_version": item["metadata_version"], "version": item["metadata_version"],
                "creation_time": item["creation_time"], "last_modified_time": item["last_modified_time"]}

    # -- OVF ---------------------------------------------------------------------------------
    @endpoint("POST", r"/(?:api/vcenter|rest/com/vmware/vcenter)/ovf/library-item/(?P<raw_id>[^/]+)")
    def ovf_item_action(self, request, family, raw_id):
        item_id = self.path_id(family, raw_id)
        action = self.action(request, family)
        if action == "deploy":
            return self.deploy(request, family, item_id, self.body(request))
        if action == "filter":
            return self.filter(family, item_id, self.body(request))
        raise no_route()

    @endpoint("POST", r"/(?:api/vcenter|rest/com/vmware/vcenter)/ovf/library-item")
    def ovf_collection(self, request, family):
        action = self.action(request, family)
        body = self.body(request)
        if action is None:
            return self.create(request, family, body)
        if family == "rest" and action in ("deploy", "filter"):
            # The legacy form names the item in the body instead of the path.
            item_id = field(body, "ovf_library_item_id", INPUT_STRUCT)
            if action == "deploy":
                return self.deploy(request, family, item_id, body)
            return self.filter(family, item_id, body)
        raise no_route()

    def placement(self, target):
        """Resolve and cross-check the deployment target; unknown or misplaced morefs give 400."""
        pool = self.moref("resource_pools", field(target, "resource_pool_id", TARGET_STRUCT), "resource_pool_id",
                          "resource pool")
        datacenter = self.datacenter_of("resource_pools", pool)
        folder_id = field(target, "folder_id", TARGET_STRUCT, required=False)
        if folder_id is None:
            folder = next(f for f in self.objects["folders"].values()
                          if f["datacenter"] == datacenter and f["parent"] is None)
        else:
            folder = self.moref("folders", folder_id, "folder_id", "VM folder")
            if folder["datacenter"] != datacenter:
                raise invalid("com.vmware.vcenter.ovf.folder_mismatch",
                              "Folder '{0}' is not in the datacenter of resource pool '{1}'", folder_id, pool["id"])
        host_id = field(target, "host_id", TARGET_STRUCT, required=False)
        if host_id is None:
            host = next(h for h in self.objects["hosts"].values() if h["cluster"] == pool["cluster"])
        else:
            host = self.moref("hosts", host_id, "host_id", "host")
            if host["cluster"] != pool["cluster"]:
                raise invalid("com.vmware.vcenter.ovf.host_mismatch",
                              "Host '{0}' is not part of the cluster of resource pool '{1}'", host_id, pool["id"])
        return pool, datacenter, folder, host

    def in_datacenter(self, kind, value, name, label, datacenter):
        obj = self.moref(kind, value, name, label)
        if self.datacenter_of(kind, obj) != datacenter:
            raise invalid("com.vmware.vcenter.ovf.invalid_moref", "Invalid {0} '{1}' in field '{2}': not in "
                          "datacenter '{3}'", label, value, name, datacenter)
        return obj

    def eula_accepted(self, spec):
        """accept_all_EULA is required; 9.1 renamed it accept_all_eula and (assumption) takes both."""
        names = ("accept_all_EULA", "accept_all_eula") if self.settings["v91_mode"] else ("accept_all_EULA",)
        present = [n for n in names if spec.get(n) is not None]
        if not present:
            raise missing(names[-1], DEPLOY_SPEC_STRUCT)
        return all(field(spec, n, DEPLOY_SPEC_STRUCT, bool) for n in present)

    def deploy(self, request, family, item_id, body):
        # 1. input validation (vAPI checks the structures before the implementation runs)
        target = field(body, "target", INPUT_STRUCT, dict)
        spec = field(body, "deployment_spec", INPUT_STRUCT, dict)
        accepted = self.eula_accepted(spec)
        network_mappings = self.decode_map(family, spec.get("network_mappings"), "network_mappings")
        storage_mappings = self.decode_map(family, spec.get("storage_mappings"), "storage_mappings")
        name = field(spec, "name", DEPLOY_SPEC_STRUCT, required=False)
        annotation = field(spec, "annotation", DEPLOY_SPEC_STRUCT, required=False)
        field(spec, "additional_parameters", DEPLOY_SPEC_STRUCT, list, required=False)
        provisioning = field(spec, "storage_provisioning", DEPLOY_SPEC_STRUCT, required=False)
        check_provisioning(provisioning, "storage_provisioning")
        flags = field(spec, "flags", DEPLOY_SPEC_STRUCT, list, required=False) or []
        if not all(isinstance(flag, str) for flag in flags):
            raise invalid("vapi.data.structure.field.invalid", "Field '{0}' of structure '{1}' has an invalid value",
                          "flags", DEPLOY_SPEC_STRUCT)
        locale = field(spec, "locale", DEPLOY_SPEC_STRUCT, required=False)
        for group in storage_mappings.values():
            # StorageGroupMapping: a discriminated union on type; the field of the chosen type is required.
            if not isinstance(group, dict) or group.get("type") not in ("DATASTORE", "STORAGE_PROFILE"):
                raise missing("type", STORAGE_GROUP_STRUCT)
            field(group, "datastore_id" if group["type"] == "DATASTORE" else "storage_profile_id", STORAGE_GROUP_STRUCT)
            check_provisioning(group.get("provisioning"), "provisioning")
        # 2. a retry of a deploy that succeeded gets the original result and no new VM
        token = self.client_token(request, family, body)
        if token in self.tokens:
            return self.replay(token)
        # 3. the item, then every moref of target and spec
        item = self.item(item_id)
        pool, datacenter, folder, host = self.placement(target)
        datastore_id = field(spec, "default_datastore_id", DEPLOY_SPEC_STRUCT, required=False)
        datastore = datastore_id and self.in_datacenter("datastores", datastore_id, "default_datastore_id",
                                                        "datastore", datacenter)
        profile_id = field(spec, "storage_profile_id", DEPLOY_SPEC_STRUCT, required=False)
        if profile_id is not None:
            self.moref("storage_profiles", profile_id, "storage_profile_id", "storage profile")
        summary = parse_ovf(item["ovf"])
        for key, group in storage_mappings.items():
            if key not in summary["storage_groups"]:
                # Assumption (not documented): a mapping for a group the package lacks is refused like a bad moref.
                raise invalid("com.vmware.vcenter.ovf.storage_group_not_found",
                              "Storage group '{0}' in field '{1}' is not defined in the OVF package", key,
                              "storage_mappings")
            if group["type"] == "DATASTORE":
                self.in_datacenter("datastores", group["datastore_id"], "storage_mappings", "datastore", datacenter)
            else:
                self.moref("storage_profiles", group["storage_profile_id"], "storage_mappings", "storage profile")
        for net_id in network_mappings.values():
            self.in_datacenter("networks", net_id, "network_mappings", "network", datacenter)
        # 4. failures reported as HTTP 200, succeeded: false
        name = name or summary["name"]
        if summary["eulas"] and not accepted:
            return ovf_result(False, [ovf_error("INPUT", "invalid_argument", "com.vmware.ovfs.eula_not_accepted",
                                                "The EULA of the OVF package must be accepted.")],
                              resource_id=None)
        if any(vm["name"] == name and vm["folder"] == folder["id"] for vm in self.objects["vms"].values()):
            return ovf_result(False, [ovf_error("SERVER", "already_exists", "vim.fault.DuplicateName",
                                                "The name '{0}' already exists.", name)], resource_id=None)
        until = time.time() + self.settings["deploy_seconds"]
        if item["broken"]:
            self.wait_unlocked(until)
            return ovf_result(False, [ovf_error("SERVER", "error", "com.vmware.ovfs.deploy_failed", "{0}",
                                                item["broken"])], resource_id=None)
        # 5. the VM exists from now on, whatever happens to this connection
        vm_id = "vm-%d" % self.next_vm
        self.next_vm += 1
        by_name = {n["name"]: n["id"] for n in self.objects["networks"].values() if n["datacenter"] == datacenter}
        # Unmapped OVF networks land on the same-named network of the datacenter, else on its first one.
        mappings = {ovf_net: network_mappings.get(ovf_net) or by_name.get(ovf_net) or next(iter(by_name.values()))
                    for ovf_net in summary["networks"]}
        self.objects["vms"][vm_id] = {
            "id": vm_id, "name": name, "folder": folder["id"], "resource_pool": pool["id"], "host": host["id"],
            "datastore": datastore["id"] if datastore else next(
                d for d, ds in self.objects["datastores"].items() if ds["datacenter"] == datacenter),
            "power_state": "POWERED_OFF", "cpu_count": summary["cpu_count"],
            "memory_size_MiB": summary["memory_size_MiB"], "guest_OS": "OTHER_LINUX_64",
            "annotation": summary["annotation"] if annotation is None else annotation,
            "networks": list(mappings.values()), "network_mappings": mappings, "source_item": item["id"],
            "deploying_until": until,
            # What the deployment_spec asked for, for tests to check (vCenter would apply it to the disks).
            "storage_profile": profile_id, "default_datastore": datastore_id, "storage_provisioning": provisioning,
            "storage_mappings": copy.deepcopy(storage_mappings), "flags": list(flags), "locale": locale}
        # The disks take the item's size on the VM's datastore (what a capacity check must see).
        home = self.objects["datastores"][self.objects["vms"][vm_id]["datastore"]]
        home["free_space"] = max(int(home.get("free_space") or 0) - item_size(item), 0)
        result = ovf_result(True, resource_id={"type": "VirtualMachine", "id": vm_id})
        if token:
            self.tokens[token] = {"result": result, "until": until}
        self.wait_unlocked(until)
        return result

    def filter(self, family, item_id, body):
        target = field(body, "target", INPUT_STRUCT, dict)
        item = self.item(item_id)
        self.placement(target)
        summary = parse_ovf(item["ovf"])
        keys = ("name", "annotation", "eulas", "networks", "storage_groups", "additional_params")
        return {key: summary[key] for key in keys}

    def create(self, request, family, body):
        """Capture a VM as OVF: a new item in target.library_id, or new content for target.library_item_id."""
        source = field(body, "source", INPUT_STRUCT, dict)
        target = field(body, "target", INPUT_STRUCT, dict)
        spec = field(body, "create_spec", INPUT_STRUCT, dict, required=False) or {}
        if field(source, "type", SOURCE_STRUCT) not in ("VirtualMachine", "VirtualApp"):
            raise invalid("com.vmware.vcenter.ovf.invalid_source", "Unsupported source type '{0}'", source["type"])
        source_id = field(source, "id", SOURCE_STRUCT)
        library_id = field(target, "library_id", CREATE_TARGET_STRUCT, required=False)
        item_id = field(target, "library_item_id", CREATE_TARGET_STRUCT, required=False)
        if library_id is None and item_id is None:
            raise missing("library_id", CREATE_TARGET_STRUCT)
        token = self.client_token(request, family, body)
        if token in self.tokens:
            return self.replay(token)
        vm = self.objects["vms"].get(source_id)
        if vm is None:
            raise ApiError(404, "NOT_FOUND", "com.vmware.vcenter.ovf.source_not_found",
                           "Virtual machine '{0}' does not exist", source_id)
        networks = list(dict.fromkeys(self.objects["networks"][n]["name"] for n in vm["networks"]))
        descriptor = make_ovf(spec.get("name") or vm["name"], spec.get("description") or vm["annotation"],
                              networks, cpus=vm["cpu_count"], memory_mib=vm["memory_size_MiB"])
        now = iso(time.time())
        if item_id is not None:
            item = self.item(item_id)
            if library_id is not None and library_id != item["library_id"]:
                raise invalid("com.vmware.vcenter.ovf.target_mismatch",
                              "Library item '{0}' is not in library '{1}'", item_id, library_id)
            # Only the content changes; name and description stay (VR #385).
            item.update(ovf=descriptor, broken=None, last_modified_time=now,
                        content_version=str(int(item["content_version"]) + 1))
        else:
            self.library(library_id)
            name = field(spec, "name", CREATE_SPEC_STRUCT)
            if any(i["library_id"] == library_id and i["name"].casefold() == name.casefold()
                   for i in self.objects["items"].values()):
                raise ApiError(400, "ALREADY_EXISTS", "com.vmware.vdcs.cls-main.duplicate_item_name",
                               "An item named '{0}' already exists in library '{1}'", name, library_id)
            item_id = str(uuid.uuid4())
            self.objects["items"][item_id] = {
                "id": item_id, "library_id": library_id, "name": name, "description": spec.get("description", ""),
                "ovf": descriptor, "broken": None, "creation_time": now, "last_modified_time": now,
                "content_version": "1", "metadata_version": "1"}
        result = ovf_result(True, ovf_library_item_id=item_id)
        until = time.time() + self.settings["capture_seconds"]
        if token:
            self.tokens[token] = {"result": result, "until": until}
        self.wait_unlocked(until)  # the item exists already, whatever happens to this connection
        return result


EMULATOR = VcenterRestEmulator
