# fish completion for offpeak-plan: options from its --help, region ids from the config
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
complete -c offpeak-plan -f
complete -c offpeak-plan -a '(offpeak-plan --help 2>/dev/null | string match -r -a -- "--[a-z][a-z-]*" | sort -u)' -n 'string match -q -- "-*" (commandline -ct)'
complete -c offpeak-plan -l config -r -F
complete -c offpeak-plan -l env-file -r -F
complete -c offpeak-plan -l log-format -x -a 'text json'
complete -c offpeak-plan -l region -x -a '(__offpeak_regions)'
complete -c offpeak-plan -l mark-done -x -a '(__offpeak_regions)'
complete -c offpeak-plan -l state-dir -r -F
complete -c offpeak-plan -l metrics-file -r -F
