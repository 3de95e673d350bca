# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base every module subclasses.

A module is an argument spec plus ``run()``:

    class ZstackPsMigrate(MigrationModule):
        connection = zstack.CONNECTION      # the platform's connection argspec + client factory
        argument_spec = dict(vm=dict(...), ...)

        def run(self):
            ...read, plan, self.exit_if_check_mode(plan), apply...

    def main():
        ZstackPsMigrate().execute()

The base merges the platform's connection options into the argspec, opens the client, turns
typed errors into ``fail_json`` (msg, error_code, status), closes the client whatever happens,
and implements check mode and diff once.
"""

from __future__ import annotations

import copy
import os
import unicodedata

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import MigrationError, ParameterError


class Connection:
    """A platform's connection options and how to open its client from the module parameters."""

    def __init__(self, argument_spec, open_client, ranges=None, **module_kwargs):
        self.argument_spec = argument_spec
        self.open_client = open_client  # callable(module) -> client
        self.ranges = dict(ranges or {})  # option -> (min, max), see MigrationModule.ranges
        self.module_kwargs = module_kwargs  # e.g. required_together on connection options


class MigrationModule:
    connection = None  # a Connection, or None for a module without a platform client
    argument_spec = {}
    module_kwargs = {}
    # Numeric options and their (min, max) bounds, None for unbounded; checked before anything is
    # opened or sent. The argspec has no range type, so the bounds live beside it.
    ranges = {}

    def __init__(self, argv_module=None):
        spec = {}
        kwargs = {}
        if self.connection:
            spec.update(copy.deepcopy(self.connection.argument_spec))
            kwargs = _merge_kwargs(kwargs, self.connection.module_kwargs)
        spec.update(copy.deepcopy(self.argument_spec))
        kwargs = _merge_kwargs(kwargs, self.module_kwargs)
        unset_empty_environment(spec)
        self.module = argv_module or AnsibleModule(argument_spec=spec, supports_check_mode=True, **kwargs)
        self.params = self.module.params
        self.result = {"changed": False}
        self.client = None

    # -- what a module implements -------------------------------------------------------------
    def validate(self):
        """Check the parameters that need no API: called before the client is opened (nothing sent yet).

        Raise ParameterError (``fail_parameter``, ``check_name``) for bad input. Checks that need the
        API (does this name exist?) belong in ``run()``, before its first mutating call.
        """

    def run(self):
        raise NotImplementedError

    # -- helpers for run() ---------------------------------------------------------------------
    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return self.module._diff

    def register_secret(self, value):
        """Mask VALUE (a token, a session id learnt at run time) in everything Ansible prints."""
        if value:
            self.module.no_log_values.add(str(value))

    def changed(self, before=None, after=None):
        """Mark the run as changed; in diff mode record BEFORE/AFTER (dicts) once."""
        self.result["changed"] = True
        if self.diff_mode and (before is not None or after is not None):
            self.result["diff"] = {"before": before if before is not None else {},
                                   "after": after if after is not None else {}}

    def fail_parameter(self, name, problem):
        """Bad input: say which parameter and what is wrong with it, before any mutating call."""
        raise ParameterError("parameter '%s' %s" % (name, problem))

    def check_name(self, param, value, what="name"):
        """Reject a name that cannot be what the user meant: empty, control or bidi/format characters.

        Control characters break logs and queries; bidi overrides (U+202E ...) make a name read
        differently from what it is. Characters that merely matter to a URL are not rejected here:
        clients put names into paths with ``_http.quote_segment``.
        """
        if value is None:
            return value
        text = str(value)
        if not text.strip():
            raise ParameterError("parameter '%s' must be a non-empty %s" % (param, what))
        for char in text:
            if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
                raise ParameterError("parameter '%s' contains the control or formatting character U+%04X, "
                                     "not allowed in a %s" % (param, ord(char), what))
        return value

    def check_ranges(self):
        """Every numeric option within its declared bounds, the parameter named otherwise."""
        bounds = dict(self.connection.ranges) if self.connection else {}
        bounds.update(self.ranges)
        for name in sorted(bounds):
            value = self.params.get(name)
            if value is None:
                continue
            low, high = bounds[name]
            if (low is not None and value < low) or (high is not None and value > high):
                if high is None:
                    wanted = "at least %s" % low
                elif low is None:
                    wanted = "at most %s" % high
                else:
                    wanted = "between %s and %s" % (low, high)
                raise ParameterError("parameter '%s' must be %s, got %s" % (name, wanted, value))

    def warn(self, message):
        self.module.warn(message)

    # -- the run ------------------------------------------------------------------------------
    def execute(self):
        try:
            try:
                self.check_ranges()
                self.validate()
                if self.connection:
                    self.client = self.connection.open_client(self)
                self.run()
            finally:  # log out whatever happened, even after an unexpected exception
                self._close()
        except MigrationError as error:
            self.module.fail_json(msg=str(error), **dict(self.result, **error.to_result()))
        self.module.exit_json(**self.result)

    def _close(self):
        client, self.client = self.client, None
        if client is not None:
            try:
                client.close()
            except MigrationError as error:  # a failed logout must not hide the real outcome
                self.module.warn("closing the session failed: %s" % error)


def unset_empty_environment(spec, environ=None):
    """Treat an empty environment variable an option falls back to as not set.

    AWX sets every variable of a credential type's injectors on every job, so a field the
    credential leaves empty arrives as "" (an empty CA path, port or boolean is not a value). The
    module runs in its own process: unsetting the variable there affects nothing else.
    """
    environ = os.environ if environ is None else environ
    for option in spec.values():
        fallback = option.get("fallback") or ()
        if len(fallback) == 2 and getattr(fallback[0], "__name__", "") == "env_fallback":
            for name in fallback[1]:
                if name in environ and not environ[name].strip():
                    del environ[name]
        if option.get("options"):
            unset_empty_environment(option["options"], environ)


def _merge_kwargs(first, second):
    """AnsibleModule keyword arguments: list-valued ones (mutually_exclusive...) are concatenated."""
    merged = dict(first)
    for key, value in second.items():
        if isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + value
        else:
            merged[key] = value
    return merged
