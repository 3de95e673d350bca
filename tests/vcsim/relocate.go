package main

// Closing vcsim 0.24.2's RelocateVM_Task gaps (nsx.md 7.1): the simulator runs the task
// synchronously and ignores deviceChange and service. relocator wraps the /sdk handler:
//
//  1. It forwards the call with an EMPTY spec, so the simulator still checks the session
//     and the VM and creates a Task (which it finishes at once, doing nothing).
//  2. Before the client sees the response, the task is put back to "running" with
//     Map.Update (WaitForUpdatesEx waiters are notified by Map.Update).
//  3. After -relocate-ms, the real work is done through an in-process client (no HTTP,
//     so not intercepted again): placement via the simulator's own RelocateVM_Task,
//     deviceChange via ReconfigVM_Task; a cross-vCenter spec creates the VM on the
//     target launcher. Then the task ends in success or error, again via Map.Update.

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io/ioutil"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

type relocator struct {
	next http.Handler
	vc   *vim25.Client // in-process client
	opts *options
	ctl  control
}

var taskRef = regexp.MustCompile(`<returnval type="Task">([^<]+)</returnval>`)

// soapMethod: the name of the first element in the SOAP body (the method called).
var soapMethod = regexp.MustCompile(`<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)`)

// disturb applies an armed call fault (control.go); true when the call was fully handled here.
func (r *relocator) disturb(w http.ResponseWriter, req *http.Request, body []byte) bool {
	m := soapMethod.FindSubmatch(body)
	if m == nil {
		return false
	}
	f := r.ctl.takeFault(string(m[1]))
	if f == nil {
		return false
	}
	time.Sleep(time.Duration(f.DelayMs) * time.Millisecond)
	if !f.Drop {
		return false
	}
	if f.After {
		r.next.ServeHTTP(httptest.NewRecorder(), req)
	}
	log.Printf("answer of %s dropped (fault, after=%v)", f.Method, f.After)
	return dropConnection(w)
}

// typeFunc mirrors the simulator's (unexported) decoder type lookup, which also
// accepts namespace-prefixed xsi:type names.
func typeFunc(name string) (reflect.Type, bool) {
	fn := types.TypeFunc()
	if t, ok := fn(name); ok {
		return t, ok
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return fn(name[i+1:])
	}
	return nil, false
}

func (r *relocator) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.ctl.serve(w, req) {
		return
	}
	if req.Method != http.MethodPost || req.URL.Path != "/sdk" {
		r.next.ServeHTTP(w, req)
		return
	}
	body, err := ioutil.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	req.Body = ioutil.NopCloser(bytes.NewReader(body))
	if r.disturb(w, req, body) {
		return
	}
	if !bytes.Contains(body, []byte("RelocateVM_Task")) {
		r.next.ServeHTTP(w, req)
		return
	}
	method, err := simulator.UnmarshalBody(typeFunc, body)
	if err != nil || method.Name != "RelocateVM_Task" {
		r.next.ServeHTTP(w, req) // let the simulator report its own decode error
		return
	}
	call := method.Body.(*types.RelocateVM_Task)

	fwd, err := emptyRelocate(call.This)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	req2 := req.Clone(req.Context())
	req2.Body = ioutil.NopCloser(bytes.NewReader(fwd))
	req2.ContentLength = int64(len(fwd))
	rec := httptest.NewRecorder()
	r.next.ServeHTTP(rec, req2)

	if rec.Code == http.StatusOK {
		if m := taskRef.FindSubmatch(rec.Body.Bytes()); m != nil {
			ref := types.ManagedObjectReference{Type: "Task", Value: string(m[1])}
			if t, ok := simulator.Map.Get(ref).(*simulator.Task); ok {
				r.start(t, call.This, call.Spec)
				if r.ctl.takeDrop() && dropConnection(w) {
					log.Printf("%s: answer of RelocateVM_Task dropped (fault)", t.Self.Value)
					return
				}
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// emptyRelocate encodes a RelocateVM_Task SOAP request with an empty spec.
func emptyRelocate(vm types.ManagedObjectReference) ([]byte, error) {
	env := soap.Envelope{Body: &methods.RelocateVM_TaskBody{Req: &types.RelocateVM_Task{This: vm}}}
	b, err := xml.Marshal(env)
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}

func update(t *simulator.Task, changes ...types.PropertyChange) {
	simulator.Map.WithLock(t, func() { simulator.Map.Update(t, changes) })
}

// finish ends a task; Map.Update wakes WaitForUpdatesEx waiters.
func finish(t *simulator.Task, fault types.BaseMethodFault, msg string) {
	state := types.TaskInfoStateSuccess
	var lf interface{}
	if fault != nil {
		state = types.TaskInfoStateError
		if msg == "" {
			msg = fmt.Sprintf("%T", fault)
		}
		lf = types.LocalizedMethodFault{Fault: fault, LocalizedMessage: msg}
		log.Printf("%s: relocation failed: %s", t.Self.Value, msg)
	}
	update(t,
		types.PropertyChange{Name: "info.progress", Val: int32(100)},
		types.PropertyChange{Name: "info.completeTime", Val: time.Now()},
		types.PropertyChange{Name: "info.state", Val: state},
		types.PropertyChange{Name: "info.result", Val: nil},
		types.PropertyChange{Name: "info.error", Val: lf},
	)
}

func (r *relocator) start(t *simulator.Task, vm types.ManagedObjectReference, spec types.VirtualMachineRelocateSpec) {
	// vSphere's names for the task (vcsim says "RelocateVm"); the inner tasks keep vcsim's names.
	update(t,
		types.PropertyChange{Name: "info.name", Val: "RelocateVM_Task"},
		types.PropertyChange{Name: "info.descriptionId", Val: "VirtualMachine.relocate"},
	)
	r.ctl.record(t, vm)
	cross := spec.Service != nil && spec.Service.InstanceUuid != r.opts.instanceUUID
	if !cross {
		// vCenter rejects unknown placement targets up front: no waiting.
		if fault, msg := validatePlacement(spec); fault != nil {
			finish(t, fault, msg)
			return
		}
	}
	trackOnVM(vm, t.Self, true)
	update(t,
		types.PropertyChange{Name: "info.state", Val: types.TaskInfoStateRunning},
		types.PropertyChange{Name: "info.startTime", Val: time.Now()},
		types.PropertyChange{Name: "info.completeTime", Val: nil},
		types.PropertyChange{Name: "info.progress", Val: int32(0)},
	)
	go func() {
		time.Sleep(time.Duration(r.opts.relocateMs) * time.Millisecond)
		ctx := context.Background()
		var fault types.BaseMethodFault
		var msg string
		if cross {
			fault, msg = r.relocateCross(ctx, vm, spec)
		} else {
			fault, msg = r.relocateLocal(ctx, vm, spec)
		}
		trackOnVM(vm, t.Self, false)
		finish(t, fault, msg)
	}()
}

// validatePlacement: the simulator's own RelocateVM_Task panics on unknown morefs.
func validatePlacement(spec types.VirtualMachineRelocateSpec) (types.BaseMethodFault, string) {
	check := []struct {
		ref  *types.ManagedObjectReference
		kind string
	}{{spec.Host, "HostSystem"}, {spec.Pool, "ResourcePool"}, {spec.Datastore, "Datastore"}, {spec.Folder, "Folder"}}
	for _, c := range check {
		if c.ref == nil {
			continue
		}
		if o := simulator.Map.Get(*c.ref); o == nil || c.ref.Type != c.kind {
			return &types.ManagedObjectNotFound{Obj: *c.ref},
				fmt.Sprintf("The object '%s:%s' has already been deleted or has not been completely created", c.ref.Type, c.ref.Value)
		}
	}
	if spec.Host != nil && spec.Pool != nil {
		host := simulator.Map.Get(*spec.Host).(*simulator.HostSystem)
		pool := simulator.Map.Get(*spec.Pool).(*simulator.ResourcePool)
		if host.Parent == nil || *host.Parent != pool.Owner {
			return &types.InvalidArgument{InvalidProperty: "spec.host"}, "host is not part of the pool's cluster"
		}
	}
	return nil, ""
}

// faultOf turns a govmomi error into a vim fault for the relocation task.
func faultOf(err error) (types.BaseMethodFault, string) {
	if err == nil {
		return nil, ""
	}
	if te, ok := err.(task.Error); ok {
		return te.Fault(), te.LocalizedMessage
	}
	if soap.IsSoapFault(err) {
		f := soap.ToSoapFault(err).VimFault()
		if bf, ok := f.(types.BaseMethodFault); ok {
			return bf, err.Error()
		}
		if f != nil { // decoded as a value (e.g. types.InvalidLogin): the interface needs a pointer
			p := reflect.New(reflect.TypeOf(f))
			p.Elem().Set(reflect.ValueOf(f))
			if bf, ok := p.Interface().(types.BaseMethodFault); ok {
				return bf, err.Error()
			}
		}
	}
	return &types.SystemError{Reason: err.Error()}, err.Error()
}

func wait(ctx context.Context, t *object.Task, err error) error {
	if err != nil {
		return err
	}
	_, err = t.WaitForResult(ctx, nil)
	return err
}

func (r *relocator) relocateLocal(ctx context.Context, ref types.ManagedObjectReference, spec types.VirtualMachineRelocateSpec) (types.BaseMethodFault, string) {
	vmo, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return &types.ManagedObjectNotFound{Obj: ref}, "VM is gone"
	}
	vm := object.NewVirtualMachine(r.vc, ref)

	if len(spec.DeviceChange) > 0 {
		if fault, msg := validateBackings(spec.DeviceChange); fault != nil {
			return fault, msg
		}
	}

	if spec.Host != nil || spec.Pool != nil || spec.Datastore != nil || spec.Folder != nil {
		var oldHost, oldPool *types.ManagedObjectReference
		var oldDS []types.ManagedObjectReference
		simulator.Map.WithLock(vmo, func() {
			oldHost, oldPool = vmo.Runtime.Host, vmo.ResourcePool
			oldDS = append(oldDS, vmo.Datastore...)
		})
		place := types.VirtualMachineRelocateSpec{Host: spec.Host, Pool: spec.Pool, Datastore: spec.Datastore, Folder: spec.Folder}
		t, err := vm.Relocate(ctx, place, "")
		if err := wait(ctx, t, err); err != nil {
			return faultOf(err)
		}
		fixBackReferences(vmo, spec, oldHost, oldPool, oldDS)
	}

	if len(spec.DeviceChange) > 0 {
		t, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: spec.DeviceChange})
		if err := wait(ctx, t, err); err != nil {
			return faultOf(err)
		}
		fixNetworks(vmo)
	}
	return nil, ""
}

// fixBackReferences: vcsim's relocate updates the VM side only; keep host.vm,
// resourcePool.vm and datastore.vm consistent too.
func fixBackReferences(vm *simulator.VirtualMachine, spec types.VirtualMachineRelocateSpec,
	oldHost, oldPool *types.ManagedObjectReference, oldDS []types.ManagedObjectReference) {
	move := func(old, new *types.ManagedObjectReference, field func(mo.Reference) *[]types.ManagedObjectReference) {
		if old == nil || new == nil || *old == *new {
			return
		}
		if o := simulator.Map.Get(*old); o != nil {
			simulator.Map.RemoveReference(o, field(o), vm.Self) // takes the object's lock itself
		}
		if n := simulator.Map.Get(*new); n != nil {
			simulator.Map.AddReference(n, field(n), vm.Self)
		}
	}
	hostVMs := func(o mo.Reference) *[]types.ManagedObjectReference { return &o.(*simulator.HostSystem).Vm }
	poolVMs := func(o mo.Reference) *[]types.ManagedObjectReference { return &o.(*simulator.ResourcePool).Vm }
	dsVMs := func(o mo.Reference) *[]types.ManagedObjectReference { return &o.(*simulator.Datastore).Vm }
	move(oldHost, spec.Host, hostVMs)
	move(oldPool, spec.Pool, poolVMs)
	if spec.Datastore != nil {
		for i := range oldDS {
			move(&oldDS[i], spec.Datastore, dsVMs)
		}
	}
}

// validateBackings: vcsim checks only the DVS uuid of a DVPG backing; a real move
// fails if the portgroup or the opaque network does not exist, so check both.
func validateBackings(changes []types.BaseVirtualDeviceConfigSpec) (types.BaseMethodFault, string) {
	for i, c := range changes {
		card, ok := c.GetVirtualDeviceConfigSpec().Device.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		bad := &types.InvalidDeviceBacking{InvalidDeviceSpec: types.InvalidDeviceSpec{DeviceIndex: int32(i)}}
		switch b := card.GetVirtualEthernetCard().Backing.(type) {
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			ref := types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: b.Port.PortgroupKey}
			pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
			if !ok {
				return bad, fmt.Sprintf("deviceChange[%d]: portgroup %q not found", i, b.Port.PortgroupKey)
			}
			dvs, ok := simulator.Map.Get(*pg.Config.DistributedVirtualSwitch).(*simulator.DistributedVirtualSwitch)
			if !ok || dvs.Uuid != b.Port.SwitchUuid {
				return bad, fmt.Sprintf("deviceChange[%d]: portgroup %q is not on switch %q", i, b.Port.PortgroupKey, b.Port.SwitchUuid)
			}
		case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
			if opaqueNetwork(b.OpaqueNetworkId) == nil {
				return bad, fmt.Sprintf("deviceChange[%d]: opaque network %q not found", i, b.OpaqueNetworkId)
			}
		}
	}
	return nil, ""
}

func opaqueNetwork(id string) *mo.OpaqueNetwork {
	for _, e := range simulator.Map.All("OpaqueNetwork") {
		n := e.(*mo.OpaqueNetwork)
		if s, ok := n.Summary.(*types.OpaqueNetworkSummary); ok && s.OpaqueNetworkId == id {
			return n
		}
	}
	return nil
}

// fixNetworks recomputes vm.network and the NIC count from the NIC backings: vcsim
// appends on every NIC edit (and an empty moref for opaque backings).
func fixNetworks(vm *simulator.VirtualMachine) {
	simulator.Map.WithLock(vm, func() {
		var nets []types.ManagedObjectReference
		seen := map[types.ManagedObjectReference]bool{}
		count := int32(0)
		for _, d := range vm.Config.Hardware.Device {
			card, ok := d.(types.BaseVirtualEthernetCard)
			if !ok {
				continue
			}
			count++
			var ref *types.ManagedObjectReference
			switch b := card.GetVirtualEthernetCard().Backing.(type) {
			case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
				ref = &types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: b.Port.PortgroupKey}
			case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
				if n := opaqueNetwork(b.OpaqueNetworkId); n != nil {
					ref = &n.Self
				}
			case *types.VirtualEthernetCardNetworkBackingInfo:
				ref = b.Network
			}
			if ref != nil && ref.Value != "" && !seen[*ref] {
				seen[*ref] = true
				nets = append(nets, *ref)
			}
		}
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "network", Val: nets},
			{Name: "summary.config.numEthernetCards", Val: count},
		})
	})
}

// relocateCross emulates a cross-vCenter vMotion between two launchers: the VM is
// created on the target (same name, BIOS and instance UUID, NICs after deviceChange)
// and removed from the source (or kept and marked with -xvc-keep-source).
func (r *relocator) relocateCross(ctx context.Context, ref types.ManagedObjectReference, spec types.VirtualMachineRelocateSpec) (types.BaseMethodFault, string) {
	svc := spec.Service
	invalid := func(p, msg string) (types.BaseMethodFault, string) {
		return &types.InvalidArgument{InvalidProperty: p}, msg
	}
	u, err := url.Parse(svc.Url)
	if err != nil || u.Host == "" {
		return invalid("spec.service.url", "invalid service url")
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		// A test emulator must never reach out to real machines.
		return invalid("spec.service.url", "vcsim-launcher only relocates to 127.0.0.1")
	}
	if spec.Host == nil || spec.Pool == nil || spec.Datastore == nil || spec.Folder == nil {
		return invalid("spec", "cross-vCenter relocation needs host, pool, datastore and folder")
	}
	cred, ok := svc.Credential.(*types.ServiceLocatorNamePassword)
	if !ok {
		return invalid("spec.service.credential", "only ServiceLocatorNamePassword credentials are supported")
	}
	if u.Scheme == "https" {
		actual, err := peerThumbprint(u)
		if err != nil {
			return &types.HostConnectFault{}, err.Error()
		}
		if normThumbprint(svc.SslThumbprint) != normThumbprint(actual) {
			return &types.SSLVerifyFault{SelfSigned: true, Thumbprint: actual},
				"Authenticity of the host's SSL certificate is not verified."
		}
	}
	u.User = url.UserPassword(cred.Username, cred.Password)
	target, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		if soap.IsSoapFault(err) {
			return faultOf(err)
		}
		return &types.HostConnectFault{}, err.Error()
	}
	defer func() { _ = target.Logout(ctx) }()
	if got := target.ServiceContent.About.InstanceUuid; got != svc.InstanceUuid {
		return invalid("spec.service.instanceUuid", fmt.Sprintf("target instanceUuid is %s", got))
	}

	names := map[types.ManagedObjectReference]string{}
	pc := property.DefaultCollector(target.Client)
	for _, ref := range []types.ManagedObjectReference{*spec.Host, *spec.Pool, *spec.Datastore, *spec.Folder} {
		var e mo.ManagedEntity
		if err := pc.RetrieveOne(ctx, ref, []string{"name"}, &e); err != nil || e.Name == "" {
			return &types.ManagedObjectNotFound{Obj: ref}, fmt.Sprintf("target has no %s:%s", ref.Type, ref.Value)
		}
		names[ref] = e.Name
	}

	vmo, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return &types.ManagedObjectNotFound{Obj: ref}, "VM is gone"
	}
	// Snapshot what moves with the VM; NICs take their deviceChange version if any.
	edits := map[int32]types.BaseVirtualDevice{}
	for _, c := range spec.DeviceChange {
		s := c.GetVirtualDeviceConfigSpec()
		if s.Operation == types.VirtualDeviceConfigSpecOperationEdit {
			edits[s.Device.GetVirtualDevice().Key] = s.Device
		}
	}
	var config types.VirtualMachineConfigSpec
	poweredOn := false
	simulator.Map.WithLock(vmo, func() {
		c := vmo.Config
		config = types.VirtualMachineConfigSpec{
			Name: c.Name, GuestId: c.GuestId, NumCPUs: c.Hardware.NumCPU, MemoryMB: int64(c.Hardware.MemoryMB),
			Uuid: c.Uuid, InstanceUuid: c.InstanceUuid, Annotation: c.Annotation,
			Files:       &types.VirtualMachineFileInfo{VmPathName: "[" + names[*spec.Datastore] + "]"},
			ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "vcsim.relocatedFrom", Value: r.opts.instanceUUID}},
		}
		for _, d := range c.Hardware.Device {
			if _, ok := d.(types.BaseVirtualEthernetCard); !ok {
				continue // disks and controllers are not copied (see README)
			}
			if e, ok := edits[d.GetVirtualDevice().Key]; ok {
				d = e
			}
			config.DeviceChange = append(config.DeviceChange, &types.VirtualDeviceConfigSpec{
				Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: d,
			})
		}
		poweredOn = vmo.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
	})

	folder := object.NewFolder(target.Client, *spec.Folder)
	pool := object.NewResourcePool(target.Client, *spec.Pool)
	host := object.NewHostSystem(target.Client, *spec.Host)
	t, err := folder.CreateVM(ctx, config, pool, host)
	if err != nil {
		return faultOf(err)
	}
	res, err := t.WaitForResult(ctx, nil)
	if err != nil {
		// Typically a NIC still backed by a source network: networks do not carry over.
		fault, msg := faultOf(err)
		return fault, "creating the VM on the target failed: " + msg
	}
	if poweredOn {
		moved := object.NewVirtualMachine(target.Client, res.Result.(types.ManagedObjectReference))
		t, err := moved.PowerOn(ctx)
		if err := wait(ctx, t, err); err != nil {
			return faultOf(err)
		}
	}

	vm := object.NewVirtualMachine(r.vc, ref)
	if r.opts.keepSource {
		t, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{
			ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "vcsim.relocatedTo", Value: svc.InstanceUuid}},
			Annotation:  "relocated-to=" + svc.InstanceUuid,
		})
		return faultOf(wait(ctx, t, err))
	}
	if poweredOn {
		t, err := vm.PowerOff(ctx)
		if err := wait(ctx, t, err); err != nil {
			return faultOf(err)
		}
	}
	t, err = vm.Destroy(ctx)
	return faultOf(wait(ctx, t, err))
}

// peerThumbprint fetches the SHA-1 thumbprint of the certificate u serves.
func peerThumbprint(u *url.URL) (string, error) {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true}) // we verify the thumbprint ourselves
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return thumbprint(conn.ConnectionState().PeerCertificates[0].Raw), nil
}
