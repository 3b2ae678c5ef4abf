# bash completion for keyleak.
# Commands and options are read from `keyleak --help` when you press TAB,
# so this file lists none of them and cannot fall behind the binary.

# The help of the keyleak being completed ($1: the command word).
_keyleak_help()
{
    command "$1" --help 2>/dev/null
}

# Commands: the two-space-indented words of the "commands:" section.
_keyleak_commands()
{
    awk '/^commands:/ { f = 1; next } /^$|^[^ ]/ { f = 0 }
         f && /^  [a-z]/ { print $1 }'
}

# Every long option named anywhere in the help, and the short ones.
_keyleak_options()
{
    local help
    help=$(cat)
    printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z-]*' | sort -u
    printf '%s\n' "$help" | sed -nE 's/^ +(-[a-zA-Z]), --.*/\1/p'
}

# The report formats: the lowercase words on the --format line
# ("text (default), compact, json, sarif, jsonl (JSON Lines) or html").
_keyleak_formats()
{
    sed -n 's/.*, --format FMT//p' | head -n 1 | grep -oE '\b[a-z]+\b' |
        grep -vxE 'default|or'
}

# The metavariable an option takes (FILE, PATH, FMT, N, ...), if any.
_keyleak_metavar()
{
    local opt=$1 help long
    help=$(cat)
    if [[ $opt != --* ]]; then
        long=$(printf '%s\n' "$help" |
            sed -nE "s/^ +$opt, (--[a-z][a-z-]*).*/\1/p" | head -n 1)
        [[ -n $long ]] || return
        opt=$long
    fi
    printf '%s\n' "$help" | grep -oE -- "$opt [A-Z][A-Z.]*" | head -n 1 |
        awk '{ print $2 }'
}

_keyleak()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local help meta
    help=$(_keyleak_help "${COMP_WORDS[0]}") || return
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W "$(printf '%s\n' "$help" |
            _keyleak_commands) --help --version" -- "$cur"))
        return
    fi
    if [[ $prev == -* ]]; then
        meta=$(printf '%s\n' "$help" | _keyleak_metavar "$prev")
        case $meta in
        FMT)
            COMPREPLY=($(compgen -W "$(printf '%s\n' "$help" |
                _keyleak_formats)" -- "$cur"))
            return
            ;;
        FILE | PATH) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        ?*) return ;;
        esac
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(printf '%s\n' "$help" |
            _keyleak_options)" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _keyleak keyleak
