# fish completion for offpeak-cron: options from its --help, region ids from the config
# (--config, else $OFFPEAK_CONFIG, else ./regions.toml, else /etc/offpeak/regions.toml).
function __offpeak_regions
    set -l config $OFFPEAK_CONFIG
    set -l words (commandline -opc)
    set -l i (contains -i -- --config $words)
    if test -n "$i"; and test (count $words) -gt $i
        set config $words[(math $i + 1)]
    else if test -z "$config"
        if test -f regions.toml
            set config regions.toml
        else
            set config /etc/offpeak/regions.toml
        end
    end
    sed -n 's/^[[:space:]]*\[regions\.\([A-Za-z0-9_-]*\)\][[:space:]]*$/\1/p' $config 2>/dev/null
end
complete -c offpeak-cron -f
complete -c offpeak-cron -a '(offpeak-cron --help 2>/dev/null | string match -r -a -- "--[a-z][a-z-]*" | sort -u)' -n 'string match -q -- "-*" (commandline -ct)'
complete -c offpeak-cron -l config -r -F
complete -c offpeak-cron -l env-file -r -F
complete -c offpeak-cron -l log-format -x -a 'text json'
complete -c offpeak-cron -n 'not string match -q -- "-*" (commandline -ct)' -a '(__offpeak_regions)'
