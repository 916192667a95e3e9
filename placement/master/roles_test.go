package master

import (
	"fmt"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement"
	"github.com/berth-platform/berth/placement/marathon"
)

// rolesMaster has n agents; every tenth offers only "slave_public".
func rolesMaster(n int) (*Master, []placement.Offer) {
	m := &Master{agents: map[string]*agent{}}
	var offers []placement.Offer
	for i := range n {
		id := fmt.Sprintf("a%d", i)
		reg := wire.Registration{ID: id}
		if i%10 == 0 {
			reg.Roles = []string{"slave_public"}
		}
		m.agents[id] = &agent{reg: reg}
		offers = append(offers, placement.Offer{Agent: placement.Agent{ID: id}})
	}
	return m, offers
}

func TestRoleOffers(t *testing.T) {
	m, offers := rolesMaster(20)
	for _, tc := range []struct {
		roles []string
		kept  int
	}{{nil, 18}, {[]string{"*"}, 18}, {[]string{"slave_public"}, 2}, {[]string{"*", "slave_public"}, 20}, {[]string{"ops"}, 0}} {
		kept, out := m.roleOffers(&marathon.App{AcceptedResourceRoles: tc.roles}, offers)
		if len(kept) != tc.kept || out != 20-tc.kept {
			t.Errorf("%v: kept %d, left out %d; want %d", tc.roles, len(kept), out, tc.kept)
		}
	}
}

// BenchmarkRoleOffers: the filter before each app's placement, 1,000
// agents; "star" is a cluster without --roles (no copy).
func BenchmarkRoleOffers(b *testing.B) {
	m, offers := rolesMaster(1000)
	star, _ := rolesMaster(1000)
	for _, a := range star.agents {
		a.reg.Roles = nil
	}
	app := &marathon.App{}
	b.Run("star", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			star.roleOffers(app, offers)
		}
	})
	b.Run("mixed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.roleOffers(app, offers)
		}
	})
}
