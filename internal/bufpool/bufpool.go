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

// Copy is io.Copy through a lent buffer. Unlike io.Copy it never hands
// the copy to src's WriterTo or dst's ReaderFrom: a file's WriteTo into a
// hash or a socket's writer allocates a buffer of its own, which is what
// the pool is for. (Nothing here copies file to socket, where sendfile
// would pay.)
func (p *Pool) Copy(dst io.Writer, src io.Reader) (int64, error) {
	b, _ := p.p.Get().(*[]byte)
	if b == nil {
		buf := make([]byte, Size)
		b = &buf
	}
	n, err := io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, *b)
	p.p.Put(b)
	return n, err
}

// onlyReader and onlyWriter hide WriterTo and ReaderFrom from
// io.CopyBuffer.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }
