//go:build !kc_load_ctx

package main

import (
	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/apis/config"
	"k8s.io/kubernetes/pkg/kubelet/kubeletconfig/configfiles"
)

// Minors whose configfiles.Loader.Load takes no arguments.
func load(l configfiles.Loader) (*kubeletconfig.KubeletConfiguration, error) {
	return l.Load()
}
