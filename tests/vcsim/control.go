package main

// Test control of the relocations (not part of vSphere): /_launcher/tasks lists every
// RelocateVM_Task the launcher ran, /_launcher/fault arms a dropped answer. Served on the
// same port as /sdk, outside it, so no SOAP client ever reaches these paths by accident.

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type relocation struct {
	task    *simulator.Task
	vm      types.ManagedObjectReference
	vmName  string
	started time.Time
}

type control struct {
	mu          sync.Mutex
	relocations []relocation
	dropAnswers int // RelocateVM_Task calls whose answer is dropped after the task started
	faults      []*callFault
}

// callFault disturbs the next Count calls of one SOAP method (after Skip calls pass): the answer is
// delayed by DelayMs, and with Drop the connection is closed without an answer, after the
// simulator ran the call (After, "the server acted, the answer was lost") or before (not run).
type callFault struct {
	Method  string `json:"method"`
	Count   int    `json:"count"`
	Skip    int    `json:"skip"`
	Drop    bool   `json:"drop"`
	After   bool   `json:"after"`
	DelayMs int    `json:"delay_ms"`
}

// takeFault: the fault armed for this call of METHOD, if any (consumes one).
func (c *control) takeFault(method string) *callFault {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.faults {
		if f.Method != method || f.Count <= 0 {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			return nil
		}
		f.Count--
		copy := *f
		return &copy
	}
	return nil
}

func (c *control) record(t *simulator.Task, vm types.ManagedObjectReference) {
	name := ""
	if v, ok := simulator.Map.Get(vm).(*simulator.VirtualMachine); ok {
		simulator.Map.WithLock(v, func() { name = v.Name })
	}
	c.mu.Lock()
	c.relocations = append(c.relocations, relocation{task: t, vm: vm, vmName: name, started: time.Now()})
	c.mu.Unlock()
}

// takeDrop: whether this RelocateVM_Task's answer must be dropped (consumes one).
func (c *control) takeDrop() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropAnswers > 0 {
		c.dropAnswers--
		return true
	}
	return false
}

func (c *control) serve(w http.ResponseWriter, req *http.Request) bool {
	switch req.URL.Path {
	case "/_launcher/tasks":
		c.mu.Lock()
		list := append([]relocation(nil), c.relocations...)
		c.mu.Unlock()
		out := []map[string]interface{}{}
		for _, r := range list {
			var state types.TaskInfoState
			var msg string
			simulator.Map.WithLock(r.task, func() {
				state = r.task.Info.State
				if r.task.Info.Error != nil {
					msg = r.task.Info.Error.LocalizedMessage
				}
			})
			out = append(out, map[string]interface{}{"task": r.task.Self.Value, "name": "RelocateVM_Task",
				"vm": r.vm.Value, "vm_name": r.vmName, "state": string(state), "error": msg,
				"started": r.started.UTC().Format(time.RFC3339Nano)})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
		return true
	case "/_launcher/fault":
		var spec struct {
			DropRelocateAnswers int        `json:"drop_relocate_answers"`
			Call                *callFault `json:"call"`
		}
		if req.Method != http.MethodPost || json.NewDecoder(req.Body).Decode(&spec) != nil ||
			(spec.Call != nil && (spec.Call.Method == "" || spec.Call.Count <= 0)) {
			w.WriteHeader(http.StatusBadRequest)
			return true
		}
		c.mu.Lock()
		if spec.Call != nil {
			c.faults = append(c.faults, spec.Call)
		} else {
			c.dropAnswers = spec.DropRelocateAnswers
		}
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// dropConnection closes the client's connection without an answer ("the server acted, the answer was lost").
func dropConnection(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// trackOnVM keeps the VM's recentTask (ManagedEntity.recentTask) listing its running
// relocation, as vCenter does; vcsim 0.24.2 never fills it.
func trackOnVM(vm types.ManagedObjectReference, t types.ManagedObjectReference, add bool) {
	v, ok := simulator.Map.Get(vm).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	simulator.Map.WithLock(v, func() {
		var list []types.ManagedObjectReference
		for _, r := range v.RecentTask {
			if r != t {
				list = append(list, r)
			}
		}
		if add {
			list = append(list, t)
		}
		simulator.Map.Update(v, []types.PropertyChange{{Name: "recentTask", Val: list}})
	})
}
