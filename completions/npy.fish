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
complete -c npy -n "__fish_npy_needs_command" -f -a "show" -d 'Print an array, or part of it, exactly as numpy prints it'
complete -c npy -n "__fish_npy_needs_command" -f -a "unzip" -d 'Write the members of an .npz archive out as .npy files'
complete -c npy -n "__fish_npy_needs_command" -f -a "zip" -d 'Build an .npz archive (as np.savez writes) from .npy files'
complete -c npy -n "__fish_npy_needs_command" -f -a "stats" -d 'Count, NaN, ±Inf, min, max, mean and std of an array\'s values'
complete -c npy -n "__fish_npy_needs_command" -f -a "diff" -d 'Tell whether two .npy files hold equal arrays, and where they differ'
complete -c npy -n "__fish_npy_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c npy -n "__fish_npy_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c npy -n "__fish_npy_using_subcommand inspect" -l files-from -d 'Read more paths from FILE, one per line (`-` for stdin); they follow any FILE given on the command line' -r -F
complete -c npy -n "__fish_npy_using_subcommand inspect" -s r -l recursive -d 'Inspect every .npy file below each directory given, in sorted order'
complete -c npy -n "__fish_npy_using_subcommand inspect" -l json -d 'One JSON object per file per line'
complete -c npy -n "__fish_npy_using_subcommand inspect" -l check -d 'Exit 1 when any file is not `ok`'
complete -c npy -n "__fish_npy_using_subcommand inspect" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand append" -l dtype -d 'With --raw: the rows\' dtype as numpy names it (`float64`, `int32`, `f8`, `d`, `<f8`, `|u1`) or a record descr (`[(\'x\', \'<i4\')]`). Required when TARGET does not exist; else checked against TARGET' -r
complete -c npy -n "__fish_npy_using_subcommand append" -l shape -d 'With --raw: the shape of one row, e.g. `3` or `3,4` (TARGET\'s dims other than the growth axis); omit for rows of single values' -r
complete -c npy -n "__fish_npy_using_subcommand append" -l raw -d 'Sources hold raw row bytes in TARGET\'s memory order (no .npy header); only whole rows are appended'
complete -c npy -n "__fish_npy_using_subcommand append" -l no-wait -d 'Fail at once if another process (npy, flock(1), ...) holds the lock on TARGET, instead of waiting'
complete -c npy -n "__fish_npy_using_subcommand append" -l no-sync -d 'Skip fsync (still safe against a killed process, not power loss)'
complete -c npy -n "__fish_npy_using_subcommand append" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand append" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand append" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand concat" -s o -l output -d 'The file to write (`-` for stdout). A FIFO or a device is written through, never replaced' -r -F
complete -c npy -n "__fish_npy_using_subcommand concat" -l axis -d 'Axis to join along; negative counts from the end' -r
complete -c npy -n "__fish_npy_using_subcommand concat" -l files-from -d 'Read input paths from FILE, one per line (`-` for stdin); they follow any INPUT given on the command line' -r -F
complete -c npy -n "__fish_npy_using_subcommand concat" -l sort -d 'Sort all input paths first: `natural` puts chunk_2 before chunk_10' -r -f -a "natural\t'Digit runs compare as numbers: a2 < a10 < b1'"
complete -c npy -n "__fish_npy_using_subcommand concat" -l part -d 'Write only part K of N of OUTPUT (K from 1 to N), so that N processes, on one machine or many sharing a filesystem, make OUTPUT together. Every part must be given the same inputs, --axis and --sort. The part that completes the set publishes OUTPUT; a part that dies is run again; a part finding OUTPUT already made does nothing. One status line goes to stderr (not with --quiet)' -r
complete -c npy -n "__fish_npy_using_subcommand concat" -s f -l force -d 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost, even when OUTPUT is also an input)'
complete -c npy -n "__fish_npy_using_subcommand concat" -l no-sync -d 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)'
complete -c npy -n "__fish_npy_using_subcommand concat" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand concat" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand concat" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand repair" -l like -d 'For .npy files whose header was lost (see below): assume the dtype, order, trailing dims and header length of this file (a sibling written the same way)' -r -F
complete -c npy -n "__fish_npy_using_subcommand repair" -l check -d 'Change nothing; say what would be done and exit 1 if any file needs repair'
complete -c npy -n "__fish_npy_using_subcommand repair" -l zero-fill -d 'Complete a partial last row with zero bytes instead of dropping it'
complete -c npy -n "__fish_npy_using_subcommand repair" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand repair" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand repair" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s o -l output -d 'Where to write the joined array (`-` for stdout). A FIFO or a device is written through, never replaced' -r -F
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l axis -d 'Join like np.concatenate(..., axis=N) instead of np.vstack' -r
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l in-place -d 'Replace INPUT with the joined array (temporary file + rename, under the lock `npy append` takes)'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l stack -d 'Join like np.stack: a new leading axis (all shapes equal)'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l drop-incomplete -d 'Convert the complete arrays when the last one was cut short (an interrupted np.save), and say how many bytes were left out'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s f -l force -d 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost)'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -l no-sync -d 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand convert-stacked" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand show" -l head -d 'Only the first N rows (positions along axis 0), after INDEX' -r
complete -c npy -n "__fish_npy_using_subcommand show" -l tail -d 'Only the last N rows (positions along axis 0), after INDEX' -r
complete -c npy -n "__fish_npy_using_subcommand show" -l precision -d 'Digits after the decimal point at most, for floats (numpy default 8)' -r
complete -c npy -n "__fish_npy_using_subcommand show" -l threshold -d 'Summarize arrays of more than N elements (numpy default 1000)' -r
complete -c npy -n "__fish_npy_using_subcommand show" -l edgeitems -d 'Items kept at each end of a summarized axis (numpy default 3)' -r
complete -c npy -n "__fish_npy_using_subcommand show" -l linewidth -d 'Characters per line before wrapping (numpy default 75)' -r
complete -c npy -n "__fish_npy_using_subcommand show" -l csv -d 'Write CSV instead of numpy\'s text'
complete -c npy -n "__fish_npy_using_subcommand show" -l header -d 'With --csv, a first line naming the fields of a structured array'
complete -c npy -n "__fish_npy_using_subcommand show" -l json -d 'Write JSON (nested arrays, as a.tolist()) instead of numpy\'s text'
complete -c npy -n "__fish_npy_using_subcommand show" -l full -d 'Never summarize with `...` (np.set_printoptions(threshold=sys.maxsize))'
complete -c npy -n "__fish_npy_using_subcommand show" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand show" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand unzip" -s d -l dir -d 'Directory to write into (created if missing)' -r -F
complete -c npy -n "__fish_npy_using_subcommand unzip" -s f -l force -d 'Replace files that already exist'
complete -c npy -n "__fish_npy_using_subcommand unzip" -l no-sync -d 'Skip fsync before each rename (still safe against a killed process, not against power loss)'
complete -c npy -n "__fish_npy_using_subcommand unzip" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand unzip" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand unzip" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand zip" -s o -l output -d 'The archive to write' -r -F
complete -c npy -n "__fish_npy_using_subcommand zip" -s c -l compress -d 'Deflate the members (like np.savez_compressed)'
complete -c npy -n "__fish_npy_using_subcommand zip" -s f -l force -d 'Replace OUT if it exists'
complete -c npy -n "__fish_npy_using_subcommand zip" -l no-sync -d 'Skip fsync before the rename (still safe against a killed process, not against power loss)'
complete -c npy -n "__fish_npy_using_subcommand zip" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand zip" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand zip" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand stats" -l axis -d 'Reduce along axis 0 only: one result per column (per position of the dimensions after the first). Only 0 is supported' -r
complete -c npy -n "__fish_npy_using_subcommand stats" -l json -d 'Print one JSON object with the keys count, nan, inf, min, max, mean, std (with --axis 0 each holds an array shaped like the remaining dimensions)'
complete -c npy -n "__fish_npy_using_subcommand stats" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand stats" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand diff" -l rtol -d 'Relative tolerance (np.isclose\'s rtol; default 1e-5 once --atol is given)' -r
complete -c npy -n "__fish_npy_using_subcommand diff" -l atol -d 'Absolute tolerance (np.isclose\'s atol; default 1e-8 once --rtol is given)' -r
complete -c npy -n "__fish_npy_using_subcommand diff" -l first -d 'How many differing elements to list' -r
complete -c npy -n "__fish_npy_using_subcommand diff" -l equal-nan -d 'Count NaN as equal to NaN (and NaT to NaT)'
complete -c npy -n "__fish_npy_using_subcommand diff" -l json -d 'Print one JSON object (also when the arrays are equal)'
complete -c npy -n "__fish_npy_using_subcommand diff" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand diff" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand completions" -s q -l quiet -d 'Never show progress bars'
complete -c npy -n "__fish_npy_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c npy -n "__fish_npy_using_subcommand completions" -s V -l version -d 'Print version'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "inspect" -d 'Show what .npy files hold, reading their headers only'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "append" -d 'Append arrays to a .npy file in place, along its growth axis'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "concat" -d 'Join .npy files into one, without loading them'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "repair" -d 'Make files left behind by interrupted writers loadable again'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "convert-stacked" -d 'Turn a file holding several np.save arrays back to back into one array'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "show" -d 'Print an array, or part of it, exactly as numpy prints it'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "unzip" -d 'Write the members of an .npz archive out as .npy files'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "zip" -d 'Build an .npz archive (as np.savez writes) from .npy files'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "stats" -d 'Count, NaN, ±Inf, min, max, mean and std of an array\'s values'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "diff" -d 'Tell whether two .npy files hold equal arrays, and where they differ'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "completions" -d 'Print shell completions'
complete -c npy -n "__fish_npy_using_subcommand help; and not __fish_seen_subcommand_from inspect append concat repair convert-stacked show unzip zip stats diff completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
