# fish completion for keyleak.
# Commands and options are read from `keyleak --help` when fish first
# loads this file, so it lists none of them and cannot fall behind the
# binary (a new shell picks up a new keyleak).

function __keyleak_define
    set -l help (command keyleak --help 2>/dev/null)
    or return
    # The report formats: the lowercase words on the --format line.
    set -l formats (string replace -rf '.*, --format FMT(.*)' '$1' -- $help | string match -ar '\b[a-z]+\b' | string match -rv '^(default|or)$')
    set -l in_commands 0
    set -l seen
    for line in $help
        if string match -q 'commands:' -- $line
            set in_commands 1
            continue
        end
        if test -z "$line"; or string match -qr '^[^ ]' -- $line
            set in_commands 0
        end
        # "  name [ARGS]   description" in the commands section
        if test $in_commands = 1
            set -l c (string replace -rf '^  ([a-z][a-z-]*)(?:\s\S+)*?(?:\s{2,}(.*))?$' '$1\t$2' -- $line | string split \t)
            set -q c[1]; and complete -c keyleak -n __fish_use_subcommand -f -a $c[1] -d "$c[2]"
        end
        # "  -x, --long META   description" or "      --long   description"
        set -l o (string replace -rf '^\s+(?:-([a-zA-Z]), )?--([a-z][a-z-]*)(?: ([A-Z][A-Z.]*))?\s+(.*)$' '$1\t$2\t$3\t$4' -- $line | string split \t)
        if set -q o[2]
            set -l args -c keyleak -n 'not __fish_use_subcommand' -l $o[2] -d "$o[4]"
            test -n "$o[1]"; and set args $args -s $o[1]
            switch "$o[3]"
                case FMT
                    set args $args -x -a "$formats"
                case FILE PATH
                    set args $args -r -F
                case ''
                case '*'
                    set args $args -x
            end
            complete $args
            set seen $seen $o[2]
        end
    end
    # Options named only inside a command's line ("[--force] [--chain]").
    for long in (string match -ar -- '--([a-z][a-z-]*)' $help | string match -r '^[a-z][a-z-]*$' | sort -u)
        contains -- $long $seen; or complete -c keyleak -n 'not __fish_use_subcommand' -l $long
    end
end
__keyleak_define
functions -e __keyleak_define
complete -c keyleak -n __fish_use_subcommand -l help -d 'print the usage'
complete -c keyleak -n __fish_use_subcommand -l version -d 'print the versions'

