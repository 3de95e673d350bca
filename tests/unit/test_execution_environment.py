"""The example execution environment definition builds a context with ansible-builder (no image build)."""

import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_collection_declares_its_requirements_for_execution_environments():
    with open(os.path.join(ROOT, "meta", "execution-environment.yml")) as handle:
        meta = yaml.safe_load(handle)
    for kind in ("python", "system"):
        assert os.path.exists(os.path.join(ROOT, meta["dependencies"][kind]))


def test_ansible_builder_create(tmp_path):
    builder = os.path.join(os.path.dirname(sys.executable), "ansible-builder")
    proc = subprocess.run([builder, "create", "-f", os.path.join(ROOT, "docs", "execution-environment.yml"),
                           "-c", str(tmp_path), "--output-filename", "Containerfile"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (tmp_path / "Containerfile").read_text()
    assert "ansible-galaxy" in containerfile and "introspect" in containerfile
    with open(tmp_path / "_build" / "requirements.yml") as handle:
        assert {"name": "hybridcloud.migration", "version": ">=1.0.0"} in yaml.safe_load(handle)["collections"]
