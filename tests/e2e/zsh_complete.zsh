# Prints the candidates zsh completion offers for a command line: runs an
# interactive zsh in a pseudo-terminal (zsh/zpty), loads compinit with the
# directory $1 first in fpath, types $2 and TAB, and captures what the
# completion functions pass to compadd. Used by tests/e2e/test_docs.py.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; LISTMAX=100000; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () {
  local -a __hits __opts
  builtin compadd -O __hits "$@"
  print -rl -- ${__hits/#/CAP""TURE:}
  builtin compadd "$@"
}'
zpty -w z 'zstyle ":completion:*" list-prompt ""; zstyle ":completion:*" select-prompt ""'
# Read what zsh prints, keeping the captured candidates, until `until`
# shows up or it has been silent for `quiet` polls of 50 ms.
drain() {
  local until=$1 quiet=$2 line idle=0
  while (( idle < quiet )); do
    if ! zpty -rt z line; then
      (( idle++ ))
      sleep 0.05
      continue
    fi
    idle=0
    [[ -n $until && $line == ${until}* ]] && return 0
    [[ $line == *CAPTURE:* ]] && print -r -- ${${line##*CAPTURE:}%%$'\r'}
  done
  return 1
}
# Wait until the shell is set up, then type the line and TAB and keep
# what completion captures until zsh has been quiet for a second (the
# line is never run).
zpty -w z "print READY"$'\n'
drain READY 400
zpty -w z "$2"$'\t'
drain '' 20
zpty -d z
