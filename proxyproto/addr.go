package proxyproto

// The text parsers of v1's fields. They work on bytes rather than through
// netip.ParseAddr(string(b)) to keep Parse free of allocations, and to be
// exactly as strict as the specification: no heading zeros, no zones.

// parseIPv4 parses exactly four decimal numbers 0-255 separated by single
// dots, none with a heading zero (so "010" cannot be read as octal).
func parseIPv4(s []byte) (ip [4]byte, ok bool) {
	k := 0 // octets done
	for i := 0; i < len(s); {
		if k > 0 {
			if s[i] != '.' {
				return ip, false
			}
			i++
		}
		start, v := i, 0
		for i < len(s) && isDigit(s[i]) && i-start < 3 {
			v = v*10 + int(s[i]-'0')
			i++
		}
		n := i - start
		if n == 0 || v > 255 || n > 1 && s[start] == '0' || k == 4 {
			return ip, false
		}
		ip[k] = byte(v)
		k++
	}
	return ip, k == 4
}

// parseIPv6 parses RFC 4291 text: up to eight groups of 1-4 hex digits
// (either case) separated by colons, at most one "::" standing for one or
// more zero groups, and optionally a dotted IPv4 address as the last 32
// bits (inet_ntop writes IPv4-mapped addresses that way).
func parseIPv6(s []byte) (ip [16]byte, ok bool) {
	j := 0         // bytes of ip filled
	ellipsis := -1 // index in ip where "::" stands
	i := 0
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis, i = 0, 2
		if i == len(s) {
			return ip, true // "::"
		}
	}
	for i < len(s) {
		start, v := i, 0
		for i < len(s) && i-start < 5 && isHex(s[i]) {
			v = v<<4 | int(unhex(s[i]))
			i++
		}
		if n := i - start; n == 0 || n > 4 {
			return ip, false
		}
		if i < len(s) && s[i] == '.' {
			// The IPv4 tail ends the text and fills the last 4 bytes.
			if j > 12 || ellipsis < 0 && j != 12 {
				return ip, false
			}
			v4, ok := parseIPv4(s[start:])
			if !ok {
				return ip, false
			}
			copy(ip[j:], v4[:])
			j += 4
			break
		}
		if j == 16 {
			return ip, false
		}
		ip[j], ip[j+1] = byte(v>>8), byte(v)
		j += 2
		if i == len(s) {
			break
		}
		if s[i] != ':' || i+1 == len(s) {
			return ip, false
		}
		i++
		if s[i] == ':' {
			if ellipsis >= 0 {
				return ip, false
			}
			ellipsis = j
			i++
		}
	}
	if ellipsis < 0 {
		return ip, j == 16
	}
	gap := 16 - j
	if gap == 0 {
		return ip, false // "::" must stand for at least one group
	}
	copy(ip[ellipsis+gap:], ip[ellipsis:j])
	clear(ip[ellipsis : ellipsis+gap])
	return ip, true
}

// parsePort parses a decimal 0-65535 without heading zeros.
func parsePort(s []byte) (uint16, bool) {
	if len(s) == 0 || len(s) > 5 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	v := 0
	for _, c := range s {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return uint16(v), v <= 0xffff
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}
