package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRateCountAdd is what a new request's rate limits do in the
// write transaction, per key: RateCount, then RateAdd (notify.hold,
// ingest.allowNewTicket), for a new sender's key in a bucket of 20,000
// others and for a project's hot key, all in one transaction.
func BenchmarkRateCountAdd(b *testing.B) {
	s, err := Open(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	err = s.Update(context.Background(), func(tx Tx) error {
		for i := range 20000 {
			if err := tx.RateAdd("auto|r|sender"+strconv.Itoa(i*7919%20000)+"@customer.example", time.Hour, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	err = s.Update(context.Background(), func(tx Tx) error {
		for b.Loop() {
			i++
			for _, k := range []string{"auto|r|new" + strconv.Itoa(i*7919%1000003) + "@customer.example", "auto|p|ACME"} {
				if _, err := tx.RateCount(k, time.Hour, now); err != nil {
					return err
				}
				if err := tx.RateAdd(k, time.Hour, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
