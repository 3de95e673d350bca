"""A content library with a tiny deployable OVF item on a running vcsim (vcenter_rest.md section 6).

``make_library(vcsim)`` runs the verified call sequence (steps 1-7 and 9) with plain ``requests``
(not the collection's client, so that a client bug cannot hide a fixture bug) and returns a
``VcsimLibrary`` with every id and moref a test needs. ``vcsim_library`` is the session fixture.
"""

import collections
import uuid

import pytest
import requests

TINY_OVF = ('<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><VirtualSystem id="a"><Info>x</Info>'
            '<VirtualHardwareSection><Info>h</Info><System></System></VirtualHardwareSection></VirtualSystem>'
            '</Envelope>')

VcsimLibrary = collections.namedtuple(
    "VcsimLibrary", "library_id library_name item_id item_name empty_item_id datacenter cluster resource_pool "
                    "vm_folder datastore network hosts")


class _Rest:
    def __init__(self, vcsim):
        self.base = vcsim.rest_url
        self.verify = vcsim.cert_path or False
        response = requests.post(self.base + "/com/vmware/cis/session", auth=(vcsim.username, vcsim.password),
                                 verify=self.verify, timeout=30)
        response.raise_for_status()
        self.headers = {"vmware-api-session-id": response.json()["value"]}

    def call(self, method, path, body=None, **kwargs):
        url = path if path.startswith("http") else self.base + path
        response = requests.request(method, url, json=body, headers=self.headers, verify=self.verify, timeout=60,
                                    **kwargs)
        assert response.ok, "%s %s -> %s %s" % (method, path, response.status_code, response.text)
        return response.json()["value"] if response.content else None

    def close(self):
        requests.delete(self.base + "/com/vmware/cis/session", headers=self.headers, verify=self.verify, timeout=30)


def make_library(vcsim, library_name=None, item_name="tiny", ovf=TINY_OVF):
    info = vcsim.info
    datastore = info["datastores"][0]
    cluster = info["clusters"][0]
    rest = _Rest(vcsim)
    try:
        library_name = library_name or "lib-%s" % uuid.uuid4().hex[:8]
        library_id = rest.call("POST", "/com/vmware/content/local-library", {"create_spec": {
            "name": library_name, "type": "LOCAL",
            "storage_backings": [{"datastore_id": datastore["moref"], "type": "DATASTORE"}]}})
        item_id = _upload(rest, library_id, item_name, ovf)
        # An item without an .ovf file: vcsim answers its deploy with 200 and no "succeeded" key.
        empty_item_id = rest.call("POST", "/com/vmware/content/library/item", {"create_spec": {
            "library_id": library_id, "name": item_name + "-empty", "type": "ovf"}})
    finally:
        rest.close()
    dvpg = next(p for p in info["dvpgs"] if not p["uplink"])
    return VcsimLibrary(library_id, library_name, item_id, item_name, empty_item_id, info["datacenters"][0]["name"],
                        cluster["name"], cluster["resource_pool"], info["vm_folder"], datastore["moref"],
                        dvpg["name"], cluster["hosts"])


def _upload(rest, library_id, name, ovf):
    item_id = rest.call("POST", "/com/vmware/content/library/item", {"create_spec": {
        "library_id": library_id, "name": name, "type": "ovf"}})
    session = rest.call("POST", "/com/vmware/content/library/item/update-session",
                        {"create_spec": {"library_item_id": item_id}})
    added = rest.call("POST", "/com/vmware/content/library/item/updatesession/file/id:%s?~action=add" % session,
                      {"file_spec": {"name": name + ".ovf", "source_type": "PUSH"}})
    upload = requests.put(added["upload_endpoint"]["uri"], data=ovf.encode(), headers=rest.headers,
                          verify=rest.verify, timeout=60)
    assert upload.ok, upload.text
    rest.call("POST", "/com/vmware/content/library/item/update-session/id:%s?~action=complete" % session)
    return item_id


@pytest.fixture(scope="session")
def vcsim_library(vcsim):
    return make_library(vcsim)
