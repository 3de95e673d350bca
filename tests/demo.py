"""`make demo`: start the local test cloud, run every migration playbook against it, show what moved.

Each playbook runs twice: the first run migrates, the second proves that nothing is left to do.
Everything started is stopped at the end, also on failure.
"""

import json
import os
import subprocess
import sys
import tempfile

from tests import environment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAYBOOKS = ("zstack_storage_migration", "zstack_v2v_import", "nsx_vmgroup_migration", "vcenter_ovf_rollout",
             "powervc_vsn_evacuation", "powervc_vsn_redeploy")
CALLBACKS = os.path.join(ROOT, "tests", "integration", "callback_plugins")


def run_playbook(name, vars_file):
    """Run playbooks/NAME.yml; return (ok, changed task count, summary rows, output)."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as record:
        env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="record_results",
                   RECORD_RESULTS_FILE=record.name, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
                   ANSIBLE_NOCOLOR="1")
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                   "-i", os.path.join(ROOT, "playbooks", "inventory"), os.path.join(ROOT, "playbooks", name + ".yml"),
                   "-e", "@" + vars_file]
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        with open(record.name) as handle:
            records = [json.loads(line) for line in handle if line.strip()]
    changed = sum(1 for r in records if r["result"].get("changed"))
    rows = []
    for entry in records:  # the last value the role's summary fact took (loops report it per item)
        for result in [entry["result"]] + entry["result"].get("results", []):
            rows = (result.get("ansible_facts") or {}).get(name + "_summary", rows)
    # Summaries of per-object entries (name, outcome...) and of table rows (object, result) alike.
    rows = [dict(row, workflow=row.get("workflow") or name, object=row.get("object") or row.get("name", ""))
            for row in rows if isinstance(row, dict)]
    return proc.returncode == 0, changed, rows, proc.stdout + proc.stderr


HEADERS = ("workflow", "object", "from", "to", "result")
WIDTH = 120  # the table must fit a terminal and a change ticket


def clip(text, width):
    return text if len(text) <= width else text[:max(0, width - 1)] + "\u2026"


def table_lines(rows, width=WIDTH):
    """The summary rows as aligned text lines no longer than WIDTH (the widest columns are clipped first)."""
    cells = [[" ".join(str(row.get(h, row.get("outcome", "") if h == "result" else "")).split()) for h in HEADERS]
             for row in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(HEADERS)]
    budget = width - 2 * (len(HEADERS) - 1)
    while sum(widths) > budget:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, HEADERS)).rstrip()
    out = [line, "-" * len(line)]
    for row in cells:
        out.append("  ".join("%-*s" % (w, clip(c, w)) for w, c in zip(widths, row)).rstrip())
    return out


def table(rows):
    for line in table_lines(rows):
        print(line)


def main():
    directory = os.path.join(ROOT, "build", "env-demo")
    print("Starting the local test cloud (ZStack, NSX-T, PowerVC, vCenter REST emulators; two vCenter simulators)...")
    environment.up(directory)
    failed = []
    all_rows = []
    try:
        vars_file = os.path.join(directory, "vars.yml")
        for name in PLAYBOOKS:
            ok, changed, rows, output = run_playbook(name, vars_file)
            if not ok:
                failed.append(name)
                print(output[-6000:])
            ok_again, changed_again, dummy, output_again = run_playbook(name, vars_file) if ok else (False, 0, [], "")
            if ok and (not ok_again or changed_again):
                failed.append(name + " (re-run)")
                print(output_again[-6000:])
            print("%-28s first run: %s, %d changed task(s); re-run: %s" % (
                name, "ok" if ok else "FAILED", changed,
                ("%d changed" % changed_again) if ok_again else "not run" if not ok else "FAILED"))
            all_rows.extend(rows)
        print()
        table(all_rows)
    finally:
        environment.down(directory, quiet=True)
        print("\nlocal test cloud stopped")
    if failed:
        print("demo failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
