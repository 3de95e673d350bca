# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``attributes`` every module of the collection documents."""

from __future__ import annotations


class ModuleDocFragment:
    # Modules that change things: full check mode and diff support.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
"""

    # Read-only modules.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: This module only reads, so check mode changes nothing about its behaviour.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: N/A
    details: This module does not change anything.
"""
