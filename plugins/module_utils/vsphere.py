# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The vSphere (SOAP, pyVmomi) client: connection options, connect/close, bulk reads, lookups.

* ``VSPHERE_ARGSPEC`` / ``vsphere_argspec(prefix, env, required)`` and ``CONNECTION``: the connection options
  (documented 1:1 by ``plugins/doc_fragments/vsphere.py``) and how a module opens a ``VSphere``.
* ``VSphere``: ``connect()``, ``content``, ``si``, ``retrieve()`` (paged bulk PropertyCollector
  reads), ``find()`` (name, inventory path or moref id -> moref, cached per run), ``calls`` (SOAP
  round trips), ``close()``.
* For the NSX V2T vMotion recipe (VMware's NSX migration coordinator guide): ``find_vm_by_instance_uuid``,
  ``vm_facts`` (many VMs by instance UUID in two bulk reads), ``nsx_networks`` (the DVPG map and
  the opaque network ids in one round trip), ``nic_backing``, ``service_locator`` (cross-vCenter,
  with ``fetch_thumbprint``) and ``relocate``; waiting for many tasks is ``_vsphere_tasks.run_tasks``.
* ``relogin()``: a new session on the same connection after the old one was lost; ``relocate``
  and the task waiter use it, so a long wave survives a vCenter session timeout.
"""

from __future__ import annotations

import collections
import hashlib
import http.client
import socket
import ssl
import threading

try:
    from pyVim.connect import SmartConnect
    from pyVmomi import vim, vmodl
    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR = None
except ImportError as exc:  # reported as a ParameterError when a module opens the client
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = exc

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Redactor
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import Connection


VSPHERE_REQUIRED = ("hostname", "username", "password")


def vsphere_argspec(prefix="", env="VMWARE_", required=True, inherit=False, proxy=False):
    """The connection options, names prefixed with PREFIX (``target_vcenter_`` ...).

    ENV is the prefix of the environment variables they fall back to (``VMWARE_HOST`` ...), one
    set per vCenter (``VMWARE_TARGET_HOST`` ... for a second one, so it never silently takes the
    first one's credentials). ``required`` False makes hostname, username and password optional;
    ``inherit`` drops the port and validate_certs defaults, so a None can mean "as the source vCenter".
    ``proxy`` adds ``proxy_host`` / ``proxy_port`` (an HTTP proxy, CONNECT tunnel), for modules that document them.
    """
    def fallback(name):
        return {"fallback": (env_fallback, [env + name])} if env else {}

    spec = {
        "hostname": dict(type="str", **fallback("HOST")),
        "username": dict(type="str", aliases=["user"], **fallback("USER")),
        "password": dict(type="str", aliases=["pass", "pwd"], no_log=True, **fallback("PASSWORD")),
        "port": dict(type="int", default=443, **fallback("PORT")),
        "validate_certs": dict(type="bool", default=True, **fallback("VALIDATE_CERTS")),
        "ca_cert": dict(type="path", **fallback("CA_CERT")),
    }
    if proxy:
        spec["proxy_host"] = dict(type="str", **fallback("PROXY_HOST"))
        spec["proxy_port"] = dict(type="int", **fallback("PROXY_PORT"))
    if required:
        for name in VSPHERE_REQUIRED:
            spec[name]["required"] = True
    if inherit:
        spec["port"].pop("default")
        spec["validate_certs"].pop("default")
    out = {}
    for name, option in spec.items():
        option = dict(option)
        if "aliases" in option:
            option["aliases"] = [prefix + alias for alias in option["aliases"]]
        out[prefix + name] = option
    return out


VSPHERE_ARGSPEC = vsphere_argspec(proxy=True)
# proxy_host and proxy_port go together; both in the argspec: checked before anything is sent.
PROXY_REQUIRED_TOGETHER = [["proxy_host", "proxy_port"]]

# find() kinds -> managed object type names (resolved lazily: pyVmomi may be missing).
KINDS = {
    "datacenter": "Datacenter",
    "cluster": "ClusterComputeResource",
    "host": "HostSystem",
    "resource_pool": "ResourcePool",
    "folder": "Folder",
    "datastore": "Datastore",
    "network": "Network",
    "vm": "VirtualMachine",
}
# Every managed entity that can sit on an inventory path between the root and an object.
_PATH_TYPES = ("Folder", "Datacenter", "ComputeResource", "ResourcePool", "HostSystem")


def connection_params(params, prefix="", fallback=None):
    """The connection options of PARAMS under PREFIX as VSphere keyword arguments.

    A missing value is taken from FALLBACK (another such dict), e.g. the target vCenter
    inheriting the source's credentials.
    """
    out = {}
    for name in ("hostname", "username", "password", "port", "validate_certs", "ca_cert", "proxy_host", "proxy_port"):
        value = params.get(prefix + name)
        if value is None and fallback is not None:
            value = fallback.get(name)
        out[name] = value
    if out["port"] is None:
        out["port"] = 443
    if out["validate_certs"] is None:
        out["validate_certs"] = True
    out["ca_path"] = out.pop("ca_cert")  # the clients' keyword for the CA file
    return out


def proxy_url(options):
    """The proxy of connection OPTIONS as a URL for requests (``http://host:port``), or None.

    The proxy itself is spoken to in plain HTTP (CONNECT); the TLS session to vCenter runs inside the tunnel.
    """
    host = options.get("proxy_host")
    if not host:
        return None
    if "://" in host or "/" in host:
        raise _errors.ParameterError("parameter 'proxy_host' must be a host name or IP address, got '%s'" % host)
    host = "[%s]" % host if ":" in host and not host.startswith("[") else host
    return "http://%s:%s" % (host, options.get("proxy_port"))


def open_vsphere(module, prefix="", fallback=None, **kwargs):
    """A connected VSphere from MODULE's options under PREFIX; missing options raise ParameterError."""
    if not HAS_PYVMOMI:
        raise _errors.ParameterError(missing_required_lib("pyvmomi") + ": %s" % PYVMOMI_IMPORT_ERROR)
    options = connection_params(module.params, prefix, fallback)
    for name in VSPHERE_REQUIRED:
        if not options[name]:
            raise _errors.ParameterError("parameter '%s%s' is required (or set it through the environment)" % (prefix, name))
    client = VSphere(redactor=Redactor([options["password"]], on_secret=module.register_secret), **dict(options, **kwargs))
    client.connect()
    return client


CONNECTION = Connection(VSPHERE_ARGSPEC, open_vsphere, ranges={"proxy_port": (1, 65535)},
                        required_together=PROXY_REQUIRED_TOGETHER)


def login_parameter_error(prefix, error):
    """The ParameterError naming the option a refused vCenter login or connection points at."""
    if isinstance(error, _errors.AuthError):
        return _errors.ParameterError("parameter '%spassword' (with %susername) was refused: %s" % (prefix, prefix, error))
    if "TLS" in str(error):
        return _errors.ParameterError("parameter '%sca_cert' (or %svalidate_certs) does not verify the vCenter: %s"
                                      % (prefix, prefix, error))
    return _errors.ParameterError("parameter '%shostname' (with %sport) does not lead to a vCenter: %s" % (prefix, prefix, error))


def read_vms(clients, instance_uuids):
    """({instance uuid: facts}, {instance uuid: running relocation task id}) from every vCenter of CLIENTS.

    CLIENTS: {vCenter instance uuid: VSphere}, the source first: a VM also found on the target
    (moved there by an earlier run) is the VM now, unless a relocation of it still runs.
    """
    vms, running, moving = {}, {}, {}
    for client in clients.values():
        facts = client.vm_facts(instance_uuids)
        vms.update(facts)
        mine = client.relocations_in_flight(facts)
        running.update(mine)
        moving.update((uuid, facts[uuid]) for uuid in mine)
    vms.update(moving)  # a VM being moved belongs to the vCenter running its relocation until it ends
    return vms, running


def bios_owner(clients, uuid):
    """(VM moref id, instance UUID) of the VM whose BIOS UUID is UUID on any of CLIENTS, or None."""
    return next((c.bios_uuid_owner(uuid) for c in clients.values() if c.bios_uuid_owner(uuid)), None)


def ssl_context(validate_certs=True, ca_path=None):
    """TLS context: verified against CA_PATH (or the system store), or verification really off."""
    if validate_certs:
        return ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _type(name):
    return getattr(vim, name)


class VSphere:
    """One vCenter session. Not thread-safe for ``find`` caching; SOAP calls themselves are."""

    def __init__(self, hostname, username, password, port=443, validate_certs=True, ca_path=None,
                 redactor=None, connect_timeout=30, proxy_host=None, proxy_port=None):
        self.hostname = hostname
        self.username = username
        self.password = password
        self.port = int(port or 443)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.connect_timeout = connect_timeout
        self.proxy_host = proxy_host
        self.proxy_port = proxy_port
        self.redact = redactor or Redactor([password])
        self.si = None
        self.calls = 0  # SOAP round trips since connect() (login included), for benches and tests
        self.calls_by_method = collections.Counter()  # the same, per SOAP method name
        self.session = 0  # incremented by every login: session-bound objects of an older one are gone
        self._lock = threading.Lock()
        self._cache = {}

    # -- session -----------------------------------------------------------------------------
    @property
    def target(self):
        return "vCenter %s:%s" % (self.hostname, self.port)

    def connect(self):
        if not HAS_PYVMOMI:
            raise _errors.ParameterError(missing_required_lib("pyvmomi") + ": %s" % PYVMOMI_IMPORT_ERROR)
        context = ssl_context(self.validate_certs, self.ca_path)
        # An HTTP proxy: pyVmomi tunnels the TLS session to vCenter through it (CONNECT host:port).
        proxy = {"httpProxyHost": self.proxy_host, "httpProxyPort": int(self.proxy_port)} if self.proxy_host else {}
        try:
            self.si = SmartConnect(host=self.hostname, port=self.port, user=self.username, pwd=self.password,
                                   sslContext=context, disableSslCertValidation=not self.validate_certs,
                                   httpConnectionTimeout=self.connect_timeout, **proxy)
        except vim.fault.InvalidLogin as exc:
            raise self._error(_errors.AuthError, exc.msg or "incorrect user name or password", "login")
        except ssl.SSLError as exc:
            raise self._error(_errors.TransportError, "TLS error: %s" % exc, "login")
        except (OSError, socket.timeout) as exc:
            raise self._error(_errors.TransportError, "cannot connect: %s" % exc, "login")
        except vmodl.MethodFault as exc:
            raise self._error(_errors.ApiError, exc.msg or type(exc).__name__, "login", code=type(exc).__name__)
        self.calls += 2  # RetrieveServiceContent + Login made by SmartConnect
        self.calls_by_method.update(["RetrieveServiceContent", "Login"])
        self.session += 1
        self._count_calls(self.si._stub)
        return self

    def _count_calls(self, stub):
        invoke = stub.InvokeMethod

        def counted(mo, info, *args, **kwargs):
            with self._lock:
                self.calls += 1
                self.calls_by_method[info.wsdlName] += 1
            return invoke(mo, info, *args, **kwargs)
        stub.InvokeMethod = counted

    def relogin(self):
        """Log in again on the same connection (the stub keeps the new session cookie).

        For a session lost mid-run (idle timeout, vCenter restart, an administrator ending it).
        Objects made in the old session (property collectors, views) died with it: whoever
        holds some compares ``session`` and rebuilds them.
        """
        try:
            self.content.sessionManager.Login(userName=self.username, password=self.password)
        except vim.fault.InvalidLogin as exc:
            raise self._error(_errors.AuthError, exc.msg or "incorrect user name or password", "login")
        except vmodl.MethodFault as exc:
            raise self.fault(exc, "Login")
        self.session += 1

    def with_session(self, call, *args, **kwargs):
        """CALL(*ARGS, **KWARGS), logging in again once if the session was lost.

        Only for calls that are safe to resend: NotAuthenticated means the server did not run it.
        """
        try:
            return call(*args, **kwargs)
        except vim.fault.NotAuthenticated:
            self.relogin()
        return call(*args, **kwargs)

    @property
    def content(self):
        if "content" not in self._cache:
            self._cache["content"] = self.si.RetrieveContent()
        return self._cache["content"]

    @property
    def stub(self):
        return self.si._stub

    def close(self):
        """Log out. Errors are raised as TransportError; the module base turns them into a warning."""
        si, self.si = self.si, None
        if si is None:
            return
        try:
            content = self._cache.get("content") or si.RetrieveContent()  # si.content would cost a property read
            content.sessionManager.Logout()
        except vim.fault.NotAuthenticated:
            pass  # the session already ended (idle timeout): nothing to log out of
        except Exception as exc:  # pylint: disable=broad-except  # any logout failure is only a warning
            raise self._error(_errors.TransportError, "logout failed: %s" % exc, "logout")

    def _error(self, cls, message, operation, resource=None, code=None):
        return cls(self.redact(message), operation=operation, resource=self.redact(resource or self.target), code=code)

    def fault(self, exc, operation, resource=None):
        """The typed error for a vmodl fault EXC raised by OPERATION on RESOURCE."""
        message = getattr(exc, "msg", None) or str(exc)
        cls = _errors.NotFoundError if isinstance(exc, vmodl.fault.ManagedObjectNotFound) else _errors.ApiError
        return self._error(cls, message, operation, resource, code=type(exc).__name__.split(".")[-1])

    # -- bulk reads --------------------------------------------------------------------------
    def retrieve(self, types, properties, container=None, objects=None, page_size=None):
        """Properties of many objects in as few round trips as the server allows.

        TYPES: a managed object type (``vim.VirtualMachine``) or a list of them; PROPERTIES: a list
        of property paths for every type, or a dict {type: [paths]}. Without OBJECTS, one
        ContainerView (recursive) over CONTAINER (default: the root folder) covers all TYPES in
        ONE RetrievePropertiesEx; with OBJECTS (morefs), exactly those are read. Pages are
        followed with ContinueRetrievePropertiesEx. Returns [(moref, {path: value})]; a property
        that is unset is missing from the dict.
        """
        try:
            return self._retrieve(types, properties, container, objects, page_size)
        except vim.fault.NotAuthenticated:
            # A read is safe to repeat: log in again once (the session idled out between steps).
            self.relogin()
        except (OSError, http.client.HTTPException):
            pass  # the connection dropped or the answer timed out: once more, on a new connection (pyVmomi's)
        try:
            return self._retrieve(types, properties, container, objects, page_size)
        except (OSError, http.client.HTTPException) as exc:
            raise self._error(_errors.TransportError, "connection lost: %s: %s" % (type(exc).__name__, exc),
                              "RetrievePropertiesEx", ", ".join(getattr(t, "__name__", str(t)) for t in
                                                                (types if isinstance(types, (list, tuple)) else [types])))

    def _retrieve(self, types, properties, container, objects, page_size):
        types = list(types) if isinstance(types, (list, tuple)) else [types]
        if not isinstance(properties, dict):
            properties = dict((t, list(properties)) for t in types)
        prop_specs = [vmodl.query.PropertyCollector.PropertySpec(type=t, pathSet=list(properties.get(t, [])),
                                                                 all=False) for t in types]
        view = None
        collector = self.content.propertyCollector
        try:
            if objects is not None:
                if not objects:
                    return []
                object_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=o, skip=False) for o in objects]
            else:
                view = self.content.viewManager.CreateContainerView(container or self.content.rootFolder, types, True)
                traversal = vmodl.query.PropertyCollector.TraversalSpec(name="view", path="view", skip=False,
                                                                        type=vim.view.ContainerView)
                object_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])]
            spec = vmodl.query.PropertyCollector.FilterSpec(objectSet=object_specs, propSet=prop_specs,
                                                            reportMissingObjectsInResults=False)
            options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
            out = []
            result = collector.RetrievePropertiesEx(specSet=[spec], options=options)
            while result is not None:
                for item in result.objects or []:
                    out.append((item.obj, dict((p.name, p.val) for p in item.propSet or [])))
                if not result.token:
                    break
                result = collector.ContinueRetrievePropertiesEx(token=result.token)
            return out
        except vim.fault.NotAuthenticated:
            raise
        except vmodl.MethodFault as exc:
            raise self.fault(exc, "RetrievePropertiesEx", ", ".join(t.__name__ for t in types))
        finally:
            if view is not None:
                try:
                    view.DestroyView()
                except vmodl.MethodFault:
                    pass  # the view dies with the session anyway

    # -- lookups -----------------------------------------------------------------------------
    def find(self, kind, ref, datacenter=None):
        """The moref of the KIND object named REF: a name, an inventory path or a moref id.

        KIND: one of KINDS. A path starts with "/" and names the datacenter first
        (``/DC0/vm/folder/x``, ``/DC0/host/C0/Resources``). DATACENTER (name, path or moref id)
        limits name lookups to that datacenter. One bulk read per kind, cached for the run.
        Raises NotFoundError (unknown) or ParameterError (several objects match a name).
        """
        if kind not in KINDS:
            raise _errors.ParameterError("unknown inventory kind '%s' (one of %s)" % (kind, ", ".join(sorted(KINDS))))
        ref = str(ref)
        objects = self._entities(kind)
        by_id = dict((moref._moId, moref) for moref, dummy in objects)
        if ref in by_id:
            return by_id[ref]
        if ref.startswith("/"):
            wanted = ref.rstrip("/")
            matches = [moref for moref, dummy in objects if self.path(moref) == wanted]
        else:
            matches = [moref for moref, props in objects if props.get("name") == ref]
            if datacenter is not None and matches:
                dc = datacenter if not isinstance(datacenter, str) else self.find("datacenter", datacenter)
                matches = [moref for moref in matches if self._datacenter_of(moref) == dc._moId]
        if not matches:
            where = " in datacenter %s" % datacenter if datacenter is not None and not isinstance(datacenter, vim.ManagedEntity) else ""
            raise _errors.NotFoundError("no %s '%s'%s" % (kind.replace("_", " "), ref, where),
                                        operation="find %s" % kind, resource=self.target)
        if len(matches) > 1:
            paths = sorted(self.path(moref) for moref in matches)
            raise _errors.ParameterError("%s '%s' is ambiguous, matches: %s (give a path or moref)"
                                         % (kind.replace("_", " "), ref, ", ".join(paths)))
        return matches[0]

    def _entities(self, kind):
        key = ("kind", kind)
        if key not in self._cache:
            self._cache[key] = self.retrieve(_type(KINDS[kind]), ["name", "parent"])
        return self._cache[key]

    def _tree(self):
        """{moref id: (name, parent moref id, type name)} of every entity that can be on a path."""
        if "tree" not in self._cache:
            rows = self.retrieve([_type(t) for t in _PATH_TYPES], ["name", "parent"])
            tree = {}
            for moref, props in rows:
                parent = props.get("parent")
                tree[moref._moId] = (props.get("name"), parent._moId if parent is not None else None,
                                     type(moref).__name__)
            self._cache["tree"] = tree
        return self._cache["tree"]

    def _chain(self, moref):
        """[(name, moref id, type name)] from the object up to (not including) the root folder."""
        tree = self._tree()
        kind_rows = dict((m._moId, (p.get("name"), p.get("parent"))) for k in self._cached_kinds() for m, p in k)
        chain = []
        current = moref._moId
        name, parent = kind_rows.get(current, (None, None))
        if current in tree:
            name, parent_id, dummy = tree[current]
        else:
            parent_id = parent._moId if parent is not None else None
        chain.append((name, current, type(moref).__name__))
        while parent_id is not None and parent_id in tree:
            name, next_id, type_name = tree[parent_id]
            if next_id is None:  # the root folder ("Datacenters") is not part of a path
                break
            chain.append((name, parent_id, type_name))
            parent_id = next_id
        return chain

    def _cached_kinds(self):
        return [rows for key, rows in self._cache.items() if isinstance(key, tuple) and key[0] == "kind"]

    def path(self, moref):
        """The inventory path of MOREF: ``/DC0/vm/folder/name``."""
        return "/" + "/".join(name for name, dummy, dummy2 in reversed(self._chain(moref)))

    def _datacenter_of(self, moref):
        for dummy, moref_id, type_name in self._chain(moref):
            if type_name.endswith("Datacenter"):
                return moref_id
        return None

    # -- the NSX V2T vMotion recipe (nsx.md section 6) ---------------------------------------------
    def find_vm_by_instance_uuid(self, instance_uuid):
        """One VM by ``config.instanceUuid`` or None. Keywords matter: positionally it searches BIOS UUIDs."""
        try:
            return self.content.searchIndex.FindByUuid(datacenter=None, uuid=instance_uuid, vmSearch=True,
                                                       instanceUuid=True)
        except vmodl.MethodFault as exc:
            raise self.fault(exc, "FindByUuid", instance_uuid)

    def vm_facts(self, instance_uuids):
        """{instance uuid: facts} for those of INSTANCE_UUIDS that this vCenter has, in two bulk reads.

        First the instance UUIDs of every VM (light), then devices and placement of the wanted
        ones only. Facts are plain data (see ``_nsx_plan``); the morefs and device objects needed
        to relocate are kept on the client (``vm_handle``).
        """
        wanted = set(instance_uuids)
        rows = self.vm_index()
        morefs = [moref for moref, props in rows if props.get("config.instanceUuid") in wanted]
        self._cache["bios"] = dict((props.get("config.uuid"), (moref._moId, props.get("config.instanceUuid")))
                                   for moref, props in rows if props.get("config.uuid"))
        details = self.retrieve(vim.VirtualMachine, ["name", "parent", "config.instanceUuid", "config.hardware.device",
                                                     "runtime.host", "resourcePool", "datastore", "recentTask",
                                                     "customValue"], objects=morefs)
        facts = {}
        handles = self._cache.setdefault("vm_handles", {})
        instance = self.content.about.instanceUuid
        for moref, props in details:
            uuid = props.get("config.instanceUuid")
            if not uuid:
                continue
            nics, devices = [], {}
            for device in props.get("config.hardware.device") or []:
                if isinstance(device, vim.vm.device.VirtualEthernetCard):
                    devices[str(device.key)] = device
                    nics.append({"key": str(device.key),
                                 "label": device.deviceInfo.label if device.deviceInfo else None,
                                 "backing": describe_backing(device.backing),
                                 "external_id": device.externalId})
            facts[uuid] = {"instance_uuid": uuid, "name": props.get("name"), "moref": moref._moId,
                           "vcenter": instance, "host": _moid(props.get("runtime.host")),
                           "resource_pool": _moid(props.get("resourcePool")), "folder": _moid(props.get("parent")),
                           "datastores": sorted(_moid(ds) for ds in props.get("datastore") or []), "nics": nics,
                           "tasks": [task._moId for task in props.get("recentTask") or []],
                           "custom": custom_values(props.get("customValue"))}
            handles[uuid] = (moref, devices)
        return facts

    def vm_index(self, keep=False):
        """[(moref, {"name", "config.instanceUuid", "config.uuid"})] of every VM: ONE bulk read.

        KEEP: keep it for the next call (name resolution, then the first ``vm_facts``, share one
        read); otherwise a kept index is used once and every later call reads again.
        """
        rows = self._cache.pop("vm_index", None)
        if rows is None:
            rows = self.retrieve(vim.VirtualMachine, ["name", "config.instanceUuid", "config.uuid"])
        if keep:
            self._cache["vm_index"] = rows
        return rows

    def resolve_vms(self, refs):
        """{ref: [instance uuids]} for each of REFS (VM names or instance UUIDs) this vCenter has, from ONE read.

        A ref that is a VM's instance UUID gives that VM; otherwise the VMs named so (several: ambiguous,
        none: absent from the result). The read is kept for the next ``vm_facts``.
        """
        rows = self.vm_index(keep=True)
        by_uuid = set(props.get("config.instanceUuid") for dummy, props in rows)
        by_name = {}
        for dummy, props in rows:
            if props.get("config.instanceUuid"):
                by_name.setdefault(props.get("name"), []).append(props["config.instanceUuid"])
        self._cache["bios"] = dict((props.get("config.uuid"), (moref._moId, props.get("config.instanceUuid")))
                                   for moref, props in rows if props.get("config.uuid"))
        out = {}
        for ref in refs:
            if ref in by_uuid:
                out[ref] = [ref]
            elif ref in by_name:
                out[ref] = sorted(by_name[ref])
        return out

    def names(self, ids_by_kind):
        """{moref id: name} of the objects of IDS_BY_KIND ({"host" | "resource_pool" | "folder" | "datastore" |
        "dvpg": moref ids}), in ONE read; {} when it fails (names are only for people to read)."""
        types = dict(KINDS, dvpg="dvs.DistributedVirtualPortgroup")
        objects, kinds = [], set()
        for kind, ids in ids_by_kind.items():
            cls = vim.dvs.DistributedVirtualPortgroup if kind == "dvpg" else _type(types[kind])
            for moref_id in sorted(set(i for i in ids if i)):
                objects.append(cls(moref_id, self.stub))
                kinds.add(cls)
        if not objects:
            return {}
        try:
            rows = self.retrieve(sorted(kinds, key=lambda t: t.__name__), ["name"], objects=objects)
        except _errors.MigrationError:
            return {}
        return dict((moref._moId, props.get("name")) for moref, props in rows)

    def bios_uuid_owner(self, uuid):
        """(VM moref id, its instance UUID) of the VM whose BIOS UUID is UUID (read by ``vm_facts``), or None."""
        return self._cache.get("bios", {}).get(uuid)

    def relocations_in_flight(self, facts):
        """{instance uuid: task id} of the relocations queued or running for the VMs of FACTS.

        From each VM's ``recentTask`` (read by ``vm_facts``, so free) and ONE read of those tasks'
        state; whichever session started them (an earlier, killed run included).
        """
        tasks = dict((task_id, uuid) for uuid, vm in facts.items() if vm["vcenter"] == self.content.about.instanceUuid
                     for task_id in vm.get("tasks") or [])
        if not tasks:
            return {}
        rows = self.retrieve(vim.Task, ["info.state", "info.descriptionId", "info.entity"],
                             objects=[self.task(task_id) for task_id in tasks])
        out = {}
        for moref, props in rows:
            uuid = tasks.get(moref._moId)
            entity = _moid(props.get("info.entity"))
            if (props.get("info.descriptionId") == RELOCATE_DESCRIPTION and props.get("info.state") in ("queued", "running")
                    and uuid is not None and entity == facts[uuid]["moref"]):
                out[uuid] = moref._moId
        return out

    def task(self, task_id):
        """The vim.Task moref of TASK_ID on this vCenter."""
        return vim.Task(task_id, self.content.taskManager._stub)

    # -- custom attributes: the module's readable markers ------------------------------------
    def custom_field_key(self, name, mo_type="VirtualMachine", create=False):
        """The key of the custom attribute NAME (one read of the definitions, cached); None if absent.

        CREATE defines it (for MO_TYPE) when missing; a definition made meanwhile by another run is fine.
        """
        manager = self.content.customFieldsManager
        if manager is None:
            raise self._error(_errors.ApiError, "this endpoint has no custom attributes (not a vCenter?)", "read custom attributes")
        if "fields" not in self._cache:
            rows = self.retrieve(vim.CustomFieldsManager, ["field"], objects=[manager])
            fields = rows[0][1].get("field") if rows else []
            self._cache["fields"] = dict((field.name, field.key) for field in fields or [])
        key = self._cache["fields"].get(name)
        if key is None and create:
            try:
                key = self.with_session(manager.AddCustomFieldDef, name=name, moType=getattr(vim, mo_type)).key
            except vim.fault.DuplicateName:
                del self._cache["fields"]
                return self.custom_field_key(name, mo_type)
            except vmodl.MethodFault as exc:
                raise self.fault(exc, "AddCustomFieldDef", name)
            self._cache["fields"][name] = key
        return key

    def set_custom_value(self, moref, key, value):
        """Set custom attribute KEY of the entity MOREF (a moref or a VM's instance UUID) to VALUE."""
        if isinstance(moref, str):
            moref = self.vm_handle(moref)[0]
        try:
            self.with_session(self.content.customFieldsManager.SetField, entity=moref, key=key, value=value)
        except vmodl.MethodFault as exc:
            raise self.fault(exc, "SetField", moref._moId)

    def marker(self, vm, field):
        """The value of custom attribute FIELD on VM (facts from ``vm_facts``: no call but the definitions' read)."""
        key = self.custom_field_key(field)
        return vm["custom"].get(key) if key is not None else None

    def entity_marker(self, moref, field):
        """The value of custom attribute FIELD on the entity MOREF (one read, none if FIELD is not defined)."""
        key = self.custom_field_key(field)
        return self.entity_custom_values(moref).get(key) if key is not None else None

    def set_marker(self, entity, field, value, mo_type="VirtualMachine"):
        """Set custom attribute FIELD (defined for MO_TYPE when missing) of ENTITY (a moref or a VM's instance UUID)."""
        self.set_custom_value(entity, self.custom_field_key(field, mo_type=mo_type, create=True), value)

    def entity_custom_values(self, moref):
        """{key: value} of the custom attributes of MOREF (one read)."""
        rows = self.retrieve(type(moref), ["customValue"], objects=[moref])
        return custom_values(rows[0][1].get("customValue")) if rows else {}

    def vm_handle(self, instance_uuid):
        """(VM moref, {device key: device}) of a VM returned by ``vm_facts``."""
        return self._cache["vm_handles"][instance_uuid]

    def nsx_networks(self):
        """The NSX segments this vCenter offers, from ONE PropertyCollector round trip.

        Returns (dvpgs, opaque): dvpgs = {logicalSwitchUuid: {"key", "switch_uuid", "name",
        "dvs_version"}} for DVPGs with backingType "nsx" and a logicalSwitchUuid; opaque =
        {opaqueNetworkId: name} for nsx.LogicalSwitch opaque networks.
        """
        if "nsx_networks" in self._cache:
            return self._cache["nsx_networks"]
        dvpg, dvs, opaque = vim.dvs.DistributedVirtualPortgroup, vim.DistributedVirtualSwitch, vim.OpaqueNetwork
        rows = self.retrieve([dvpg, dvs, opaque], {
            dvpg: ["name", "key", "config.backingType", "config.logicalSwitchUuid", "config.distributedVirtualSwitch"],
            dvs: ["uuid", "summary.productInfo.version"],
            opaque: ["name", "summary.opaqueNetworkId", "summary.opaqueNetworkType"]})
        switches = dict((moref._moId, props) for moref, props in rows if isinstance(moref, dvs))
        dvpgs, opaque_ids = {}, {}
        for moref, props in rows:
            if isinstance(moref, dvpg):
                ls_id = (props.get("config.logicalSwitchUuid") or "").strip()
                if props.get("config.backingType") != "nsx" or not ls_id:
                    continue
                switch = switches.get(_moid(props.get("config.distributedVirtualSwitch")), {})
                dvpgs[ls_id] = {"key": props.get("key"), "switch_uuid": switch.get("uuid"), "name": props.get("name"),
                                "dvs_version": switch.get("summary.productInfo.version")}
            elif isinstance(moref, opaque) and props.get("summary.opaqueNetworkType", "nsx.LogicalSwitch") == "nsx.LogicalSwitch":
                opaque_ids[props.get("summary.opaqueNetworkId")] = props.get("name")
        self._cache["nsx_networks"] = (dvpgs, opaque_ids)
        return dvpgs, opaque_ids

    def resolve_placement(self, options, datacenter=None, cross_vcenter=False):
        """(placement of moref ids for ``_nsx_plan``, {moref id: moref}) from the target options.

        OPTIONS: {kind: (option name, value)} for host, cluster, resource_pool, datastore, folder
        (unset ones omitted); DATACENTER: (option name, value) or None. A name that matches nothing
        or several objects raises ParameterError naming its option. Cross-vCenter, the resource
        pool and folder default to the host's or cluster's root pool and datacenter VM folder.
        """
        def find(kind, option, value, dc=None):
            try:
                return self.find(kind, value, datacenter=dc)
            except _errors.NotFoundError as error:
                raise _errors.ParameterError("parameter '%s' is wrong: %s on the target %s" % (option, error.message, self.target))
            except _errors.ParameterError as error:
                raise _errors.ParameterError("parameter '%s' is ambiguous: %s" % (option, error))
        dc = find("datacenter", datacenter[0], datacenter[1]) if datacenter else None
        found = dict((kind, find(kind, option, value, dc)) for kind, (option, value) in options.items())
        derived = {}
        if "host" in found or "cluster" in found:
            derived = self.placement_facts(host=found.get("host"), cluster=found.get("cluster"))
        pool, folder = found.get("resource_pool"), found.get("folder")
        if cross_vcenter:
            pool, folder = pool or derived.get("resource_pool"), folder or derived.get("folder")
            if pool is None or folder is None:
                raise _errors.ParameterError("parameter '%s' could not be derived from the target host or cluster; give it"
                                             % ("target_resource_pool" if pool is None else "target_folder"))
        morefs = dict((m._moId, m) for m in [found.get("host"), pool, found.get("datastore"), folder]
                      + list(derived.get("hosts") or []) if m is not None)
        placement = {"vcenter": self.content.about.instanceUuid, "cross_vcenter": cross_vcenter,
                     "host": _moid(found.get("host")), "resource_pool": _moid(pool), "datastore": _moid(found.get("datastore")),
                     "folder": _moid(folder),
                     "hosts": [h._moId for h in derived.get("hosts") or []] if "cluster" in found else []}
        return placement, morefs

    def checked_locator(self, thumbprint=None, option="target_vcenter_thumbprint"):
        """``service_locator`` after checking that a given THUMBPRINT is the one this vCenter presents."""
        actual = self.thumbprint()
        if thumbprint and thumbprint.replace(":", "").upper() != actual.replace(":", "").upper():
            raise _errors.ParameterError("parameter '%s' is not the thumbprint of the certificate %s presents (%s); the "
                                         "vMotion would fail with SSLVerifyFault" % (option, self.target, actual))
        return self.service_locator(thumbprint or actual)

    def placement_facts(self, host=None, cluster=None):
        """Hosts of CLUSTER, root pool of HOST's or CLUSTER's compute resource and the datacenter's VM folder.

        One bulk read of the compute resources and one of the datacenters (both cached).
        """
        if "compute" not in self._cache:
            rows = self.retrieve(vim.ComputeResource, ["host", "resourcePool"])
            self._cache["compute"] = dict((m._moId, (m, p)) for m, p in rows)
        compute = self._cache["compute"]
        owner = None
        if cluster is not None:
            owner = compute.get(cluster._moId)
        elif host is not None:
            owner = next((row for row in compute.values() if host._moId in [h._moId for h in row[1].get("host", [])]), None)
        anchor = cluster or host
        folder = None
        if anchor is not None:
            if "dc_folders" not in self._cache:
                self._cache["dc_folders"] = dict((m._moId, p.get("vmFolder")) for m, p in self.retrieve(vim.Datacenter, ["vmFolder"]))
            folder = self._cache["dc_folders"].get(self._datacenter_of(anchor))
        return {"hosts": list(owner[1].get("host", [])) if owner else [],
                "resource_pool": owner[1].get("resourcePool") if owner else None,
                "folder": folder}

    def service_locator(self, thumbprint=None):
        """A vim.ServiceLocator for THIS vCenter as the target of a cross-vCenter relocation."""
        return vim.ServiceLocator(instanceUuid=self.content.about.instanceUuid,
                                  url="https://%s:%s/sdk" % (self.hostname, self.port),
                                  credential=vim.ServiceLocator.NamePassword(username=self.username, password=self.password),
                                  sslThumbprint=thumbprint or self.thumbprint())

    def thumbprint(self):
        """SHA-1 of this vCenter's DER certificate, as colon-separated upper-case hex pairs."""
        if "thumbprint" not in self._cache:
            self._cache["thumbprint"] = fetch_thumbprint(self.hostname, self.port,
                                                         ssl_context(self.validate_certs, self.ca_path), self.connect_timeout)
        return self._cache["thumbprint"]

    def relocate(self, instance_uuid, nic_changes, host=None, pool=None, datastore=None, folder=None, service=None):
        """Start RelocateVM_Task for a VM from ``vm_facts``; return the task moref.

        NIC_CHANGES: [{"key": "4000", "after": {backing}, "external_id": "uuid:4000"}] as ``_nsx_plan`` plans them.
        """
        moref, devices = self.vm_handle(instance_uuid)
        spec = vim.vm.RelocateSpec(host=host, pool=pool, datastore=datastore, folder=folder, service=service)
        spec.deviceChange = []
        for change in nic_changes:
            device = devices[change["key"]]
            device.backing = nic_backing(change["after"])
            device.externalId = change["external_id"]
            spec.deviceChange.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=device))
        try:
            return self.with_session(moref.RelocateVM_Task, spec=spec, priority="highPriority")
        except vmodl.MethodFault as exc:
            raise self.fault(exc, "RelocateVM_Task", instance_uuid)


RELOCATE_DESCRIPTION = "VirtualMachine.relocate"  # info.descriptionId of a RelocateVM_Task


def custom_values(values):
    """{key: value} of a customValue list; the last value of a key wins (vcsim appends on every SetField)."""
    out = {}
    for value in values or []:
        out[value.key] = getattr(value, "value", None)
    return out


def fault_message(fault):
    """A readable message of a vmodl fault (task info.error): its text and its type name."""
    if fault is None:
        return "unknown error"
    name = type(fault).__name__.split(".")[-1]
    text = getattr(fault, "msg", None) or getattr(fault, "localizedMessage", None)
    if not text and getattr(fault, "faultMessage", None):
        text = "; ".join(m.message for m in fault.faultMessage if getattr(m, "message", None))
    return "%s: %s" % (name, text) if text else name


def describe_backing(backing):
    """A vNIC backing as plain data: {"type": "dvpg"|"opaque"|"network"|<class>, ...ids}."""
    if isinstance(backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
        port = backing.port
        return {"type": "dvpg", "portgroup_key": port.portgroupKey if port else None,
                "switch_uuid": port.switchUuid if port else None}
    if isinstance(backing, vim.vm.device.VirtualEthernetCard.OpaqueNetworkBackingInfo):
        return {"type": "opaque", "opaque_network_id": backing.opaqueNetworkId,
                "opaque_network_type": backing.opaqueNetworkType}
    if isinstance(backing, vim.vm.device.VirtualEthernetCard.NetworkBackingInfo):
        return {"type": "network", "network": backing.deviceName}
    return {"type": type(backing).__name__.split(".")[-1] if backing is not None else None}


def nic_backing(backing):
    """The pyVmomi backing object for a planned backing (``describe_backing`` form)."""
    card = vim.vm.device.VirtualEthernetCard
    if backing["type"] == "dvpg":
        return card.DistributedVirtualPortBackingInfo(
            port=vim.dvs.PortConnection(portgroupKey=backing["portgroup_key"], switchUuid=backing["switch_uuid"]))
    if backing["type"] == "opaque":
        return card.OpaqueNetworkBackingInfo(opaqueNetworkId=backing["opaque_network_id"],
                                             opaqueNetworkType=backing.get("opaque_network_type") or "nsx.LogicalSwitch")
    raise _errors.ParameterError("cannot build a vNIC backing of type %s" % backing["type"])


def fetch_thumbprint(host, port, context, timeout=30):
    """SHA-1 of the DER certificate HOST:PORT presents (through CONTEXT, so verified if it verifies)."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        raise _errors.TransportError("cannot read the certificate: %s" % exc, operation="fetch SSL thumbprint",
                                     resource="%s:%s" % (host, port))
    digest = hashlib.sha1(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _moid(moref):
    return moref._moId if moref is not None else None


# -- for the wave_plan inventory plugin (no module: the same VMWARE_* variables, read directly) ---
def vsphere_from_environment(environ):
    """(VSphere, "host:port"), not yet connected, from the VMWARE_* variables the modules fall back to."""
    port = environ.get("VMWARE_PORT") or "443"
    options = {"hostname": environ.get("VMWARE_HOST"), "username": environ.get("VMWARE_USER"),
               "password": environ.get("VMWARE_PASSWORD"), "port": int(port) if port.isdigit() else 443,
               "validate_certs": (environ.get("VMWARE_VALIDATE_CERTS") or "true").strip().lower()
               in ("1", "true", "yes", "on", "y", "t"),
               "ca_path": environ.get("VMWARE_CA_CERT") or None,
               "proxy_host": environ.get("VMWARE_PROXY_HOST") or None, "proxy_port": environ.get("VMWARE_PROXY_PORT") or None}
    where = "%s:%s" % (options["hostname"] or "", options["port"])
    for name in VSPHERE_REQUIRED:
        if not options[name]:
            raise _errors.ParameterError("VMWARE_%s is not set" % {"hostname": "HOST", "username": "USER"}.get(name, "PASSWORD"))
    return VSphere(redactor=Redactor([options["password"]]), **options), where


def locate_vms(client, refs):
    """{ref: [{"id": instance UUID, "name", "location": ESXi host name}]} for REFS (VM names or instance
    UUIDs): ONE bulk read of every VM's name, instance UUID and host, then one read of those hosts' names."""
    refs = set(refs)
    matched = []
    for dummy, props in client.retrieve(vim.VirtualMachine, ["name", "config.instanceUuid", "runtime.host"]):
        uuid = props.get("config.instanceUuid")
        for ref in set([props.get("name"), uuid]) & refs:
            matched.append((ref, uuid, props.get("name"), _moid(props.get("runtime.host"))))
    hosts = client.names({"host": [host for dummy, dummy2, dummy3, host in matched]})
    found = {}
    for ref, uuid, name, host in matched:
        found.setdefault(ref, []).append({"id": uuid, "name": name, "location": hosts.get(host, host)})
    return found
