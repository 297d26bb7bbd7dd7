# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_npy_global_optspecs
    string join \n q/quiet h/help V/version
end

function __fish_npy_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_npy_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_npy_using_subcommand
    set -l cmd (__fish_npy_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c npy -n "__fish_npy_needs_command" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_needs_command" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_needs_command" -f -a "inspect" -d 'Show what .npy files hold, reading their headers only'
complete -c npy -n "__fish_npy_needs_command" -f -a "append" -d 'Append arrays to a .npy file in place, along its growth axis'
complete -c npy -n "__fish_npy_needs_command" -f -a "concat" -d 'Join .npy files into one, without loading them'
complete -c npy -n "__fish_npy_needs_command" -f -a "repair" -d 'Make files left behind by interrupted writers loadable again'
complete -c npy -n "__fish_npy_needs_command" -f -a "convert-stacked" -d 'Turn a file holding several np.save arrays back to back into one array'
complete -c npy -n "__fish_npy_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c npy -n "__fish_npy_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c npy -n "__fish_npy_using_subcommand inspect" -l json -d 'One JSON object per file per line'
complete -c npy -n "__fish_npy_using_subcommand inspect" -l check -d 'Exit 1 when any file is not `ok`'
complete -c npy -n "__fish_npy_using_subcommand inspect" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand append" -l dtype -d 'With --raw: the rows\' dtype as numpy names it (`float64`, `int32`, `f8`, `d`, `<f8`, `|u1`) or a record descr (`[(\'x\', \'<i4\')]`). Required when TARGET does not exist; else checked against TARGET' -r
complete -c npy -n "__fish_npy_using_subcommand append" -l shape -d 'With --raw: the shape of one row, e.g. `3` or `3,4` (TARGET\'s dims other than the growth axis); omit for rows of single values' -r
complete -c npy -n "__fish_npy_using_subcommand append" -l raw -d 'Sources hold raw row bytes in TARGET\'s memory order (no .npy header); only whole rows are appended'
complete -c npy -n "__fish_npy_using_subcommand append" -l no-wait -d 'Fail at once if another process holds the lock, instead of waiting'
complete -c npy -n "__fish_npy_using_subcommand append" -l no-sync -d 'Skip fsync (still safe against a killed process, not power loss)'
complete -c npy -n "__fish_npy_using_subcommand append" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand append" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand append" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand concat" -s o -l output -d 'The file to write (`-` for stdout)' -r -F
complete -c npy -n "__fish_npy_using_subcommand concat" -l axis -d 'Axis to join along; negative counts from the end' -r
complete -c npy -n "__fish_npy_using_subcommand concat" -l files-from -d 'Read input paths from FILE, one per line (`-` for stdin); they follow any INPUT given on the command line' -r -F
complete -c npy -n "__fish_npy_using_subcommand concat" -l sort -d 'Sort all input paths first: `natural` puts chunk_2 before chunk_10' -r -f -a "natural\t'Digit runs compare as numbers: a2 < a10 < b1'"
complete -c npy -n "__fish_npy_using_subcommand concat" -s f -l force -d 'Replace OUTPUT if it exists'
complete -c npy -n "__fish_npy_using_subcommand concat" -l no-sync -d 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)'
complete -c npy -n "__fish_npy_using_subcommand concat" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand concat" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand concat" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand repair" -l like -d 'For files whose header cannot be read: assume the dtype, order, trailing dims and header length of this file (a sibling written the same way)' -r -F
complete -c npy -n "__fish_npy_using_subcommand repair" -l check -d 'Change nothing; say what would be done and exit 1 if any file needs repair'
complete -c npy -n "__fish_npy_using_subcommand repair" -l zero-fill -d 'Complete a partial last row with zero bytes instead of dropping it'
complete -c npy -n "__fish_npy_using_subcommand repair" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand repair" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand repair" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s o -l output -d 'Where to write the joined array' -r -F
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l axis -d 'Join like np.concatenate(..., axis=N) instead of np.vstack' -r
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l in-place -d 'Replace INPUT with the joined array (temporary file + rename)'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l stack -d 'Join like np.stack: a new leading axis (all shapes equal)'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l drop-incomplete -d 'Convert the complete arrays when the last one was cut short (an interrupted np.save), and say how many bytes were left out'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s f -l force -d 'Replace OUTPUT if it exists'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l no-sync -d 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand completions" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand completions" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked completions help" -f -a "inspect" -d 'Show what .npy files hold, reading their headers only'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked completions help" -f -a "append" -d 'Append arrays to a .npy file in place, along its growth axis'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked completions help" -f -a "concat" -d 'Join .npy files into one, without loading them'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked completions help" -f -a "repair" -d 'Make files left behind by interrupted writers loadable again'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked completions help" -f -a "convert-stacked" -d 'Turn a file holding several np.save arrays back to back into one array'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked completions help" -f -a "completions" -d 'Print shell completions'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
