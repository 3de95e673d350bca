"""The example execution environment definition builds a context with ansible-builder (no image build)."""

import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# registry/path:tag@sha256:digest. The tag must carry a build, not only a major (or major.minor)
# version that the registry moves: UBI's 9.6-1753200829, not 9.6, 9, latest.
PINNED = re.compile(r"^(?P<repo>[a-z0-9.-]+(?::[0-9]+)?/[a-z0-9._/-]+):(?P<tag>[A-Za-z0-9._-]+)@sha256:[0-9a-f]{64}$")
FLOATING = re.compile(r"^(latest|stable|devel|main|v?[0-9]+(\.[0-9]+)?)$")


def base_image():
    with open(os.path.join(ROOT, "docs", "execution-environment.yml")) as handle:
        return yaml.safe_load(handle)["images"]["base_image"]["name"]


def test_base_image_is_pinned_by_exact_tag_and_digest():
    image = base_image()
    match = PINNED.match(image)
    assert match, "base image %r: give registry/name:exact-tag@sha256:<digest>" % image
    assert not FLOATING.match(match.group("tag")), "base image tag %r floats; use an exact build tag" % match.group("tag")


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
    assert 'ARG EE_BASE_IMAGE="%s"' % base_image() in containerfile  # the pin reaches the build, unchanged
    with open(tmp_path / "_build" / "requirements.yml") as handle:
        assert {"name": "hybridcloud.migration", "version": ">=1.0.0"} in yaml.safe_load(handle)["collections"]
