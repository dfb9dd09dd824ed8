package capture

// CheckStatus is the outcome of one preflight check.
type CheckStatus string

// Check outcomes: OK passes, Warn runs but deserves a look, Fail stops a run.
const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "FAIL"
)

// Check is one preflight check of a component, as `sluice check` prints it: what was checked,
// the outcome, what was found and, unless it passed, the fix (the SQL or flag to change).
// Checks read and never create or change anything.
type Check struct {
	Name   string
	Status CheckStatus
	Detail string
	Fix    string
}
