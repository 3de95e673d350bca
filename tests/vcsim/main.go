// Command vcsim-launcher runs a govmomi 0.24.2 vCenter simulator (simulator.VPX model)
// for the collection's tests, with a shaped inventory, optional TLS, the /rest
// (vAPI) endpoints, and the two RelocateVM_Task gaps of vcsim 0.24.2 closed
// (see relocate.go and README.md).
//
// Build: GOPATH=/usr/share/gocode GO111MODULE=off go build -o vcsim-launcher .
package main

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // registers the /rest endpoints
	"github.com/vmware/govmomi/vim25"
)

type options struct {
	listen       string
	tls          bool
	certFile     string
	infoFile     string
	username     string
	password     string
	dc           int
	cluster      int
	host         int
	vm           int
	nics         int
	ds           int
	pg           int
	nsxSegments  int
	opaque       int
	vdsVersion   string
	apiVersion   string
	instanceUUID string
	relocateMs   int
	keepSource   bool
	sessionIdle  time.Duration
}

func parseFlags() *options {
	o := &options{}
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on; port 0 picks a free port")
	flag.BoolVar(&o.tls, "tls", false, "serve https with a freshly generated self-signed certificate")
	flag.StringVar(&o.certFile, "cert", "", "where to write the PEM certificate (default: <info file>.pem, else a temp file)")
	flag.StringVar(&o.infoFile, "info", "", "write a JSON description of the instance to this file once it is serving")
	flag.StringVar(&o.username, "username", "user", "SOAP login user name")
	flag.StringVar(&o.password, "password", "pass", "SOAP login password")
	flag.IntVar(&o.dc, "dc", 1, "number of datacenters")
	flag.IntVar(&o.cluster, "cluster", 1, "clusters per datacenter")
	flag.IntVar(&o.host, "host", 3, "hosts per cluster")
	flag.IntVar(&o.vm, "vm", 2, "VMs per host (placed on that host, in its cluster's root resource pool)")
	flag.IntVar(&o.nics, "nics", 1, "NICs per VM (device keys 4000, 4001, ...)")
	flag.IntVar(&o.ds, "ds", 1, "datastores per datacenter (mounted on every host)")
	flag.IntVar(&o.pg, "pg", 1, "plain (VLAN) DVPGs per datacenter; the first backs the VMs' NICs")
	flag.IntVar(&o.nsxSegments, "nsx-segments", 0, "NSX-backed DVPGs per datacenter (config.backingType nsx + logicalSwitchUuid)")
	flag.IntVar(&o.opaque, "opaque", 0, "opaque networks (nsx.LogicalSwitch) per datacenter")
	flag.StringVar(&o.vdsVersion, "vds-version", "6.6.0", "productInfo.version reported by every VDS")
	flag.StringVar(&o.apiVersion, "api-version", "7.0.3.0", "about.apiVersion (about.version is derived from it)")
	flag.StringVar(&o.instanceUUID, "instance-uuid", "", "about.instanceUuid (default: random)")
	flag.IntVar(&o.relocateMs, "relocate-ms", 1000, "how long a RelocateVM_Task stays running")
	flag.BoolVar(&o.keepSource, "xvc-keep-source", false, "cross-vCenter relocation: keep the VM on the source (marked) instead of removing it")
	flag.DurationVar(&o.sessionIdle, "session-idle", 0, "end SOAP sessions idle this long, e.g. 2s (0: never); checked every period, so an idle session ends after 1-2 periods")
	flag.Parse()
	if o.instanceUUID == "" {
		o.instanceUUID = uuid.New().String()
	}
	return o
}

func main() {
	log.SetPrefix("vcsim-launcher: ")
	o := parseFlags()
	ctx := context.Background()

	model := simulator.VPX()
	about := &model.ServiceContent.About
	about.ApiVersion = o.apiVersion
	about.Version = shortVersion(o.apiVersion)
	about.FullName = "VMware vCenter Server " + about.Version + " build-vcsim"
	about.InstanceUuid = o.instanceUUID
	model.Datacenter = o.dc
	model.Cluster = o.cluster
	model.ClusterHost = o.host
	model.Host = 0    // no standalone hosts
	model.Machine = 0 // VMs are created below, so we control UUIDs, NICs and placement
	model.Datastore = o.ds
	model.Portgroup = o.pg
	model.PortgroupNSX = o.nsxSegments
	model.OpaqueNetwork = o.opaque

	// Model.Create leaves inside temp directories (datastores) that Remove cleans up.
	if err := model.Create(); err != nil {
		log.Fatalf("create model: %s", err)
	}
	defer model.Remove()

	// In-process client: calls go straight to the simulator (no HTTP, no middleware).
	vc, err := vim25.NewClient(ctx, model.Service)
	if err != nil {
		log.Fatalf("in-process client: %s", err)
	}

	fixDVS(o)
	if err := createVMs(ctx, vc, o); err != nil {
		log.Fatalf("create VMs: %s", err)
	}

	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: o.listen, User: url.UserPassword(o.username, o.password)}
	var certPEM []byte
	if o.tls {
		cfg, pemBytes, err := selfSignedTLS()
		if err != nil {
			log.Fatalf("tls: %s", err)
		}
		model.Service.TLS, certPEM = cfg, pemBytes
	}

	simulator.SessionIdleTimeout = o.sessionIdle // read at each login
	srv := model.Service.NewServer()
	r := &relocator{next: srv.Config.Handler, vc: vc, opts: o}
	// Wrapping after start is safe: nobody knows the port yet, so no request has arrived.
	srv.Config.Handler = r

	info := describe(o, srv.URL)
	if o.tls {
		path := o.certFile
		if path == "" && o.infoFile != "" {
			path = strings.TrimSuffix(o.infoFile, filepath.Ext(o.infoFile)) + ".pem"
		}
		if path == "" {
			f, err := ioutil.TempFile("", "vcsim-*.pem")
			if err != nil {
				log.Fatal(err)
			}
			path = f.Name()
			f.Close()
		}
		if err := ioutil.WriteFile(path, certPEM, 0644); err != nil {
			log.Fatal(err)
		}
		der := model.Service.TLS.Certificates[0].Certificate[0]
		info["cert_path"], _ = filepath.Abs(path)
		info["thumbprint"] = thumbprint(der)
	}
	if o.infoFile != "" {
		if err := writeJSONAtomic(o.infoFile, info); err != nil {
			log.Fatalf("write info: %s", err)
		}
	}
	log.Printf("serving %s (instanceUuid %s)", info["url"], o.instanceUUID)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	// No srv.Close(): it would wait for long-polling WaitForUpdatesEx calls.
	model.Remove()
	os.Exit(0)
}

// shortVersion turns "7.0.3.0" into "7.0.3" (about.version has three parts).
func shortVersion(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Join(parts, ".")
}

// thumbprint is the SHA-1 of the DER certificate as upper-case colon hex, as vSphere shows it.
func thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}

// normThumbprint makes thumbprints comparable (case and separators vary between clients).
func normThumbprint(s string) string {
	return strings.ToUpper(strings.NewReplacer(":", "", "-", "", " ", "").Replace(s))
}

func writeJSONAtomic(path string, v interface{}) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := ioutil.WriteFile(tmp, b, 0644); err != nil {
		return err
	}
	return os.Rename(tmp, path) // readers never see a half-written file
}

// derivedUUID gives a stable UUID per launcher instance and name, so two launchers
// never share VM or DVS UUIDs. prefix replaces the first two hex digits (vCenter
// assigns instance UUIDs starting "50", BIOS UUIDs start "42").
func derivedUUID(o *options, kind, name, prefix string) string {
	s := uuid.NewSHA1(uuid.NameSpaceOID, []byte(o.instanceUUID+"/"+kind+"/"+name)).String()
	return prefix + s[len(prefix):]
}
