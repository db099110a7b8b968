# fish completion for offpeak-scrape: options from its --help, region ids from the config
# (__offpeak_regions, in vendor_functions.d).
complete -c offpeak-scrape -f
complete -c offpeak-scrape -a '(offpeak-scrape --help 2>/dev/null | string match -r -a -- "--[a-z][a-z-]*" | sort -u)' -n 'string match -q -- "-*" (commandline -ct)'
complete -c offpeak-scrape -l config -r -F
complete -c offpeak-scrape -l env-file -r -F
complete -c offpeak-scrape -l log-format -x -a 'text json'
complete -c offpeak-scrape -n 'not string match -q -- "-*" (commandline -ct)' -a '(__offpeak_regions)'
