# shellcheck shell=bash
# assemble_step STEP: the step's script as the program assembles it (components/remote/assemble.ts):
# a shebang, a comment line naming the parts, scripts/lib/core.sh, the modules its `# kc-modules:`
# line names (each after the ones it names itself), the step's own script; every part without its
# shebang. test/scripts/assembled.bats runs every step assembled this way; a jest test
# (test/render/assemble.test.ts) holds it to the program's own assembly, byte for byte.
ASSEMBLE_DIR=${ASSEMBLE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)}

# modules_of FILE: the names on its kc-modules line.
modules_of() { sed -n 's/^# kc-modules:\(.*\)$/\1/p' "$1" | head -n 1; }

# module_order NAME...: NAME and what it names, dependencies first, each once (into ORDER).
module_order() {
    local m
    for m in "$@"; do
        [[ " ${ORDER[*]} " == *" $m "* ]] && continue
        # shellcheck disable=SC2046 # a list of names
        module_order $(modules_of "$ASSEMBLE_DIR/lib/$m.sh")
        ORDER+=("$m")
    done
}

assemble_step() {
    local step=$1 m label="core"
    ORDER=()
    # shellcheck disable=SC2046 # a list of names
    module_order $(modules_of "$ASSEMBLE_DIR/$step.sh")
    for m in ${ORDER[@]+"${ORDER[@]}"}; do label+=" + $m"; done
    printf '#!/usr/bin/env bash\n# kubeadm-cluster step: %s (%s)\n' "$step" "$label"
    sed '1{/^#!/d}' "$ASSEMBLE_DIR/lib/core.sh"
    for m in ${ORDER[@]+"${ORDER[@]}"}; do echo; sed '1{/^#!/d}' "$ASSEMBLE_DIR/lib/$m.sh"; done
    echo
    sed '1{/^#!/d}' "$ASSEMBLE_DIR/$step.sh"
}
