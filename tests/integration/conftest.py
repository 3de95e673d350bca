"""Integration fixtures: an ``ansible`` runner per test (see playbook.py)."""

import os

import pytest

from tests.integration.playbook import COLLECTIONS_PATH, ROOT, AnsibleRunner


@pytest.fixture(scope="session", autouse=True)
def collection_link():
    """ansible-playbook finds the collection through build/collections -> this tree."""
    link = os.path.join(COLLECTIONS_PATH, "ansible_collections", "hybridcloud", "migration")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.islink(link):
        os.symlink(ROOT, link)


@pytest.fixture()
def ansible(tmp_path):
    return AnsibleRunner(tmp_path)
