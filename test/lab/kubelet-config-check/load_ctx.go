//go:build kc_load_ctx

package main

import (
	"context"

	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/apis/config"
	"k8s.io/kubernetes/pkg/kubelet/kubeletconfig/configfiles"
)

// Minors whose configfiles.Loader.Load takes a context (build.sh picks the tag from the source).
func load(l configfiles.Loader) (*kubeletconfig.KubeletConfiguration, error) {
	return l.Load(context.Background())
}
