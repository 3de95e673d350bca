# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo's summary table fits 120 columns whatever the rows hold."""

from tests.demo import table_lines

ROWS = [
    {"workflow": "nsx_vmgroup_migration", "object": "web01 (501c1a8e-6f4d-4b5c-9f7e-2d3c4b5a6f70:4000)",
     "from": "esx-01 (host-23) / ds-local-01", "to": "esx-02 (host-31) / vsanDatastore, NSX segment web-tier",
     "result": "relocated"},
    {"workflow": "zstack_storage_migration", "object": "db01", "from": "ps-ceph-old", "to": "ps-ceph-new",
     "result": "migrated\nin 5 s"},
]


def test_every_line_fits_120_columns():
    lines = table_lines(ROWS)
    assert max(len(line) for line in lines) <= 120
    assert lines[0].split() == ["workflow", "object", "from", "to", "result"]


def test_short_rows_are_not_clipped_and_newlines_do_not_break_rows():
    lines = table_lines(ROWS[1:])
    assert len(lines) == 3
    assert "ps-ceph-old" in lines[2] and "migrated in 5 s" in lines[2]


def test_clipped_cells_say_so():
    lines = table_lines(ROWS)
    assert "\u2026" in lines[2]


def test_rows_with_an_outcome_instead_of_a_result():
    lines = table_lines([{"workflow": "powervc_vsn_evacuation", "object": "CDF0001", "outcome": "moved"}])
    assert lines[2].split()[-1] == "moved"
