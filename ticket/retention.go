package ticket

import (
	"fmt"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// FileRemoval is one stored file retention takes off a message: its raw
// mail (Raw) or the attachment whose blob is Blob.
type FileRemoval struct {
	Message uint64
	Raw     bool
	Blob    string
	Size    int64
}

// RemoveFiles makes the messages of ticket key stop referring to the
// files in files and records on the ticket how many went and how large
// they were, inside tx (retention's run). The blobs themselves are swept
// by the store once nothing refers to them.
func (e *Engine) RemoveFiles(tx store.Tx, key string, files []FileRemoval, actor string, now time.Time) error {
	if len(files) == 0 {
		return nil
	}
	byMsg := map[uint64][]FileRemoval{}
	var order []uint64
	var size int64
	for _, f := range files {
		if _, ok := byMsg[f.Message]; !ok {
			order = append(order, f.Message)
		}
		byMsg[f.Message] = append(byMsg[f.Message], f)
		size += f.Size
	}
	for _, id := range order {
		m, err := tx.Message(id)
		if err != nil {
			return err
		}
		if m.Ticket != key {
			return fmt.Errorf("ticket: retention: message %d is on %s, not %s", id, m.Ticket, key)
		}
		for _, f := range byMsg[id] {
			if f.Raw {
				m.Raw = ""
				continue
			}
			for i := range m.Attach {
				if m.Attach[i].Blob == f.Blob {
					m.Attach[i].Blob = ""
				}
			}
		}
		if err := tx.PutMessage(m); err != nil {
			return err
		}
	}
	return record(tx, &store.Event{Ticket: key, Time: now, Kind: store.EvRetention, Actor: actor, Count: len(files), Bytes: size})
}
