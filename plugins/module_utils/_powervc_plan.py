# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure PowerVC planning: VSN and host (MTMS) syntax, reading raw API JSON, desired changes.

API data in, decisions out; no I/O. The rules are those of IBM's PowerVC API documentation
(virtual serial number APIs, hosts, servers): parse every documented variant, never assume one MTMS form.
"""

from __future__ import annotations

import re

from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import (
    ApiError, ParameterError, TransportError)

AUTO = "auto"
VSN_PATTERN = re.compile(r"[A-Z0-9]{7}\Z")
# HMC form TTTT-MMM*SSSSSSS and PowerVC host name form TTTTMMM_SSSSSSS; serials are 7 in every
# IBM example, but nothing promises it, so any length of alphanumerics is accepted.
_MTMS_FORMS = (re.compile(r"([A-Z0-9]{4})-([A-Z0-9]{3})\*([A-Z0-9]+)\Z"),
               re.compile(r"([A-Z0-9]{4})([A-Z0-9]{3})_([A-Z0-9]+)\Z"))
_NO_VSN = ("", "none", "null")
_VSN_KEYS = ("virtual_serial_number", "powervm:virtual_serial_number", "vsn")
VSN_FIELDS = _VSN_KEYS + ("metadata",)  # where a server object may carry its VSN
_LIST_SERIAL_KEYS = ("virtual_serial_number", "vsn", "serial", "serial_number", "name")
_LIST_HOST_KEYS = ("host", "host_mtms", "mtms", "host_name")


# -- VSN syntax --------------------------------------------------------------------------------
def normalize_vsn(value, name="vsn", allow_auto=False):
    """VALUE upper-cased if it is 7 alphanumerics (or ``auto`` when allowed); else ParameterError."""
    text = str(value or "").strip()
    if allow_auto and text.lower() == AUTO:
        return AUTO
    upper = text.upper()
    if not VSN_PATTERN.match(upper):
        expected = "7 letters or digits%s" % (", or 'auto'" if allow_auto else "")
        raise ParameterError("parameter '%s' must be %s; got %r" % (name, expected, value))
    return upper


# -- hosts (MTMS) ---------------------------------------------------------------------------------
def parse_mtms(text):
    """(type, model, serial) upper-cased from either MTMS form, or None when TEXT is neither."""
    if not isinstance(text, str):
        return None
    upper = text.strip().upper()
    for form in _MTMS_FORMS:
        match = form.match(upper)
        if match:
            return match.groups()
    return None


def host_key(text):
    """The canonical key ``TTTTMMM_SERIAL`` of an MTMS in either form, or None."""
    parts = parse_mtms(text)
    return "%s%s_%s" % parts if parts else None


def hmc_form(text):
    """The HMC form ``TTTT-MMM*SERIAL`` of an MTMS in either form, or None."""
    parts = parse_mtms(text)
    return "%s-%s*%s" % parts if parts else None


def same_host(first, second):
    """True when two host ids name the same machine (their canonical keys match)."""
    key = host_key(first)
    return key is not None and key == host_key(second)


def hosts_from_hypervisors(body):
    """[{"name": service.host, "key", "display_name", "hypervisor_hostname"}] from os-hypervisors/detail."""
    hosts = []
    items = body.get("hypervisors") if isinstance(body, dict) else None
    for item in items or []:
        service = item.get("service") if isinstance(item, dict) else None
        if not isinstance(service, dict) or not service.get("host"):
            continue
        hosts.append({"name": service["host"], "key": host_key(service["host"]),
                      "display_name": service.get("host_display_name"),
                      "hypervisor_hostname": item.get("hypervisor_hostname")})
    return hosts


def resolve_host(text, hosts, name="host"):
    """The entry of HOSTS (see hosts_from_hypervisors) that TEXT names, else ParameterError.

    TEXT is an MTMS in either form (matched on the canonical key), a PowerVC display name, or a
    hypervisor host name. HOSTS None means the hypervisor list is not readable (non-admin
    user): an MTMS is then taken as written, a display name cannot be resolved.
    """
    key = host_key(text)
    if hosts is None:
        if key is None:
            raise ParameterError("parameter '%s': %r is not an MTMS (TTTT-MMM*SSSSSSS or TTTTMMM_SSSSSSS) and "
                                 "display names need the hypervisor list, which this user may not read"
                                 % (name, text))
        return {"name": key, "key": key, "display_name": None, "hypervisor_hostname": None}
    if key is not None:
        found = [h for h in hosts if h["key"] == key]
    else:
        found = [h for h in hosts if text in (h["display_name"], h["hypervisor_hostname"])]
        if not found:  # display names are typed by people; accept another case if it is unique
            found = [h for h in hosts if str(text).lower() in
                     (str(h["display_name"]).lower(), str(h["hypervisor_hostname"]).lower())]
    if len(found) > 1:
        raise ParameterError("parameter '%s': %r matches several hosts: %s"
                             % (name, text, ", ".join(sorted(h["name"] for h in found))))
    if not found:
        known = ", ".join("%s (%s)" % (h["name"], h["display_name"]) for h in hosts) or "none"
        raise ParameterError("parameter '%s': no PowerVC host %r; known hosts: %s" % (name, text, known))
    return found[0]


def display_name(host_id, hosts):
    """The PowerVC display name of the host HOST_ID (any MTMS form), or None when unknown or not readable."""
    if not host_id:
        return None
    for host in hosts or []:
        if host["name"] == host_id or (host["key"] and host["key"] == host_key(host_id)):
            return host["display_name"]
    return None


def host_label(host_id, hosts):
    """HOST_ID with its display name for messages: ``prod-p10-a (9080HEX_1234ABC)``; the id alone if unknown."""
    name = display_name(host_id, hosts)
    return "%s (%s)" % (name, host_id) if name and name != host_id else str(host_id)


def vm_label(server):
    """A server for messages and diff keys: ``ibmi-test-02 (3f9d2a1c…)``, name beside a short id."""
    name, server_id = server.get("name"), str(server.get("id") or "")
    short = server_id[:8] + "…" if len(server_id) > 9 else server_id
    if name and short:
        return "%s (%s)" % (name, short)
    return name or server_id or "?"


def changes(before, after):
    """(before, after) restricted to the keys whose value differs: a diff lists only what changes.

    A key absent (or None) on one side is left out of that side, never shown as null.
    """
    keys = [k for k in list(before) + [k for k in after if k not in before] if before.get(k) != after.get(k)]
    return (dict((k, before[k]) for k in keys if before.get(k) is not None),
            dict((k, after[k]) for k in keys if after.get(k) is not None))


def fill_endpoint_template(url, project_id):
    """A catalog URL with its tenant placeholder filled in; PowerVC registers ``%(tenant_id)s`` templates."""
    for placeholder in ("%(tenant_id)s", "$(tenant_id)s", "%(project_id)s", "$(project_id)s"):
        url = url.replace(placeholder, project_id or "")
    return url


# -- reading raw API JSON ------------------------------------------------------------------------
def _clean_vsn(value):
    if value is None or (isinstance(value, str) and value.strip().lower() in _NO_VSN):
        return None
    return str(value).strip().upper()


def server_vsn(server):
    """The VSN of a raw server object, or None; every key and 'no VSN' spelling of section 8."""
    places = [server] + ([server["metadata"]] if isinstance(server.get("metadata"), dict) else [])
    for place in places:
        for key in _VSN_KEYS:
            if key in place:
                vsn = _clean_vsn(place[key])
                if vsn:
                    return vsn
    return None


def parse_vsn_list(body):
    """(records, surprising) from GET /virtual-serial-number.

    Records are {"virtual_serial_number", "host", "description"}; SURPRISING is True when the
    body did not have the assumed shape (the caller logs the raw JSON then).
    """
    items, surprising = None, False
    if isinstance(body, list):
        items, surprising = body, True
    elif isinstance(body, dict):
        if isinstance(body.get("virtual_serial_numbers"), list):
            items = body["virtual_serial_numbers"]
        else:
            # Any key holding a list: the first one whose items parse as VSNs, else the first list.
            lists = [value for value in body.values() if isinstance(value, list)]
            items = next((value for value in lists if _records(value)[0]), lists[0] if lists else None)
            surprising = True
    elif body is not None:
        surprising = True
    records, odd = _records(items or [])
    return records, surprising or odd


def _records(items):
    """(records, odd) from the items of a VSN list; ODD when some item was not a VSN record."""
    records, odd = [], False
    for item in items:
        if isinstance(item, str):
            item = {"virtual_serial_number": item}
            odd = True
        if not isinstance(item, dict):
            odd = True
            continue
        serial = next((item[k] for k in _LIST_SERIAL_KEYS if _clean_vsn(item.get(k))), None)
        if serial is None:
            odd = True
            continue
        host = next((item[k] for k in _LIST_HOST_KEYS if item.get(k)), None)
        records.append({"virtual_serial_number": _clean_vsn(serial), "host": host,
                        "description": item.get("description") or ""})
    return records, odd


def find_reserved(records, vsn):
    return next((r for r in records if r["virtual_serial_number"] == vsn), None)


def find_server(ref, servers, name="vm"):
    """The server whose id or name is REF; ParameterError when none or several match."""
    by_id = [s for s in servers if s.get("id") == ref]
    if by_id:
        return by_id[0]
    by_name = [s for s in servers if s.get("name") == ref]
    if len(by_name) > 1:
        raise ParameterError("parameter '%s': the name %r is ambiguous, %d servers have it (ids %s); give the id"
                             % (name, ref, len(by_name), ", ".join(s.get("id", "?") for s in by_name)))
    if not by_name:
        raise ParameterError("parameter '%s': no server with id or name %r" % (name, ref))
    return by_name[0]


def server_summary(server, hosts=None):
    """What the modules return about a server: its name beside its id, its host's display name beside the host."""
    host = server.get("OS-EXT-SRV-ATTR:host")
    return {"id": server.get("id"), "name": server.get("name"), "status": server.get("status"),
            "host": host, "host_display_name": display_name(host, hosts), "virtual_serial_number": server_vsn(server)}


# -- plans ---------------------------------------------------------------------------------------
def plan_reserve(vsn, description, listed):
    """The call that makes VSN reserved with DESCRIPTION (None: any), given the listed record or None."""
    if listed is None:
        return "reserve"
    if description is not None and listed["description"] != description:
        return "update_reservation"
    return None


def plan_unreserve(listed):
    return "unreserve" if listed is not None else None


def plan_assign(server, wanted, name="vm", servers=(), reserved=()):
    """'assign_vsn' when SERVER must get WANTED (a VSN or 'auto'); None when it already has it.

    A server with another VSN is an error: replacing an IBM i serial changes its licence, so
    the user must unassign first. A server that is not SHUTOFF is an error too, and so is a VSN
    that another of SERVERS already uses, and one RESERVED on another host than the server's.
    """
    current = server_vsn(server)
    if current and (wanted == AUTO or current == wanted):
        return None
    if current:
        raise ParameterError("parameter '%s': server %s already has VSN %s; unassign it first (state: unassigned) "
                             "to give it %s" % (name, server.get("name"), current, wanted))
    user = next((s for s in servers if wanted != AUTO and s.get("id") != server.get("id") and server_vsn(s) == wanted),
                None)
    if user is not None:
        raise ParameterError("parameter 'vsn': VSN %s is in use by server %s; unassign it there first"
                             % (wanted, user.get("name")))
    record = find_reserved(reserved, wanted) if wanted != AUTO else None
    host = server.get("OS-EXT-SRV-ATTR:host")
    if record is not None and record.get("host") and host and not same_host(record["host"], host):
        raise ParameterError("parameter 'vsn': VSN %s is reserved on host %s, not on host %s of server %s; move it "
                             "there first (state: moved)" % (wanted, record["host"], host, server.get("name")))
    require_shutoff(server, "assign a VSN to", name)
    return "assign_vsn"


def plan_unassign(server, vsn=None, name="vm"):
    """'unassign_vsn' when SERVER has a VSN (VSN, when given, must be that one); else None."""
    current = server_vsn(server)
    if current is None or (vsn is not None and current != vsn):
        return None
    require_shutoff(server, "unassign the VSN of", name)
    return "unassign_vsn"


def require_shutoff(server, what, name="vm"):
    status = server.get("status")
    if status != "SHUTOFF":
        raise ParameterError("parameter '%s': cannot %s server %s while it is %s; stop the VM first (it must be "
                             "SHUTOFF)" % (name, what, server.get("name"), status or "in an unknown state"))


def plan_move(vsns, source, target, records):
    """Which VSNs to move from host SOURCE to TARGET (host keys), given the reserved RECORDS.

    VSNS None means every VSN reserved on SOURCE. Returns {"move": [...], "already": [...],
    "unlisted": [...]}: ``already`` are listed on TARGET (nothing to do), ``unlisted`` are not in
    the reserved list at all, so they are sent but cannot be confirmed afterwards. A VSN listed
    on a third host is an error.
    """
    by_vsn = {r["virtual_serial_number"]: r for r in records}
    if vsns is None:
        vsns = sorted(v for v, r in by_vsn.items() if same_host(r["host"], source))
    plan = {"move": [], "already": [], "unlisted": []}
    for vsn in vsns:
        record = by_vsn.get(vsn)
        if record is None:
            plan["move"].append(vsn)
            plan["unlisted"].append(vsn)
        elif same_host(record["host"], target):
            plan["already"].append(vsn)
        elif same_host(record["host"], source):
            plan["move"].append(vsn)
        else:
            raise ParameterError("parameter 'vsns': VSN %s is reserved on host %s, not on source_host %s"
                                 % (vsn, record["host"], source))
    return plan


def move_progress(vsns, source, target, records):
    """Where each VSN of VSNS is per the reserved RECORDS: {"on_target", "on_source", "elsewhere", "unlisted"}."""
    by_vsn = {r["virtual_serial_number"]: r for r in records}
    progress = {"on_target": [], "on_source": [], "elsewhere": [], "unlisted": []}
    for vsn in vsns:
        record = by_vsn.get(vsn)
        if record is None:
            progress["unlisted"].append(vsn)
        elif same_host(record["host"], target):
            progress["on_target"].append(vsn)
        elif same_host(record["host"], source):
            progress["on_source"].append(vsn)
        else:
            progress["elsewhere"].append(vsn)
    return progress


def moved_pending(vsns, target, records):
    """The VSNs of VSNS not yet listed on TARGET (a host key)."""
    on_target = set(r["virtual_serial_number"] for r in records if same_host(r["host"], target))
    return [v for v in vsns if v not in on_target]


def vsn_state(vsn, listed, servers, hosts=None):
    """A VSN's state for results and diffs: reservation, host (and its display name), description, the server using it."""
    user = next((s for s in servers if server_vsn(s) == vsn), None)
    host = listed["host"] if listed else (user or {}).get("OS-EXT-SRV-ATTR:host")
    return {"virtual_serial_number": vsn, "reserved": listed is not None,
            "host": host, "host_display_name": display_name(host, hosts),
            "description": listed["description"] if listed else None,
            "server": {"id": user.get("id"), "name": user.get("name")} if user else None}


# -- outcomes of mutating calls ------------------------------------------------------------------
# Longest time a change that PowerVC may already have made is looked for before the call is sent
# again. The move and the assign/unassign answers are "accepted" and the change shows in GET after
# a delay that IBM does not bound (powervc.md sections 6 and 7): re-reading for a while is the only
# way to tell "lost answer, the work is done or under way" from "the call never took effect".
SETTLE_SECONDS = 30.0
# Polls of a VSN list or a server: IBM's guidance is every 10 s at most (powervc.md section 6).
POLL_MAXIMUM = 10.0
_HOST_UNKNOWN = re.compile(r"(?i)host.*(could not be found|not found|unknown|does not exist|no such)|"
                           r"(unknown|no such|invalid) (compute )?host")


def settle_window(remaining):
    """How long to re-read before resending after an uncertain answer: SETTLE_SECONDS, at most half of
    REMAINING (the rest of the user's timeout is kept for the resent call)."""
    return max(0.0, min(SETTLE_SECONDS, remaining / 2.0))


def outcome_of(error):
    """What a failed mutating call tells: 'uncertain' (the server may have acted: lost or reset
    connection, read timeout, any 5xx), 'refused' (a 400/404/409 about the objects: nothing done now,
    maybe because the change is already under way), else 'failed' (auth, policy: nothing done)."""
    if isinstance(error, TransportError):
        return "uncertain"
    if isinstance(error, ApiError) and error.status is not None:
        if error.status >= 500:
            return "uncertain"
        if error.status in (400, 404, 409):
            return "refused"
    return "failed"


def host_unknown(error, vsns):
    """True when a refused move says that a host is unknown (then the HMC MTMS form is worth a try).

    The emulator's (and Nova's) answer for an unknown host is 404 "Compute host X could not be
    found."; a 400/404 that names one of the VSNS is about the VSNs, not the host form.
    """
    if not isinstance(error, ApiError) or error.status not in (400, 404):
        return False
    text = str(error.api_message or error.message or "")
    if any(vsn in text for vsn in vsns):
        return False
    return bool(_HOST_UNKNOWN.search(text)) or (error.status == 404 and "host" in text.lower())


def move_outcomes(involved, result, error, labels, started, ended):
    """Per-VSN outcomes of a move, in the collection's bulk shape, from the move's RESULT fields.

    RESULT: the module's lists (already_on_target, moved, adopted, pending, unverified); ERROR the
    failure of the run or None; LABELS (source, target) as readable host names; STARTED {vsn: epoch
    seconds its move was sent (or its adoption watched)}; ENDED epoch seconds of the read that showed
    the moves done. A VSN to move that is none of those failed (its call was refused or never sent).
    """
    outcomes = {}
    for vsn in involved:
        if vsn in result.get("already_on_target", ()):
            outcome = "unchanged"
        elif vsn in result.get("adopted", ()):
            outcome = "adopted"
        elif vsn in result.get("moved", ()):
            outcome = "moved"
        elif vsn in result.get("pending", ()):
            outcome = "in_progress"
        elif vsn in result.get("unverified", ()):
            outcome = "unverified"
        else:
            outcome = "failed"
        done = outcome in ("moved", "adopted", "unverified")
        outcomes[vsn] = {"name": vsn, "outcome": outcome, "from": labels[0], "to": labels[1], "jobs": [],
                         "error": str(error) if outcome in ("failed", "in_progress") and error is not None else "",
                         "started": started.get(vsn) if outcome != "unchanged" else None,
                         "ended": ended if done and started.get(vsn) is not None else None}
    return outcomes
