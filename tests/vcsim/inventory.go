package main

// Inventory shaping (DVS identity/version, fixture VMs) and the -info description.

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// fixDVS gives every switch a UUID unique to this launcher (vcsim derives it from the
// name "DVS0", so two launchers would share it) and the requested product version.
// Runs before the server starts, so plain field writes are safe.
func fixDVS(o *options) {
	for _, e := range allSwitches() {
		dvs := e.(*simulator.DistributedVirtualSwitch)
		id := derivedUUID(o, "dvs", dvs.Self.Value, "50")
		// vCenter shows DVS UUIDs as 16 space-separated byte pairs.
		hex := strings.Replace(id, "-", "", -1)
		var pairs []string
		for i := 0; i < len(hex); i += 2 {
			pairs = append(pairs, hex[i:i+2])
		}
		id = strings.Join(pairs[:8], " ") + "-" + strings.Join(pairs[8:], " ")
		product := &types.DistributedVirtualSwitchProductSpec{
			Name: "DVS", Vendor: "VMware, Inc.", Version: o.vdsVersion, ForwardingClass: "etherswitch",
		}
		dvs.Uuid = id
		dvs.Summary.Uuid = id
		dvs.Summary.ProductInfo = product
		cfg := dvs.Config.GetDVSConfigInfo()
		cfg.Uuid = id
		cfg.ProductInfo = *product
	}
}

// allSwitches: vcsim registers VMware switches under the moref type "DistributedVirtualSwitch".
func allSwitches() []mo.Entity {
	return append(sorted("DistributedVirtualSwitch"), sorted("VmwareDistributedVirtualSwitch")...)
}

// createVMs puts o.vm powered-on VMs on every cluster host, each with o.nics NICs on the
// datacenter's first plain DVPG (or "VM Network"), and BIOS UUID != instance UUID.
func createVMs(ctx context.Context, c *vim25.Client, o *options) error {
	finder := find.NewFinder(c, false)
	dcs, err := finder.DatacenterList(ctx, "*")
	if err != nil {
		return err
	}
	for _, dc := range dcs {
		finder.SetDatacenter(dc)
		folders, err := dc.Folders(ctx)
		if err != nil {
			return err
		}
		netName := "VM Network"
		if o.pg > 0 {
			netName = dc.Name() + "_DVPG0"
		}
		network, err := finder.Network(ctx, netName)
		if err != nil {
			return err
		}
		dss, err := finder.DatastoreList(ctx, "*")
		if err != nil {
			return err
		}
		clusters, err := finder.ClusterComputeResourceList(ctx, "*")
		if err != nil {
			if _, ok := err.(*find.NotFoundError); ok {
				continue
			}
			return err
		}
		sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name() < clusters[j].Name() })
		for _, cluster := range clusters {
			pool, err := cluster.ResourcePool(ctx)
			if err != nil {
				return err
			}
			hosts, err := cluster.Hosts(ctx)
			if err != nil {
				return err
			}
			sort.Slice(hosts, func(i, j int) bool { return hosts[i].Name() < hosts[j].Name() })
			for _, host := range hosts {
				for i := 0; i < o.vm; i++ {
					name := fmt.Sprintf("%s_VM%d", host.Name(), i)
					spec := types.VirtualMachineConfigSpec{
						Name:         name,
						GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherGuest),
						NumCPUs:      1,
						MemoryMB:     32,
						Files:        &types.VirtualMachineFileInfo{VmPathName: "[" + dss[0].Name() + "]"},
						Uuid:         derivedUUID(o, "bios", name, "42"),
						InstanceUuid: derivedUUID(o, "instance", name, "50"),
					}
					for n := 0; n < o.nics; n++ {
						backing, err := network.EthernetCardBackingInfo(ctx)
						if err != nil {
							return err
						}
						nic, err := object.EthernetCardTypes().CreateEthernetCard("vmxnet3", backing)
						if err != nil {
							return err
						}
						dev := nic.GetVirtualDevice()
						dev.Key = int32(4000 + n)
						dev.DeviceInfo = &types.Description{Label: fmt.Sprintf("Network adapter %d", n+1), Summary: netName}
						spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{
							Operation: types.VirtualDeviceConfigSpecOperationAdd,
							Device:    nic,
						})
					}
					task, err := folders.VmFolder.CreateVM(ctx, spec, pool, host)
					if err != nil {
						return err
					}
					res, err := task.WaitForResult(ctx, nil)
					if err != nil {
						return fmt.Errorf("%s: %s", name, err)
					}
					vm := object.NewVirtualMachine(c, res.Result.(types.ManagedObjectReference))
					if _, err := vm.PowerOn(ctx); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// datacenterOf walks up the parent chain.
func datacenterOf(e mo.Entity) string {
	for e != nil {
		if e.Reference().Type == "Datacenter" {
			return e.Entity().Name
		}
		p := e.Entity().Parent
		if p == nil {
			return ""
		}
		e, _ = simulator.Map.Get(*p).(mo.Entity)
	}
	return ""
}

type obj = map[string]interface{}

func sorted(kind string) []mo.Entity {
	all := simulator.Map.All(kind)
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i].Entity(), all[j].Entity()
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Self.Value < b.Self.Value
	})
	return all
}

func refs(rs []types.ManagedObjectReference) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Value)
	}
	return out
}

func refValue(r *types.ManagedObjectReference) string {
	if r == nil {
		return ""
	}
	return r.Value
}

// nicInfo describes a VM's ethernet cards; also used by tests via the info file.
func nicInfo(devices []types.BaseVirtualDevice) []obj {
	out := []obj{}
	for _, d := range devices {
		card, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		c := card.GetVirtualEthernetCard()
		n := obj{"key": c.Key, "mac": c.MacAddress, "external_id": c.ExternalId}
		if desc := c.DeviceInfo; desc != nil {
			n["label"] = desc.GetDescription().Label
		}
		switch b := c.Backing.(type) {
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			n["backing"] = "dvpg"
			n["portgroup_key"] = b.Port.PortgroupKey
			n["switch_uuid"] = b.Port.SwitchUuid
		case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
			n["backing"] = "opaque"
			n["opaque_network_id"] = b.OpaqueNetworkId
		case *types.VirtualEthernetCardNetworkBackingInfo:
			n["backing"] = "network"
			n["network"] = b.DeviceName
		}
		out = append(out, n)
	}
	return out
}

// describe builds the -info JSON: connection data plus the morefs tests need.
func describe(o *options, u *url.URL) obj {
	base := *u
	base.User = nil
	port, _ := strconv.Atoi(u.Port())
	sdk := base.String()
	base.Path = "/rest"
	info := obj{
		"url":           sdk,
		"rest_url":      base.String(),
		"host":          u.Hostname(),
		"port":          port,
		"username":      o.username,
		"password":      o.password,
		"instance_uuid": o.instanceUUID,
		"api_version":   o.apiVersion,
		"vds_version":   o.vdsVersion,
		"relocate_ms":   o.relocateMs,
		"cert_path":     nil,
		"thumbprint":    nil,
	}

	var dcs, clusters, hosts, pools, dss, vms, dvss, pgs, opaques []obj
	nsx := obj{}
	for _, e := range sorted("Datacenter") {
		dc := e.(*simulator.Datacenter)
		dcs = append(dcs, obj{"name": dc.Name, "moref": dc.Self.Value, "vm_folder": dc.VmFolder.Value,
			"host_folder": dc.HostFolder.Value, "network_folder": dc.NetworkFolder.Value,
			"datastore_folder": dc.DatastoreFolder.Value})
	}
	if len(dcs) > 0 {
		info["vm_folder"] = dcs[0]["vm_folder"]
	}
	for _, e := range sorted("ClusterComputeResource") {
		c := e.(*simulator.ClusterComputeResource)
		clusters = append(clusters, obj{"name": c.Name, "moref": c.Self.Value, "datacenter": datacenterOf(c),
			"resource_pool": refValue(c.ResourcePool), "hosts": refs(c.Host), "datastores": refs(c.Datastore)})
	}
	for _, e := range sorted("HostSystem") {
		h := e.(*simulator.HostSystem)
		hosts = append(hosts, obj{"name": h.Name, "moref": h.Self.Value, "cluster": refValue(h.Parent),
			"datacenter": datacenterOf(h)})
	}
	for _, e := range sorted("ResourcePool") {
		p := e.(*simulator.ResourcePool)
		pools = append(pools, obj{"name": p.Name, "moref": p.Self.Value, "owner": refValue(&p.Owner),
			"datacenter": datacenterOf(p)})
	}
	for _, e := range sorted("Datastore") {
		d := e.(*simulator.Datastore)
		dss = append(dss, obj{"name": d.Name, "moref": d.Self.Value, "url": d.Info.GetDatastoreInfo().Url,
			"datacenter": datacenterOf(d)})
	}
	for _, e := range sorted("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		vms = append(vms, obj{"name": vm.Name, "moref": vm.Self.Value, "instance_uuid": vm.Config.InstanceUuid,
			"bios_uuid": vm.Config.Uuid, "host": refValue(vm.Runtime.Host), "resource_pool": refValue(vm.ResourcePool),
			"datastores": refs(vm.Datastore), "folder": refValue(vm.Parent), "datacenter": datacenterOf(vm),
			"nics": nicInfo(vm.Config.Hardware.Device)})
	}
	for _, e := range allSwitches() {
		s := e.(*simulator.DistributedVirtualSwitch)
		dvss = append(dvss, obj{"name": s.Name, "moref": s.Self.Value, "uuid": s.Uuid,
			"version": s.Summary.ProductInfo.Version, "datacenter": datacenterOf(s)})
	}
	for _, e := range sorted("DistributedVirtualPortgroup") {
		pg := e.(*simulator.DistributedVirtualPortgroup)
		dvsUUID := ""
		if s, ok := simulator.Map.Get(*pg.Config.DistributedVirtualSwitch).(*simulator.DistributedVirtualSwitch); ok {
			dvsUUID = s.Uuid
		}
		pgs = append(pgs, obj{"name": pg.Name, "key": pg.Key, "moref": pg.Self.Value, "dvs_uuid": dvsUUID,
			"dvs": pg.Config.DistributedVirtualSwitch.Value, "backing_type": pg.Config.BackingType,
			"logical_switch_uuid": pg.Config.LogicalSwitchUuid, "uplink": strings.Contains(pg.Name, "-DVUplinks"),
			"datacenter": datacenterOf(pg)})
		if pg.Config.BackingType == "nsx" && pg.Config.LogicalSwitchUuid != "" {
			nsx[pg.Key] = pg.Config.LogicalSwitchUuid
		}
	}
	for _, e := range sorted("OpaqueNetwork") {
		n := e.(*mo.OpaqueNetwork)
		s := n.Summary.(*types.OpaqueNetworkSummary)
		opaques = append(opaques, obj{"name": n.Name, "moref": n.Self.Value, "id": s.OpaqueNetworkId,
			"type": s.OpaqueNetworkType, "datacenter": datacenterOf(n)})
	}
	info["datacenters"] = dcs
	info["clusters"] = clusters
	info["hosts"] = hosts
	info["resource_pools"] = pools
	info["datastores"] = dss
	info["vms"] = vms
	info["dvs"] = dvss
	info["dvpgs"] = pgs
	info["nsx_dvpgs"] = nsx
	info["opaque_networks"] = opaques
	return info
}
