# The region ids of the offpeak config the command line names (--config, else $OFFPEAK_CONFIG,
# else ./regions.toml, else /etc/offpeak/regions.toml), for the completions of the offpeak tools.
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
