# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migration report: task results of this collection's modules -> object rows -> JSON, Markdown, HTML.

Pure code (no Ansible objects), used by the ``migration_report`` callback plugin:

* ``object_rows(module, result, started, ended)``: one row per object a task touched (platform,
  object name and id, from, to, outcome, start, end, duration, job / task ids, error), read from
  the module's own result, which Ansible has already masked (no_log values never reach it).
* ``render_json``, ``render_markdown``, ``render_html``: the report; the HTML page is one
  self-contained file (inline CSS, an inline SVG timeline, no script, no external resource) that a
  change ticket can carry.
"""

from __future__ import annotations

import datetime
import html
import json

PREFIX = "hybridcloud.migration."
PLATFORMS = (("nsx_", "NSX-T"), ("vcenter_", "vCenter"), ("zstack_", "ZStack"), ("powervc_", "PowerVC"))
COLUMNS = ("platform", "object", "id", "from", "to", "outcome", "start", "end", "duration", "jobs", "error")
# The modules that only read: they touch nothing, so they are not in the report.
READ_ONLY_SUFFIX = "_info"


def short_name(action):
    """``zstack_ps_migrate`` for ``hybridcloud.migration.zstack_ps_migrate``; None for other modules."""
    if not action or not action.startswith(PREFIX):
        return None
    name = action[len(PREFIX):]
    return None if name.endswith(READ_ONLY_SUFFIX) else name


def platform_of(module):
    for prefix, platform in PLATFORMS:
        if module.startswith(prefix):
            return platform
    return module


def _text(value):
    if value is None:
        return ""
    if isinstance(value, dict):
        name, ident = value.get("name"), value.get("id") or value.get("uuid") or value.get("moref")
        if name and ident and name != ident:
            return "%s (%s)" % (name, ident)
        return str(name or ident or "")
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value if _text(v))
    return str(value)


def _ident(value):
    if isinstance(value, dict):
        return str(value.get("id") or value.get("uuid") or value.get("instance_uuid") or value.get("moref") or "")
    return ""


def _name(value):
    if isinstance(value, dict):
        return str(value.get("name") or _ident(value))
    return _text(value)


def _outcome(result):
    if result.get("failed"):
        return "failed"
    if result.get("skipped"):
        return "skipped"
    if result.get("outcome"):
        return str(result["outcome"])
    return "changed" if result.get("changed") else "unchanged"


def _jobs(*values):
    return [str(v) for v in values if v]


# The task arguments that name objects (never a credential): a result without its invocation
# (a failure before the module ran, an ansible-core that leaves it out) still names its object.
IDENTIFYING = ("vm", "vms", "item", "library", "vsn", "vsns", "group_id", "name", "url", "host", "source_host",
               "target_host", "primary_storage", "target_primary_storage")


def _args(result):
    return (result.get("invocation") or {}).get("module_args") or result.get("_task_args") or {}


# -- per module: the objects of one result ----------------------------------------------------------
ID_KEYS = ("uuid", "id", "moref", "instance_uuid")


BULK_KEYS = ("vms", "vsns")


def _bulk_entries(result):
    """The per-object entries of a bulk result: a list under ``vms`` (``vsns`` for VSN moves) whose
    entries all carry an ``outcome``; None for another shape."""
    for key in BULK_KEYS:
        entries = result.get(key)
        if isinstance(entries, list) and entries and all(isinstance(e, dict) and "outcome" in e for e in entries):
            return entries
    return None


def _bulk_rows(result):
    """One row per entry of a bulk result (name, id key, outcome, from, to, jobs, error, started,
    ended), the shape every module that handles many objects returns."""
    rows = []
    for entry in _bulk_entries(result):
        ident = next((str(entry[k]) for k in ID_KEYS if entry.get(k)), "")
        jobs = entry.get("jobs") if isinstance(entry.get("jobs"), list) else _jobs(entry.get("task"), entry.get("job"))
        rows.append({"object": entry.get("name") or ident, "id": ident, "from": _text(entry.get("from")),
                     "to": _text(entry.get("to")), "outcome": entry.get("outcome") or entry.get("action") or "",
                     "jobs": jobs, "error": entry.get("error") or "",
                     "started": entry.get("started"), "ended": entry.get("ended")})
    return rows


def _nsx_rows(result):
    rows = []
    for vm in result.get("vms") or []:
        placement = vm.get("placement") or {}
        rows.append({"object": vm.get("name") or vm.get("instance_uuid"), "id": vm.get("instance_uuid", ""),
                     "from": _text(placement.get("from") or placement.get("before")),
                     "to": _text(placement.get("to") or placement.get("after")),
                     "outcome": vm.get("outcome") or vm.get("action") or "", "jobs": _jobs(vm.get("task")),
                     "error": vm.get("error") or ""})
    return rows


def _zstack_ps_rows(result):
    vm, args = result.get("vm") or {}, _args(result)
    volumes = result.get("moved_volumes") or []
    return [{"object": _name(vm) or args.get("vm"), "id": _ident(vm),
             "from": ", ".join(sorted({v.get("from_name") or v.get("from") for v in volumes if v.get("from")})),
             "to": _text(result.get("target_primary_storage")) or _text(args.get("target_primary_storage")),
             "jobs": _jobs(result.get("job_uuid"), result.get("long_job_uuid"))}]


def _zstack_v2v_rows(result):
    vm, args, job = result.get("vm") or {}, _args(result), result.get("long_job") or {}
    references = result.get("references") or {}
    return [{"object": _name(vm) or args.get("vm"), "id": _ident(vm) or result.get("vm_uuid", ""),
             "from": args.get("url") or "", "to": _text(references.get("primary_storage") or args.get("primary_storage")),
             "jobs": _jobs(result.get("job_uuid"), _ident(job))}]


def _ovf_deploy_rows(result):
    vm, item, args = result.get("vm") or {}, result.get("library_item") or {}, _args(result)
    resolved = result.get("resolved") or {}
    return [{"object": _name(vm) or args.get("vm") or args.get("name"), "id": _ident(vm),
             "from": _text(item) or args.get("item") or "",
             "to": ", ".join(_text(resolved[k]) for k in ("cluster", "host", "datastore", "folder") if resolved.get(k)),
             "jobs": []}]


def _ovf_capture_rows(result):
    item, args = result.get("library_item") or {}, _args(result)
    return [{"object": _text(result.get("vm")) or args.get("vm"), "id": "", "from": _text(result.get("vm")) or args.get("vm"),
             "to": _text(item) or args.get("item") or args.get("name") or "", "jobs": []}]


def _powervc_vsn_rows(result):
    args = _args(result)
    vsns = result.get("vsns") or ([result["vsn"]] if result.get("vsn") else [])
    rows = []
    for vsn in vsns or [{"name": args.get("vsn")}]:
        rows.append({"object": _name(vsn) or args.get("vsn"), "id": _ident(vsn),
                     "from": _text(args.get("source_host")), "to": _text(result.get("server") or args.get("target_host") or args.get("host")),
                     "jobs": []})
    return rows


def _powervc_server_rows(result):
    server, args = result.get("server") or {}, _args(result)
    return [{"object": _name(server) or args.get("vm") or args.get("name"), "id": _ident(server), "from": "",
             "to": _text(server.get("host") or args.get("host")) if isinstance(server, dict) else "", "jobs": []}]


def _fallback_rows(result):
    args = _args(result)
    for key in ("vm", "vms", "item", "vsn", "vsns", "group_id", "name", "url"):
        if args.get(key):
            return [{"object": _text(args[key]), "id": ""}]
    return [{"object": "", "id": ""}]


EXTRACTORS = {
    "nsx_vmgroup_execution": _nsx_rows, "zstack_ps_migrate": _zstack_ps_rows, "zstack_v2v_convert": _zstack_v2v_rows,
    "vcenter_ovf_deploy": _ovf_deploy_rows, "vcenter_ovf_capture": _ovf_capture_rows,
    "powervc_vsn": _powervc_vsn_rows, "powervc_server": _powervc_server_rows,
}


def object_rows(module, result, started, ended, host=None, task_args=None):
    """The report rows of one task result of MODULE (short name); STARTED/ENDED are epoch seconds.

    TASK_ARGS (the task's arguments) are used only for the IDENTIFYING options, and only when the
    result has no masked invocation of its own.
    """
    if task_args and not (result.get("invocation") or {}).get("module_args"):
        result = dict(result, _task_args={k: v for k, v in task_args.items()
                                          if k in IDENTIFYING and isinstance(v, (str, int, list))})
    bulk = _bulk_entries(result) is not None
    try:
        extract = _bulk_rows if bulk else EXTRACTORS.get(module, _fallback_rows)
        rows = extract(result) or _fallback_rows(result)
    except (AttributeError, KeyError, TypeError, ValueError):  # a result of an unexpected shape still gets a row
        rows = _fallback_rows(result)
    out = []
    for row in rows:
        row = dict(row)
        row.setdefault("outcome", "")
        # A failed bulk task still reports each object's own outcome (most may have moved).
        if not row["outcome"] or (result.get("failed") and not bulk):
            row["outcome"] = _outcome(result)
        if result.get("failed") and not bulk and not row.get("error"):
            row["error"] = str(result.get("msg") or "")
        out.append({
            "platform": platform_of(module), "module": module, "host": host or "",
            "object": str(row.get("object") or ""), "id": str(row.get("id") or ""),
            "from": str(row.get("from") or ""), "to": str(row.get("to") or ""), "outcome": row["outcome"],
            "start": row.get("started") or started, "end": row.get("ended") or ended,
            "duration": round(max(0.0, (row.get("ended") or ended) - (row.get("started") or started)), 1),
            "jobs": [str(j) for j in row.get("jobs") or []], "error": str(row.get("error") or ""),
            "check_mode": bool(result.get("_check_mode")),
        })
    return out


# -- rendering -------------------------------------------------------------------------------------
def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def summary(rows):
    counts = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    return counts


def render_json(report):
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def _cell(row, column):
    if column in ("start", "end"):
        return iso(row[column])
    if column == "duration":
        return "%.1f s" % row["duration"]
    if column == "jobs":
        return ", ".join(row["jobs"])
    return row[column]


def render_markdown(report):
    rows = report["objects"]
    lines = ["# %s" % report["title"], "",
             "Playbook run %s to %s; %d object(s): %s." % (
                 iso(report["started"]), iso(report["ended"]), len(rows),
                 ", ".join("%d %s" % (n, k) for k, n in sorted(summary(rows).items())) or "none"), ""]
    if report.get("check_mode"):
        lines += ["Check mode: nothing was changed; outcomes are what would happen.", ""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for row in rows:
        cells = [str(_cell(row, c)).replace("|", "\\|").replace("\n", " ") for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


OUTCOME_COLOURS = {"failed": "#c0392b", "unchanged": "#7f8c8d", "skipped": "#bdc3c7", "in_progress": "#e67e22"}
DEFAULT_COLOUR = "#27ae60"


def timeline_svg(rows, width=900, row_height=16, gap=6, label=220):
    """An inline SVG: one bar per object from its start to its end, on the run's time axis."""
    if not rows:
        return ""
    first = min(r["start"] for r in rows)
    last = max(r["end"] for r in rows)
    span = max(last - first, 1.0)
    scale = (width - label - 10) / span
    height = len(rows) * (row_height + gap) + 30
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="timeline" width="%d" height="%d">' % (width, height)]
    for index, row in enumerate(rows):
        y = index * (row_height + gap) + 4
        x = label + (row["start"] - first) * scale
        length = max(2.0, (row["end"] - row["start"]) * scale)
        colour = OUTCOME_COLOURS.get(row["outcome"], DEFAULT_COLOUR)
        name = html.escape(row["object"] or row["module"])
        parts.append('<text x="0" y="%d" font-size="12">%s</text>' % (y + row_height - 4, name[:32]))
        parts.append('<rect class="bar" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s, %.1f s</title></rect>'
                     % (x, y, length, row_height, colour, name, html.escape(row["outcome"]), row["duration"]))
    axis_y = len(rows) * (row_height + gap) + 20
    parts.append('<text x="%d" y="%d" font-size="11">%s</text>' % (label, axis_y, iso(first)))
    parts.append('<text x="%d" y="%d" font-size="11" text-anchor="end">+%.0f s</text>' % (width - 10, axis_y, span))
    parts.append("</svg>")
    return "".join(parts)


def render_html(report):
    rows = report["objects"]
    counts = ", ".join("%d %s" % (n, html.escape(k)) for k, n in sorted(summary(rows).items())) or "none"
    head = "".join("<th>%s</th>" % c for c in COLUMNS)
    body = []
    for row in rows:
        cells = "".join("<td>%s</td>" % html.escape(str(_cell(row, c))) for c in COLUMNS)
        body.append('<tr class="outcome-%s">%s</tr>' % (html.escape(row["outcome"]), cells))
    check = "<p class=\"check\">Check mode: nothing was changed; outcomes are what would happen.</p>" if report.get("check_mode") else ""
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr.outcome-failed td { background: #fdecea; }
.check { font-weight: bold; }
</style></head>
<body>
<h1>%(title)s</h1>
<p id="summary">Playbook run %(start)s to %(end)s; %(count)d object(s): %(counts)s.</p>
%(check)s
<h2>Timeline</h2>
<div id="timeline">%(svg)s</div>
<h2>Objects</h2>
<table id="objects"><thead><tr>%(head)s</tr></thead><tbody>
%(body)s
</tbody></table>
</body></html>
""" % {"title": html.escape(report["title"]), "start": iso(report["started"]), "end": iso(report["ended"]),
       "count": len(rows), "counts": counts, "check": check, "svg": timeline_svg(rows), "head": head,
       "body": "\n".join(body)}
