# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: migration_report
type: aggregate
short_description: A report of every object this collection's modules touched (JSON, Markdown, HTML)
version_added: 1.0.0
description:
  - Records, for every task of a C(hybridcloud.migration) module that changes things (not the
    C(*_info) modules), each object the task touched - platform, object name and id, from, to,
    outcome, start, end, duration, job / task ids, error - and at the end of the playbook run writes
    C(migration-report.json), C(migration-report.md) and C(migration-report.html) into O(report_dir).
  - The HTML page is one self-contained file (no script, no external resource) with a per-object
    timeline, suitable to attach to a change ticket.
  - Only what the modules returned is recorded, after Ansible masked it; values marked C(no_log)
    (passwords, keys, tokens) never reach the report.
  - Enable it with C(callbacks_enabled = hybridcloud.migration.migration_report) in C(ansible.cfg)
    or E(ANSIBLE_CALLBACKS_ENABLED).
author: hybridcloud.migration contributors (@hybridcloud)
requirements:
  - enabled in the configuration (callbacks_enabled)
options:
  report_dir:
    description: The directory the three report files are written to (created if missing).
    type: path
    default: migration-report
    env:
      - name: HYBRIDCLOUD_MIGRATION_REPORT_DIR
    ini:
      - section: callback_migration_report
        key: report_dir
  title:
    description: The report's title.
    type: str
    default: Migration report
    env:
      - name: HYBRIDCLOUD_MIGRATION_REPORT_TITLE
    ini:
      - section: callback_migration_report
        key: title
"""

import os
import time

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.hybridcloud.migration.plugins.plugin_utils import migration_report


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "hybridcloud.migration.migration_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.started = time.time()
        self.task_started = {}  # (task uuid, host name) -> epoch seconds
        self.rows = []

    def v2_runner_on_start(self, host, task):
        self.task_started[(task._uuid, host.get_name())] = time.time()

    def _record(self, result, failed=False):
        task = result._task
        module = migration_report.short_name(getattr(task, "resolved_action", None) or task.action)
        if module is None:
            return
        ended = time.time()
        host = result._host.get_name()
        started = self.task_started.get((task._uuid, host), ended)
        outcome = result._result
        args = getattr(result, "_task_fields", {}).get("args") or task.args or {}
        for item in outcome.get("results") or [outcome]:  # a loop reports every item in "results"
            if isinstance(item, dict):
                item = dict(item, failed=True) if failed and "results" not in outcome else item
                self.rows.extend(migration_report.object_rows(module, item, started, ended, host, args))

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_playbook_on_stats(self, stats):
        report = {"title": self.get_option("title"), "started": self.started, "ended": time.time(),
                  "check_mode": bool(context.CLIARGS.get("check")), "objects": self.rows}
        directory = self.get_option("report_dir")
        os.makedirs(directory, exist_ok=True)
        for suffix, render in (("json", migration_report.render_json), ("md", migration_report.render_markdown),
                               ("html", migration_report.render_html)):
            path = os.path.join(directory, "migration-report." + suffix)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(render(report))
        self._display.display("migration report: %d object(s) in %s" % (len(self.rows), directory))
