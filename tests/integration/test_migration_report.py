# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration_report callback on a real run: JSON, Markdown, and the HTML page as headless Chromium renders it."""

import json
import os
import shutil
import subprocess

import pytest

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import PASSWORD, assert_no_secrets, module_defaults, prepare

MODULE = "hybridcloud.migration.zstack_ps_migrate"
CHROMIUM = shutil.which("chromium")


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator)


def report_run(ansible, zstack, directory, tasks, **kwargs):
    env = {"ANSIBLE_CALLBACKS_ENABLED": "record_results,hybridcloud.migration.migration_report",
           "HYBRIDCLOUD_MIGRATION_REPORT_DIR": str(directory), "HYBRIDCLOUD_MIGRATION_REPORT_TITLE": "CHG-4711 wave 1"}
    return ansible.play(tasks, module_defaults=module_defaults(zstack), env=env, **kwargs)


def migrate(name, vm, storage):
    return {"name": name, MODULE: {"vm": vm, "target_primary_storage": storage}, "ignore_errors": True}


@pytest.fixture()
def report(ansible, zstack, tmp_path):
    tasks = [migrate("web", "web-01", "ps-ceph-01"), migrate("nowhere", "web-01", "no-such-storage"),
             {"name": "listed", "hybridcloud.migration.zstack_longjob_info": {}}]
    run = report_run(ansible, zstack, tmp_path, tasks, verbosity=3)
    assert run.rc == 0, run.output[-3000:]
    assert "migration report: 2 object(s)" in run.output
    texts = {suffix: (tmp_path / ("migration-report." + suffix)).read_text() for suffix in ("json", "md", "html")}
    assert_no_secrets(zstack, run.output + "".join(texts.values()))
    assert PASSWORD not in "".join(texts.values())
    return texts


def test_json_has_one_row_per_object_with_outcome_times_and_jobs(report):
    data = json.loads(report["json"])
    assert data["title"] == "CHG-4711 wave 1" and data["check_mode"] is False
    web, nowhere = data["objects"]  # the info module touched nothing: not in the report
    assert (web["platform"], web["object"], web["id"], web["outcome"]) == ("ZStack", "web-01", emu.VM_WEB, "changed")
    assert web["to"] and len(web["jobs"]) == 2 and web["end"] >= web["start"] and web["duration"] >= 0
    assert nowhere["outcome"] == "failed" and "no-such-storage" in nowhere["error"]


def test_markdown_table(report):
    lines = report["md"].splitlines()
    assert lines[0] == "# CHG-4711 wave 1"
    assert "2 object(s): 1 changed, 1 failed" in report["md"]
    assert sum(1 for line in lines if line.startswith("| ZStack | web-01 |")) == 2


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is installed by .ci/install-chromium (make test)")
def test_html_page_as_a_browser_shows_it(report, tmp_path):
    page = tmp_path / "migration-report.html"
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, check=True, timeout=120).stdout
    assert "<h1>CHG-4711 wave 1</h1>" in dom
    assert "2 object(s): 1 changed, 1 failed" in dom
    assert dom.count('<rect class="bar"') == 2
    assert '<tr class="outcome-failed">' in dom and "web-01" in dom
    screenshot = tmp_path / "page.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--screenshot=%s" % screenshot, "--window-size=1200,800", page.as_uri()],
                   capture_output=True, check=True, timeout=120)
    assert screenshot.stat().st_size > 10000  # a rendered page, not a blank one


def test_check_mode_is_said(ansible, zstack, tmp_path):
    run = report_run(ansible, zstack, tmp_path, [migrate("web", "web-01", "ps-ceph-01")], check=True)
    assert run.rc == 0
    data = json.loads((tmp_path / "migration-report.json").read_text())
    assert data["check_mode"] is True and data["objects"][0]["outcome"] == "changed"
    assert "Check mode: nothing was changed" in (tmp_path / "migration-report.md").read_text()
    assert not os.path.exists(tmp_path / "other")
