//go:build tools

// Package envoygateway pins Envoy Gateway's module so that its cmd/envoy-gateway
// builds from go.sum, as `make test-envoy-gateway` runs it.
package envoygateway

import (
	_ "github.com/envoyproxy/gateway/cmd/envoy-gateway"
)
