"""Shared pytest configuration: the emulator and vcsim fixtures are plugins."""

pytest_plugins = ["tests.emulators.fixtures", "tests.vcsim_fixtures"]
