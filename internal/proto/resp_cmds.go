package proto

import "strconv"

// exec runs one request and writes its reply; it reports whether the
// connection is to be closed (QUIT).
func (r *RESP) exec(w *replyWriter, req *request, ss *respSession) (quit bool) {
	cmd := req.next()
	argc := req.argc
	switch {
	case eqFold(cmd, "GET"):
		if argc != 2 {
			w.errorLine("wrong number of arguments for 'get' command")
			break
		}
		key := req.next()
		sh := r.store.lock(key)
		if e := sh.get(key); e != nil {
			w.bulk(e.val) // copied out under the lock: SET rewrites in place
		} else {
			w.raw(replyNil)
		}
		sh.mu.Unlock()
	case eqFold(cmd, "SET"):
		if argc < 3 {
			w.errorLine("wrong number of arguments for 'set' command")
			break
		}
		if argc > 3 { // options (EX, PX, NX...) are not supported
			w.raw(replySyntax)
			break
		}
		key, val := req.next(), req.next()
		sh := r.store.lock(key)
		sh.set(key, val)
		sh.mu.Unlock()
		w.raw(replyOK)
	case eqFold(cmd, "PING"):
		switch argc {
		case 1:
			w.raw(replyPong)
		case 2:
			w.bulk(req.next())
		default:
			w.errorLine("wrong number of arguments for 'ping' command")
		}
	case eqFold(cmd, "ECHO"):
		if argc != 2 {
			w.errorLine("wrong number of arguments for 'echo' command")
			break
		}
		w.bulk(req.next())
	case eqFold(cmd, "DEL"), eqFold(cmd, "EXISTS"):
		del := eqFold(cmd, "DEL")
		if argc < 2 {
			if del {
				w.errorLine("wrong number of arguments for 'del' command")
			} else {
				w.errorLine("wrong number of arguments for 'exists' command")
			}
			break
		}
		var n int64
		for range argc - 1 {
			key := req.next()
			sh := r.store.lock(key)
			if del && sh.del(key) || !del && sh.get(key) != nil {
				n++
			}
			sh.mu.Unlock()
		}
		w.integer(n)
	case eqFold(cmd, "INCR"):
		if argc != 2 {
			w.errorLine("wrong number of arguments for 'incr' command")
			break
		}
		r.incr(w, req.next())
	case eqFold(cmd, "COMMAND"):
		// redis-cli and redis-benchmark ask for the command table at start;
		// an empty one makes them fall back to their defaults.
		w.raw(replyEmpty)
	case eqFold(cmd, "CONFIG"):
		if argc < 2 {
			w.errorLine("wrong number of arguments for 'config' command")
			break
		}
		sub := req.next()
		switch {
		case !eqFold(sub, "GET"):
			w.errorLine("unknown subcommand '", truncate(sub), "'. Try CONFIG HELP.")
		case argc < 3:
			w.errorLine("wrong number of arguments for 'config|get' command")
		default:
			w.raw(replyEmpty) // no parameters are exposed
		}
	case eqFold(cmd, "CLIENT"):
		ss.client(w, req)
	case eqFold(cmd, "QUIT"):
		w.raw(replyOK)
		return true
	default:
		unknown(w, cmd, req)
	}
	return false
}

// incr adds one to the integer stored at key, writing the new value back
// into the value's own memory when it fits.
func (r *RESP) incr(w *replyWriter, key []byte) {
	sh := r.store.lock(key)
	defer sh.mu.Unlock()
	var n int64
	e := sh.get(key)
	if e != nil {
		v, ok := parseInt(e.val)
		if !ok {
			w.raw(replyNotInt)
			return
		}
		if v == 1<<63-1 {
			w.raw(replyOverflow)
			return
		}
		n = v + 1
		e.val = strconv.AppendInt(e.val[:0], n, 10)
	} else {
		n = 1
		sh.m[string(key)] = &entry{val: []byte{'1'}}
	}
	w.integer(n)
}

// unknown writes Redis's reply to an unknown command: the name (at most 128
// bytes) and the first arguments, quoted, until 128 bytes of them are shown.
func unknown(w *replyWriter, cmd []byte, req *request) {
	w.buf = append(w.buf, "-ERR unknown command '"...)
	w.buf = appendOneLine(w.buf, cmd[:min(len(cmd), 128)])
	w.buf = append(w.buf, "', with args beginning with: "...)
	shown := 0
	for i := 1; i < req.argc && shown < 128; i++ {
		a := req.next()
		a = a[:min(len(a), 128-shown)]
		shown += len(a) + 3
		w.buf = append(w.buf, '\'')
		w.buf = appendOneLine(w.buf, a)
		w.buf = append(w.buf, '\'', ' ')
	}
	w.buf = append(w.buf, '\r', '\n')
}

// truncate limits client bytes quoted in an error to 128, as Redis does.
// The conversion allocates, which only error replies pay.
func truncate(b []byte) string { return string(b[:min(len(b), 128)]) }

// eqFold reports whether b equals s, an upper-case word of ASCII letters,
// ignoring case, without allocating. (Clearing bit 0x20 upper-cases a
// letter; a non-letter byte never maps onto a letter of s.)
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if b[i]&^0x20 != s[i] {
			return false
		}
	}
	return true
}
