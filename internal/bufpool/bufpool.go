// Package bufpool lends the buffers that copying a message between
// sockets, files and hashes needs, so that each copy does not allocate
// (and the garbage collector sweep) 32 KiB of its own: io.Copy did that
// for every spooled, verified and relayed message, a quarter of all the
// bytes the daemon allocated under load.
//
// A Pool belongs to the value that copies (a transport, a pipeline, a
// store); there is no package-level pool.
package bufpool

import (
	"io"
	"sync"
)

// Size is the length of a lent buffer, io.Copy's own.
const Size = 32 << 10

// Pool lends buffers of Size bytes. The zero value is ready to use.
type Pool struct {
	p sync.Pool
}

// Copy is io.Copy with a lent buffer. Like io.Copy it uses src's WriterTo
// or dst's ReaderFrom when they have one.
func (p *Pool) Copy(dst io.Writer, src io.Reader) (int64, error) {
	b, _ := p.p.Get().(*[]byte)
	if b == nil {
		buf := make([]byte, Size)
		b = &buf
	}
	n, err := io.CopyBuffer(dst, src, *b)
	p.p.Put(b)
	return n, err
}
