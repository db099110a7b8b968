# bash completion for offpeak-plan, offpeak-scrape, offpeak-load and offpeak-cron: options
# from each tool's --help (so they follow the installed version), region ids from the config
# the command line names (--config, else $OFFPEAK_CONFIG, else ./regions.toml, else
# /etc/offpeak/regions.toml).

_offpeak_config() {
  local i
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    if [[ ${COMP_WORDS[i]} == --config ]]; then
      printf '%s\n' "${COMP_WORDS[i + 1]}"
      return
    fi
  done
  if [[ -n ${OFFPEAK_CONFIG:-} ]]; then
    printf '%s\n' "$OFFPEAK_CONFIG"
  elif [[ -f regions.toml ]]; then
    echo regions.toml
  else
    echo /etc/offpeak/regions.toml
  fi
}

# The [regions.ID] tables of the config.
_offpeak_regions() {
  sed -n 's/^[[:space:]]*\[regions\.\([A-Za-z0-9_-]*\)\][[:space:]]*$/\1/p' "$(_offpeak_config)" 2>/dev/null
}

_offpeak() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  case $prev in
    --region | --mark-done)
      mapfile -t COMPREPLY < <(compgen -W "$(_offpeak_regions)" -- "$cur")
      return ;;
    --config | --env-file | --metrics-file | --state-dir | --input | --reject-file)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return ;;
    --log-format)
      mapfile -t COMPREPLY < <(compgen -W "text json" -- "$cur")
      return ;;
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$("$1" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur")
  elif [[ $1 == offpeak-scrape || $1 == offpeak-cron ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_offpeak_regions)" -- "$cur")
  fi
}
complete -F _offpeak offpeak-plan offpeak-scrape offpeak-load offpeak-cron
