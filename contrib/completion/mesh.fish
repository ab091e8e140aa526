# fish completion for mesh(1), the meshtrust command.
#
# As the bash completion (mesh.bash), everything is asked of `mesh` itself:
# `mesh --help` (families), `mesh FAMILY --help` (sub-commands),
# `mesh FAMILY [SUB] --help` (options, a|b|c values, operands), and the local
# store through `mesh config list --json` (KEY), `mesh trust scopes --json`
# (--scope), `mesh name list --json` (@NAME) and `mesh trust list --json`
# (Node IDs). The line's --home/--store are passed on; mesh runs with stdin
# and stderr on /dev/null and under `timeout` when there is one, so a missing
# home gives empty lists and a passphrase is never asked for. Values from the
# store are offered only when made of [A-Za-z0-9@:._/+=-].
# Installed as share/fish/vendor_completions.d/mesh.fish.

# __mesh_run BIN GLOBAL-OPTIONS… -- ARGS…
function __mesh_run
    set -l i (contains -i -- -- $argv)
    set -l bin $argv[1]
    set -l glob
    set -l args
    # (fish slices run backwards when the end is before the start)
    test $i -gt 2; and set glob $argv[2..(math $i - 1)]
    test $i -lt (count $argv); and set args $argv[(math $i + 1)..-1]
    if command -q timeout
        timeout 3 $bin $glob $args </dev/null 2>/dev/null
    else
        $bin $glob $args </dev/null 2>/dev/null
    end
end

# "name<TAB>summary" of the "commands:" section of a help text (stdin).
function __mesh_help_cmds
    awk '/^commands:/ {f = 1; next} f && /^[ \t]*$/ {exit}
        f && /^  [a-z]/ {n = $1; $1 = ""; sub(/^ +/, ""); print n "\t" $0}'
end

function __mesh_safe
    string match -r -- '^[A-Za-z0-9@:._/+=-]+$' $argv
end

# __mesh_values WHAT TOKEN BIN GLOBAL…: candidates for a metavar/operand.
function __mesh_values
    set -l what $argv[1]
    set -l tok $argv[2]
    set -l run $argv[3..-1] --
    switch $what
        case '*|*'
            string split '|' -- $what
        case --scope S SCOPE '<scope>'
            __mesh_safe global (__mesh_run $run trust scopes --json | string match -ra '"scope":"[^"]*"' | string replace -r '^"scope":"(.*)"$' '$1')
            printf '%s\n' coop: federation: domain: topic:
        case KEY '<key>'
            __mesh_safe (__mesh_run $run config list --json | string match -ra '"[A-Za-z0-9_.]+":' | string trim -c '":')
        case 'FILE*' '<file>*' DIR PATH 'SEED*'
            __fish_complete_path $tok
        case ID '<id>*' 'ID…' --from --to --iss --viewpoint '<from>' '<to>' '<referee>'
            __mesh_ids $run
        case '*'
            string match -q -- '@*' $tok; and __mesh_ids $run
    end
end

function __mesh_ids
    set -l names (__mesh_run $argv name list --json)
    __mesh_safe (printf '%s\n' $names | string match -ra '"name":"[^"]*"' | string replace -r '^"name":"(.*)"$' '@$1')
    __mesh_safe (begin; printf '%s\n' $names; __mesh_run $argv trust list --json; end | string match -ra '"node_id":"[^"]*"' | string replace -r '^"node_id":"(.*)"$' '$1' | sort -u)
end

function __mesh_complete
    set -l words (commandline -opc)
    set -l tok (commandline -ct)
    set -l bin $words[1]
    if not string match -q -- '*/*' $bin; or not test -x $bin
        set bin mesh
    end
    set -l glob
    set -l n 2
    set -l cnt (count $words)
    while test $n -le $cnt
        switch $words[$n]
            case --home --store --passphrase-file
                set -a glob $words[$n] $words[(math $n + 1)]
                set n (math $n + 2)
            case '--home=*' '--store=*' '--passphrase-file=*'
                set -a glob $words[$n]
                set n (math $n + 1)
            case '-*'
                set n (math $n + 1)
            case '*'
                break
        end
    end
    set -l run $bin $glob
    if test $n -gt $cnt
        switch "$words[-1]"
            case --home --passphrase-file
                __fish_complete_path $tok
                return
            case --store
                return
        end
        if string match -q -- '-*' $tok
            printf '%s\n' --home --store --passphrase-file --help --version
        else
            __mesh_run $run -- --help | __mesh_help_cmds
            printf 'help\tshow the help of a command\n'
        end
        return
    end
    set -l cmd $words[$n]
    set n (math $n + 1)
    if test "$cmd" = help
        if test $n -gt $cnt
            __mesh_run $run -- --help | __mesh_help_cmds
        else
            __mesh_run $run -- $words[$n] --help | __mesh_help_cmds
        end
        return
    end
    set -l subs (__mesh_run $run -- $cmd --help | __mesh_help_cmds)
    set -l cpath $cmd
    if test (count $subs) -gt 0
        while test $n -le $cnt; and string match -q -- '-*' $words[$n]
            set n (math $n + 1)
        end
        if test $n -gt $cnt
            printf '%s\n' $subs
            return
        end
        set -a cpath $words[$n]
        set n (math $n + 1)
    end
    set -l help (__mesh_run $run -- $cpath --help)
    test (count $help) -gt 0; or return
    set -l usage (string replace -r '^usage: ' '' -- $help[1])
    # Options: parallel lists of names and metavars ("-" for a flag).
    set -l onames --passphrase-file
    set -l ometa FILE
    set -l inopts 0
    for line in $help
        string match -q 'options:*' -- $line; and set inopts 1
        test $inopts = 1; or continue
        set -l m (string match -r -- '^ +(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)(?: ([^ ]+))?' $line)
        if test (count $m) -ge 2
            set -a onames $m[2]
            if test (count $m) -ge 3
                set -a ometa $m[3]
            else
                set -a ometa -
            end
        end
    end
    set -l ut (string split -n ' ' -- $usage)
    for i in (seq 1 (math (count $ut) - 1))
        set -l o (string trim -l -c '[' -- $ut[$i])
        set -l m (string trim -r -c ']' -- $ut[(math $i + 1)])
        set -l j (contains -i -- $o $onames)
        if test -n "$j"; and string match -q -- '*|*' $m; and test $ometa[$j] != -
            set ometa[$j] $m
        end
    end
    set -l ops
    set -l skip 0
    for i in (seq (math 2 + (count $cpath)) (count $ut))
        set -l w $ut[$i]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case '[<*]'
                set -a ops (string trim -c '[]' -- $w)
            case '[--*]' '*]' '<command>'
            case '[--*' '-*'
                set skip 1
            case '[*'
            case '*'
                set -a ops $w
        end
    end
    set -l npos 0
    set -l k $n
    while test $k -le $cnt
        set -l w $words[$k]
        if string match -q -- '--*=*' $w; or test "$w" = --
        else if string match -q -- '-*' $w
            set -l j (contains -i -- $w $onames)
            if test -n "$j"; and test $ometa[$j] != -
                set k (math $k + 1)
            end
        else
            set npos (math $npos + 1)
        end
        set k (math $k + 1)
    end
    set -l optv
    set -l prefix ""
    if string match -qr -- '^--[^=]+=' $tok
        set optv (string replace -r '=.*' '' -- $tok)
        set prefix $optv=
        set tok (string replace -r '^[^=]*=' '' -- $tok)
    else if test $cnt -ge $n; and string match -q -- '--*' $words[-1]
        set -l j (contains -i -- $words[-1] $onames)
        if test -n "$j"; and test $ometa[$j] != -
            set optv $words[-1]
        end
    end
    if test -n "$optv"
        set -l j (contains -i -- $optv $onames)
        set -l m $ometa[$j]
        if contains -- $optv --scope --from --to --iss --viewpoint; and not string match -q -- '*|*' $m
            set m $optv
        end
        for v in (__mesh_values $m "$tok" $run)
            echo $prefix$v
        end
        return
    end
    if string match -q -- '-*' $tok
        printf '%s\n' $onames --help
        return
    end
    if test $npos -lt (count $ops)
        __mesh_values $ops[(math $npos + 1)] "$tok" $run
    else if test (count $ops) -gt 0; and string match -qr -- '(…|\.\.\.)$' $ops[-1]
        __mesh_values (string replace "…" "" -- $ops[-1]) "$tok" $run
    else
        __mesh_values "" "$tok" $run
    end
end

complete -c mesh -f -a '(__mesh_complete)'
