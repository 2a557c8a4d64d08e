package api

// DryRun is the answer of POST /api/v1/policies/{name}/dryrun: what one
// scheduling pass with the policy would do on the group's live state,
// without committing anything.
type DryRun struct {
	Placements []DryRunPlacement `json:"placements"`
	// Waiting maps each session that would stay pending to the reason.
	Waiting map[string]string `json:"waiting"`
	// Dropped lists picks the re-check refused.
	Dropped []DryRunDropped `json:"dropped,omitempty"`
	// DecideMS is the time spent inside the policy, in milliseconds.
	DecideMS float64 `json:"decide_ms"`
	// Policy is the policy that ran; Error is set when it failed.
	Policy string `json:"policy"`
	Error  string `json:"error,omitempty"`
}

// DryRunPlacement is one placement of a dry run.
type DryRunPlacement struct {
	SessionID string    `json:"session_id"`
	AgentID   string    `json:"agent_id"`
	Request   Resources `json:"request"`
}

// DryRunDropped is a pick of a dry run that the re-check refused.
type DryRunDropped struct {
	SessionID string `json:"session_id"`
	AgentID   string `json:"agent_id"`
	Reason    string `json:"reason"`
}
