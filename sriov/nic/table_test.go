package nic

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteTable(t *testing.T) {
	unknown := NIC{Name: "enp3s0", Bus: BusPCI, PCIAddress: "0000:03:00.0", Driver: "r8169", OperState: "down",
		Offload:      Offload{HWTCOffload: FeatureUnknown},
		Capabilities: LookupCapabilities("r8169", "10ec", "8168")}
	tests := []struct {
		name string
		nics []NIC
		want string
	}{
		{
			name: "SR-IOV NICs",
			nics: []NIC{wantCX6, wantE810, wantIxgbe, wantNetdevsim},
			want: `
NAME          PCI           DRIVER     FIRMWARE                    LINK  SPEED    VFS    ESWITCH    OFFLOAD  FAMILY
enp59s0f0np0  0000:3b:00.0  mlx5_core  22.39.1002 (MT_0000000359)  up    100Gb/s  2/8    switchdev  tc:on    NVIDIA ConnectX-6 Dx
ens5f0np0     0000:af:00.0  ice        4.40 0x8001af1c 1.3429.0    up    25Gb/s   2/128  legacy     tc:off   Intel E810-C
enp4s0f0      0000:04:00.0  ixgbe      0x61bd0001                  down  -        2/63   -          tc:off   Intel 82599/X540/X550 (ixgbe)
eth1          -             netdevsim  10.20.30                    down  -        2      switchdev  tc:off   netdevsim (simulated)
`,
		},
		{
			name: "no SR-IOV",
			nics: []NIC{wantE1000e, wantVirtio, unknown},
			want: `
NAME    PCI           DRIVER      FIRMWARE  LINK  SPEED  VFS  ESWITCH  OFFLOAD  FAMILY
eno1    0000:00:1f.6  e1000e      0.8-4     up    1Gb/s  -    -        none     Intel PRO/1000 PCIe (e1000e)
eth0    0000:00:03.0  virtio_net  -         up    -      -    -        none     virtio-net (paravirtual)
enp3s0  0000:03:00.0  r8169       -         down  -      -    -        -        unknown
no SR-IOV capable NIC found on this host (3 NICs seen)
`,
		},
		{
			name: "no NIC",
			want: `
NAME  PCI  DRIVER  FIRMWARE  LINK  SPEED  VFS  ESWITCH  OFFLOAD  FAMILY
no SR-IOV capable NIC found on this host (0 NICs seen)
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTable(&b, tt.nics); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimPrefix(tt.want, "\n"), b.String()); diff != "" {
				t.Errorf("WriteTable (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpeed(t *testing.T) {
	for mbps, want := range map[int]string{0: "-", -1: "-", 100: "100Mb/s", 2500: "2500Mb/s", 25000: "25Gb/s"} {
		if got := speed(mbps); got != want {
			t.Errorf("speed(%d) = %q, want %q", mbps, got, want)
		}
	}
}
