# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Typed errors raised by the platform clients; only the module base turns them into fail_json."""

from __future__ import annotations


class MigrationError(Exception):
    """Base of every error the collection raises on purpose.

    ``operation`` says what was attempted ("PrimaryStorageMigrateVm", "GET /v3/auth/tokens"),
    ``resource`` on which object, ``status`` the HTTP status, ``code`` and ``api_message`` the
    API's own error code and text. ``str()`` joins them into one readable sentence.
    """

    def __init__(self, message, operation=None, resource=None, status=None, code=None, api_message=None, details=None):
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.resource = resource
        self.status = status
        self.code = code
        self.api_message = api_message
        self.details = details

    def __str__(self):
        parts = []
        if self.operation:
            parts.append(self.operation)
        if self.resource:
            parts.append("on %s" % self.resource)
        head = " ".join(parts)
        text = "%s failed: %s" % (head, self.message) if head else self.message
        extras = []
        if self.status is not None:
            extras.append("HTTP %s" % self.status)
        if self.code not in (None, ""):
            extras.append("error code %s" % self.code)
        if self.api_message and self.api_message not in text:
            extras.append(self.api_message)
        if extras:
            text = "%s (%s)" % (text, "; ".join(str(e) for e in extras))
        return text

    def to_result(self):
        """The fields the module base adds to fail_json beside ``msg``."""
        result = {}
        if self.status is not None:
            result["status"] = self.status
        if self.code not in (None, ""):
            result["error_code"] = self.code
        if self.operation:
            result["operation"] = self.operation
        return result


class ParameterError(MigrationError):
    """Bad user input, found before any mutating call."""


class ApiError(MigrationError):
    """The API answered with an error."""


class AuthError(ApiError):
    """Credentials rejected, or a session that could not be renewed."""


class NotFoundError(ApiError):
    """The object asked for does not exist."""


class ConflictError(ApiError):
    """The object is in a state that does not allow the operation."""


class TransportError(MigrationError):
    """No usable HTTP answer: connection refused or reset, TLS failure, read timeout."""


class WaitTimeoutError(MigrationError):
    """A wait reached its deadline before the work finished."""


class JobFailedError(MigrationError):
    """A long-running job or task ended in failure."""
