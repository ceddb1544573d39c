package daemon

// changed notifies Options.Changes, when set, that something a supervisor
// or a test may wait for changed.
func (d *Daemon) changed() {
	if d.changes != nil {
		d.changes.Notify()
	}
}
