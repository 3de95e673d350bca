"""A scripted HTTPS server for client unit tests, built on the emulator framework.

Each path answers from a script: a list of Responses (or callables request -> Response); the last
entry repeats. Every request is recorded in ``seen`` as (method, path, raw query, headers, body).

    server, scripted = scripted_fixtures(ScriptedServer)   # in a test module: two fixtures
"""

import pytest

from tests.emulators._server import Emulator, Running, json_response, route


class ScriptedServer(Emulator):
    name = "scripted"
    default = json_response(200, {"ok": True})

    def load(self, seed):
        self.script = {}
        self.seen = []

    def snapshot(self):
        return {}

    def expire_sessions(self):
        pass

    def script_for(self, request):
        """The script that answers REQUEST (subclasses may key scripts differently)."""
        return self.script.get(request.path) or [self.default]

    def answer(self, request):
        try:
            body = request.json()
        except ValueError:
            body = request.body
        self.seen.append((request.method, request.path, request.raw_query, dict(request.headers), body))
        script = self.script_for(request)
        response = script.pop(0) if len(script) > 1 else script[0]
        return response(request) if callable(response) else response

    def calls(self, method=None, path=None):
        """Recorded requests with METHOD whose path starts with PATH."""
        return [s for s in self.seen if (method is None or s[0] == method) and (path is None or s[1].startswith(path))]

    @route("GET", r"/.*")
    def get(self, request):
        return self.answer(request)

    @route("POST", r"/.*")
    def post(self, request):
        return self.answer(request)

    @route("PUT", r"/.*")
    def put(self, request):
        return self.answer(request)

    @route("DELETE", r"/.*")
    def delete(self, request):
        return self.answer(request)


def scripted_fixtures(server_class):
    """Fixtures ``server`` (module scope: the running server) and ``scripted`` (its emulator, reset per test)."""

    @pytest.fixture(scope="module", name="server")
    def server_fixture(emulator_tls):
        running = Running(server_class(), tls_material=emulator_tls)
        yield running
        running.stop()

    @pytest.fixture(name="scripted")
    def scripted_fixture(server):
        server.emulator.load({})
        server.emulator.faults = []
        return server.emulator

    return server_fixture, scripted_fixture
