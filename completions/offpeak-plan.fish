# fish completion for offpeak-plan: options from its --help, region ids from the config
# (__offpeak_regions, in vendor_functions.d).
complete -c offpeak-plan -f
complete -c offpeak-plan -a '(offpeak-plan --help 2>/dev/null | string match -r -a -- "--[a-z][a-z-]*" | sort -u)' -n 'string match -q -- "-*" (commandline -ct)'
complete -c offpeak-plan -l config -r -F
complete -c offpeak-plan -l env-file -r -F
complete -c offpeak-plan -l log-format -x -a 'text json'
complete -c offpeak-plan -l region -x -a '(__offpeak_regions)'
complete -c offpeak-plan -l mark-done -x -a '(__offpeak_regions)'
complete -c offpeak-plan -l state-dir -r -F
complete -c offpeak-plan -l metrics-file -r -F
