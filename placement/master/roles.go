package master

import (
	"strings"

	"github.com/berth-platform/berth/placement"
	"github.com/berth-platform/berth/placement/marathon"
)

// Resource roles. An agent offers its resources to the roles it
// registered with (`berth agent --roles`, default "*"); an app takes
// offers of the roles in its acceptedResourceRoles (default "*", as
// Marathon's --default_accepted_resource_roles with the framework role
// "*"). Agents offering none of them are left out of the app's placement
// and counted in its explanation under UnfulfilledRole.

// offersRole reports whether the agent offers one of roles.
func offersRole(a *agent, roles []string) bool {
	offered := a.reg.Roles
	if len(offered) == 0 {
		offered = []string{"*"}
	}
	for _, r := range roles {
		for _, o := range offered {
			if r == o {
				return true
			}
		}
	}
	return false
}

// acceptedRoles is the app's acceptedResourceRoles or ["*"].
func acceptedRoles(app *marathon.App) []string {
	if len(app.AcceptedResourceRoles) == 0 {
		return []string{"*"}
	}
	return app.AcceptedResourceRoles
}

// roleOffers returns the offers the app may use and how many agents were
// left out for their roles. Without any agent left out it is offers
// itself (no copy: the common case of a cluster without roles).
func (m *Master) roleOffers(app *marathon.App, offers []placement.Offer) ([]placement.Offer, int) {
	roles := acceptedRoles(app)
	out := 0
	for _, o := range offers {
		if a := m.agents[o.ID]; a != nil && !offersRole(a, roles) {
			out++
		}
	}
	if out == 0 {
		return offers, 0
	}
	kept := make([]placement.Offer, 0, len(offers)-out)
	for _, o := range offers {
		if a := m.agents[o.ID]; a == nil || offersRole(a, roles) {
			kept = append(kept, o)
		}
	}
	return kept, out
}

// roleReason is the explanation's line for agents left out for roles.
func roleReason(app *marathon.App) string {
	return "UnfulfilledRole: acceptedResourceRoles [" + strings.Join(acceptedRoles(app), ", ") + "] not offered"
}
