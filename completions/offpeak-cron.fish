# fish completion for offpeak-cron: options from its --help, region ids from the config
# (__offpeak_regions, in vendor_functions.d).
complete -c offpeak-cron -f
complete -c offpeak-cron -a '(offpeak-cron --help 2>/dev/null | string match -r -a -- "--[a-z][a-z-]*" | sort -u)' -n 'string match -q -- "-*" (commandline -ct)'
complete -c offpeak-cron -l config -r -F
complete -c offpeak-cron -l env-file -r -F
complete -c offpeak-cron -l log-format -x -a 'text json'
complete -c offpeak-cron -n 'not string match -q -- "-*" (commandline -ct)' -a '(__offpeak_regions)'
