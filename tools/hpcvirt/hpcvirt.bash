# bash completion for hpcvirt(1)                               -*- shell-script -*-
#
# Nothing here lists a command or an option: the commands come from
# `hpcvirt --help` and each command's options, their values and its operands
# from the synopsis of `hpcvirt COMMAND --help` (read once per command and
# kept), so the completion follows the tool it completes. What a word
# completes to follows from its placeholder in the synopsis:
#   lower-case words (instant|full|cold, kvm|qemu, create|revert|...)  those words
#   NAME as an operand          the VMs `hpcvirt list --uri URI` prints, when
#                               --uri URI is on the line
#   SPEC.json, --spec, --host-json   *.json files (and directories)
#   FILE, PAYLOAD, F            files;  DIR: directories;  anything else: nothing

# _hpcvirt_load BIN CMD: parse `BIN CMD --help` into the caches below.
_hpcvirt_load()
{
    local bin=$1 cmd=$2 kind key word
    [[ -n ${_hpcvirt_loaded[$cmd]+set} ]] && return 0
    _hpcvirt_loaded[$cmd]=1
    _hpcvirt_opts[$cmd]=" --help "
    while read -r kind key word _; do
        case $kind in
        o) [[ ${_hpcvirt_opts[$cmd]} == *" $key "* ]] || _hpcvirt_opts[$cmd]+="$key " ;;
        v) _hpcvirt_vals["$cmd $key"]+="${_hpcvirt_vals["$cmd $key"]:+|}$word" ;;
        a) _hpcvirt_args["$cmd $key"]+="${_hpcvirt_args["$cmd $key"]:+|}$word" ;;
        esac
    done < <("$bin" "$cmd" --help 2>/dev/null | awk '
        # The synopsis: "Usage: hpcvirt CMD ...", each further form
        # "  hpcvirt CMD ...", and lines that go on with "[...".
        function synopsis(line,    n, t, i, lead, trail, depth, pending, pos) {
            n = split(line, t, /[ \t]+/)
            depth = 0; pending = ""; pos = 0
            for (i = 1; i <= n; i++) {
                if (t[i] == "") continue
                lead = match(t[i], /^\[+/) ? RLENGTH : 0
                trail = match(t[i], /\]+$/) ? RLENGTH : 0
                word = substr(t[i], lead + 1, length(t[i]) - lead - trail)
                depth += lead
                if (word == "|" || word == "" || word == "--") {
                    # ("--" ends the options: what follows is no option)
                    pending = ""
                } else if (word ~ /^-/) {
                    print "o", word
                    pending = trail ? "" : word
                } else if (pending != "") {
                    print "v", pending, word
                    pending = ""
                } else if (depth == 0) {
                    print "a", pos++, word
                }
                depth -= trail
                if (trail) pending = ""
            }
            return pos
        }
        /^Usage: hpcvirt / { sub(/^Usage: hpcvirt [^ ]+/, ""); rest = $0; usage = 1; next }
        usage && /^ +hpcvirt / { synopsis(rest); sub(/^ +hpcvirt [^ ]+/, ""); rest = $0; next }
        usage && /^ +\[/ { rest = rest " " $0; next }
        usage { synopsis(rest); usage = 0 }
        # An option described on its own line ("  --name NAME  the ..."):
        # the options at its start, up to the first word of prose.
        /^  -/ {
            n = split($0, t, /[ \t,]+/)
            for (i = 1; i <= n; i++) {
                if (t[i] == "") continue
                if (t[i] ~ /^-/) print "o", t[i]
                else if (t[i] !~ /^[A-Z0-9_.=:\/|]+$/ && t[i] !~ /:\/\//) break
            }
        }
        END { if (usage) synopsis(rest) }')
}

# _hpcvirt_reply_for PLACEHOLDERS CUR IS_OPERAND URI: COMPREPLY for a word
# whose synopsis says PLACEHOLDERS (alternatives separated by |).
_hpcvirt_reply_for()
{
    local what=$1 cur=$2 operand=$3 uri=$4 bin=$5 alt words="" files=""
    local IFS='|'
    for alt in $what; do
        case $alt in
        *.json) files+=" json" ;;
        DIR) files+=" dir" ;;
        FILE | F | PAYLOAD) files+=" file" ;;
        NAME)
            if [[ $operand == 1 && -n $uri ]]; then
                words+=" $(timeout 10 "$bin" list --uri "$uri" 2>/dev/null | tr '\n' ' ')"
            fi
            ;;
        [a-z0-9]*)
            [[ $alt =~ ^[a-z0-9][a-z0-9._-]*$ ]] && words+=" $alt"
            ;;
        esac
    done
    IFS=$' \t\n'
    # one NAME in two synopses is one list of VMs; file names may hold spaces
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur" | sort -u)
    case $files in
    *file*) mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur") ;;
    *json*)
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur")
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -X '!*.json' -- "$cur")
        ;;
    *dir*) mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur") ;;
    esac
    if [[ -n $files ]]; then
        compopt -o filenames 2>/dev/null
    fi
    return 0
}

_hpcvirt()
{
    local bin=${COMP_WORDS[0]} i w cmd cur prev uri="" operand=0 options_done=0
    local -a words=()
    local trim=""
    # The words as the user wrote them: bash splits them at COMP_WORDBREAKS
    # (':' and '=' among them), so libvirt:test:///default arrives in five.
    for ((i = 0; i <= COMP_CWORD && i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        if ((i > 1)) && [[ $w == [:=] || ${words[-1]} == *[:=] ]]; then
            words[-1]+=$w
        else
            words+=("$w")
        fi
    done
    cur=${words[-1]}
    # replies replace only the last piece bash split off
    if [[ $cur != "${COMP_WORDS[COMP_CWORD]}" ]]; then
        trim=${cur%"${COMP_WORDS[COMP_CWORD]}"}
    fi
    prev=${words[-2]:-}

    if ! declare -p _hpcvirt_opts &>/dev/null || [[ ${_hpcvirt_bin:-} != "$bin" ]]; then
        declare -gA _hpcvirt_opts=() _hpcvirt_vals=() _hpcvirt_args=() _hpcvirt_loaded=()
        declare -g _hpcvirt_bin=$bin
        declare -g _hpcvirt_commands
        _hpcvirt_commands=$("$bin" --help 2>/dev/null |
            awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }')
    fi

    if ((${#words[@]} == 2)); then
        # shellcheck disable=SC2207
        COMPREPLY=($(compgen -W "$_hpcvirt_commands help --help --version" -- "$cur"))
        return 0
    fi
    cmd=${words[1]}
    if [[ $cmd == help ]]; then
        # shellcheck disable=SC2207
        ((${#words[@]} == 3)) && COMPREPLY=($(compgen -W "$_hpcvirt_commands" -- "$cur"))
        return 0
    fi
    [[ $'\n'$_hpcvirt_commands$'\n' == *$'\n'$cmd$'\n'* ]] || return 0
    _hpcvirt_load "$bin" "$cmd"

    # --uri URI on the line; which operand the current word is
    for ((i = 2; i < ${#words[@]} - 1; i++)); do
        w=${words[i]}
        if ((options_done)) || [[ $w != -* || $w == - ]]; then
            ((operand++))
        elif [[ $w == -- ]]; then
            options_done=1
        elif [[ -n ${_hpcvirt_vals["$cmd $w"]+set} ]]; then
            [[ $w == --uri ]] && uri=${words[i + 1]:-}
            ((i++))
        fi
    done

    if ((!options_done)) && [[ -n ${_hpcvirt_vals["$cmd $prev"]+set} ]]; then
        case $prev in
        --spec | --host-json) _hpcvirt_reply_for "SPEC.json" "$cur" 0 "$uri" "$bin" ;;
        *) _hpcvirt_reply_for "${_hpcvirt_vals["$cmd $prev"]}" "$cur" 0 "$uri" "$bin" ;;
        esac
    elif ((!options_done)) && [[ $cur == -* ]]; then
        # shellcheck disable=SC2207
        COMPREPLY=($(compgen -W "${_hpcvirt_opts[$cmd]}" -- "$cur"))
    else
        _hpcvirt_reply_for "${_hpcvirt_args["$cmd $operand"]:-}" "$cur" 1 "$uri" "$bin"
    fi
    if [[ -n $trim ]]; then
        COMPREPLY=("${COMPREPLY[@]#"$trim"}")
    fi
    return 0
}
complete -F _hpcvirt hpcvirt
