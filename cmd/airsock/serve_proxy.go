package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/airsock/airsock/loop"
)

// proxyFlags is loop.ProxyProtocol from --proxy-protocol and
// --proxy-trusted.
func proxyFlags(mode, trusted string, udp bool) (loop.ProxyProtocol, error) {
	var p loop.ProxyProtocol
	switch mode {
	case "off":
		return p, nil
	case "optional":
		p.Mode = loop.ProxyOptional
	case "required":
		p.Mode = loop.ProxyRequired
	}
	if udp {
		return p, errors.New("--proxy-protocol applies to TCP, not --udp")
	}
	p.Trusted = []netip.Prefix{} // none unless listed: not loop's loopback default
	for _, s := range strings.Split(trusted, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("--proxy-trusted: %w", err)
		}
		p.Trusted = append(p.Trusted, n.Masked())
	}
	return p, nil
}
