// kubelet-config-check FILE: loads FILE the way `kubelet --config FILE` does and validates it with
// the kubelet's own code, built from k8s.io/kubernetes at the version under test: the file loader
// (strict decoding of kubelet.config.k8s.io/v1beta1, defaulting, conversion), the feature gates the
// file sets, and ValidateKubeletConfiguration (cmd/kubelet/app/server.go runs the same three before
// the kubelet starts). It is the narrowest real check of a kubelet configuration for the minors whose
// kubelet the lab does not run; prints "ok" or the kubelet's error and exits 1.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/kubernetes/pkg/kubelet/apis/config/validation"
	"k8s.io/kubernetes/pkg/kubelet/kubeletconfig/configfiles"
	utilfs "k8s.io/kubernetes/pkg/util/filesystem"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kubelet-config-check FILE")
		os.Exit(2)
	}
	name, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	loader, err := configfiles.NewFsLoader(&utilfs.DefaultFs{}, name)
	if err != nil {
		fail(fmt.Errorf("failed to load Kubelet config file %s, error %v", name, err))
	}
	kc, err := load(loader)
	if err != nil {
		fail(fmt.Errorf("failed to load Kubelet config file %s, error %v", name, err))
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(kc.FeatureGates); err != nil {
		fail(fmt.Errorf("failed to set feature gates from the config file: %w", err))
	}
	if err := validation.ValidateKubeletConfiguration(kc, utilfeature.DefaultFeatureGate); err != nil {
		fail(fmt.Errorf("failed to validate kubelet configuration, error: %w", err))
	}
	fmt.Println("ok")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
