package proto

import (
	"net"
	"strconv"
	"strings"
	"sync/atomic"
)

// Addressed is implemented by streams that know their connection's
// addresses (every backend's): RemoteAddr is the client (behind a PROXY
// header, the one it names), LocalAddr the address it reached.
type Addressed interface {
	RemoteAddr() net.Addr
	LocalAddr() net.Addr
}

// clientIDs numbers sessions as Redis numbers clients, from 1.
var clientIDs atomic.Uint64

// client answers CLIENT INFO, LIST, ID, GETNAME and SETNAME (and SETINFO,
// which client libraries send at connect) for the session of st. LIST
// shows this connection only: the server keeps no table of its clients.
func (ss *respSession) client(w *replyWriter, req *request) {
	if req.argc < 2 {
		w.errorLine("wrong number of arguments for 'client' command")
		return
	}
	if ss.id == 0 {
		ss.id = clientIDs.Add(1)
	}
	sub := req.next()
	switch {
	case eqFold(sub, "INFO"), eqFold(sub, "ID"), eqFold(sub, "GETNAME"):
		if req.argc != 2 {
			w.errorLine("wrong number of arguments for 'client|", strings.ToLower(string(sub)), "' command")
			return
		}
		switch {
		case eqFold(sub, "INFO"):
			w.bulk(ss.appendClientInfo(nil, w.s, true))
		case eqFold(sub, "ID"):
			w.integer(int64(ss.id))
		case ss.name == "":
			w.raw(replyNil)
		default:
			w.bulk([]byte(ss.name))
		}
	case eqFold(sub, "LIST"):
		if req.argc != 2 { // TYPE and ID filters are not supported
			w.raw(replySyntax)
			return
		}
		w.bulk(ss.appendClientInfo(nil, w.s, false))
	case eqFold(sub, "SETNAME"):
		if req.argc != 3 {
			w.errorLine("wrong number of arguments for 'client|setname' command")
			return
		}
		name := req.next()
		for _, b := range name {
			if b < '!' || b > '~' { // CLIENT LIST's lines are space-separated fields: a name must not forge them
				w.errorLine("Client names cannot contain spaces, newlines or special characters.")
				return
			}
		}
		ss.name = string(name)
		w.raw(replyOK)
	case eqFold(sub, "SETINFO"):
		w.raw(replyOK)
	default:
		w.errorLine("unknown subcommand '", truncate(sub), "'. Try CLIENT HELP.")
	}
}

// appendClientInfo appends the connection's line in redis-server's CLIENT
// INFO form: id, addr, laddr, name, db, cmd, each field=value.
func (ss *respSession) appendClientInfo(b []byte, st Stream, info bool) []byte {
	b = append(b, "id="...)
	b = strconv.AppendUint(b, ss.id, 10)
	b = append(b, " addr="...)
	if a, ok := st.(Addressed); ok {
		b = append(b, a.RemoteAddr().String()...)
		b = append(b, " laddr="...)
		b = append(b, a.LocalAddr().String()...)
	} else {
		b = append(b, " laddr="...)
	}
	b = append(b, " name="...)
	b = append(b, ss.name...)
	b = append(b, " db=0 cmd=client|"...)
	if info {
		b = append(b, "info"...)
	} else {
		b = append(b, "list"...)
	}
	return append(b, '\n')
}
