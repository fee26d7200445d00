#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031 # literal backquotes in patterns; each test sets its own KC_HOST
# Each step as the program assembles it (components/remote/assemble.ts, mirrored by assemble.bash:
# a shebang, a comment line, lib/core.sh, the modules it names, then the step, each without its
# shebang) parses and passes the linter, and the README's step table names exactly the scripts that
# exist.

load helpers

assemble() { assemble_step "$1"; }

steps() { for f in "$SCRIPTS_DIR"/*.sh; do basename "$f" .sh; done; }

@test "every assembled step parses" {
    local s
    for s in $(steps); do
        assemble "$s" | bash -n || { echo "step $s does not parse"; return 1; }
    done
}

@test "every assembled step is shellcheck-clean" {
    command -v shellcheck >/dev/null || skip "shellcheck is not installed"
    local s
    for s in $(steps); do
        assemble "$s" | shellcheck -S style - || { echo "step $s"; return 1; }
    done
}

@test "no script holds the heredoc terminator line" {
    bats_run grep -lx KUBEADM_CLUSTER_SCRIPT_END "$SCRIPTS_DIR"/*.sh "$SCRIPTS_DIR"/lib/*.sh
    [ "$status" -eq 1 ]
}

@test "the README's step table names exactly the scripts" {
    local table
    # The first table (| step | runs on | ...), up to the blank line after it.
    table=$(awk '/^\| step \| runs on/ { on = 1; next } on && !/^\|/ { exit } on' "$SCRIPTS_DIR/README.md" |
        grep -oE '^\| `[a-z-]+` \|' | sed -E 's/^\| `([a-z-]+)` \|/\1/' | sort)
    [ "$table" = "$(steps | sort)" ]
}

@test "a step names the command behind an unexpected failure and cleans up" {
    export KC_HOST=h1
    local f=$BATS_TEST_TMPDIR/secret
    touch "$f"
    bats_run bash -c "$(sed '1{/^#!/d}' "$SCRIPTS_DIR/lib/core.sh"; echo "CLEANUP_FILES+=('$f'); false 'x'")" kc-demo
    [ "$status" -eq 1 ]
    [[ $output == *"[h1] ERROR: step demo failed (exit 1) at line "*": false 'x'"* ]]
    [ ! -e "$f" ]
}

@test "a step's die is its only error line" {
    export KC_HOST=h1
    bats_run bash -c "$(sed '1{/^#!/d}' "$SCRIPTS_DIR/lib/core.sh"; echo 'die "disk full: free some space"')" kc-demo
    [ "$status" -eq 1 ]
    [ "$output" = "[h1] ERROR: disk full: free some space" ]
}

@test "a mode step refuses a missing mode" {
    export KC_HOST=h1
    bats_run bash -c "$(assemble node-registration)" kc-node-registration
    [ "$status" -eq 1 ]
    [[ $output == *"node-registration needs a mode argument, create or delete"* ]]
}
