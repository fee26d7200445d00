# Loads the library (scripts/lib: the core and every module) and, optionally, a step's functions
# (everything but its `main "$@"` line) into the test shell, the way the program assembles them.
SCRIPTS_DIR="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../../scripts" && pwd)"
# shellcheck source=test/scripts/assemble.bash
source "$(dirname "${BATS_TEST_FILENAME}")/assemble.bash"

# The library defines its own `run`; bats' one stays reachable as bats_run.
eval "$(declare -f run | sed '1s/^run /bats_run /')"

load_lib() {
    export KC_HOST=testhost
    local m
    # shellcheck disable=SC1091 # the library under test, found at run time
    source "$SCRIPTS_DIR/lib/core.sh"
    for m in "$SCRIPTS_DIR"/lib/*.sh; do
        # shellcheck disable=SC1090 # a module of the library under test
        [[ $m == */core.sh ]] || source "$m"
    done
    # The core turns on -u and pipefail for the scripts; bats' own code expects them off.
    set +u +o pipefail
}

load_step() {
    load_lib
    # shellcheck disable=SC1090 # the step under test
    source <(sed '/^main "\$@"$/d' "$SCRIPTS_DIR/$1.sh")
    set +u +o pipefail
}
