package ticket

// SetPrepared sets the hook Ingest calls between a prepare and its
// commit (tests change the store there).
func SetPrepared(e *Engine, f func(attempt int)) { e.prepared = f }

// MaxPrepares is how often Ingest prepares against a snapshot before it
// prepares under the writer.
const MaxPrepares = maxPrepares
