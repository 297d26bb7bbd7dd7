
use builtin;
use str;

set edit:completion:arg-completer[npy] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'npy'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'npy'= {
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand inspect 'Show what .npy files hold, reading their headers only'
            cand append 'Append arrays to a .npy file in place, along its growth axis'
            cand concat 'Join .npy files into one, without loading them'
            cand repair 'Make files left behind by interrupted writers loadable again'
            cand convert-stacked 'Turn a file holding several np.save arrays back to back into one array'
            cand show 'Print an array, or part of it, exactly as numpy prints it'
            cand unzip 'Write the members of an .npz archive out as .npy files'
            cand zip 'Build an .npz archive (as np.savez writes) from .npy files'
            cand stats 'Count, NaN, ±Inf, min, max, mean and std of an array''s values'
            cand diff 'Tell whether two .npy files hold equal arrays, and where they differ'
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'npy;inspect'= {
            cand --files-from 'Read more paths from FILE, one per line (`-` for stdin); they follow any FILE given on the command line'
            cand -r 'Inspect every .npy file below each directory given, in sorted order'
            cand --recursive 'Inspect every .npy file below each directory given, in sorted order'
            cand --json 'One JSON object per file per line'
            cand --check 'Exit 1 when any file is not `ok`'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;append'= {
            cand --dtype 'With --raw: the rows'' dtype as numpy names it (`float64`, `int32`, `f8`, `d`, `<f8`, `|u1`) or a record descr (`[(''x'', ''<i4'')]`). Required when TARGET does not exist; else checked against TARGET'
            cand --shape 'With --raw: the shape of one row, e.g. `3` or `3,4` (TARGET''s dims other than the growth axis); omit for rows of single values'
            cand --raw 'Sources hold raw row bytes in TARGET''s memory order (no .npy header); only whole rows are appended'
            cand --no-wait 'Fail at once if another process (npy, flock(1), ...) holds the lock on TARGET, instead of waiting'
            cand --no-sync 'Skip fsync (still safe against a killed process, not power loss)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;concat'= {
            cand -o 'The file to write (`-` for stdout). A FIFO or a device is written through, never replaced'
            cand --output 'The file to write (`-` for stdout). A FIFO or a device is written through, never replaced'
            cand --axis 'Axis to join along; negative counts from the end'
            cand --files-from 'Read input paths from FILE, one per line (`-` for stdin); they follow any INPUT given on the command line'
            cand --sort 'Sort all input paths first: `natural` puts chunk_2 before chunk_10'
            cand --part 'Write only part K of N of OUTPUT (K from 1 to N), so that N processes, on one machine or many sharing a filesystem, make OUTPUT together. Every part must be given the same inputs, --axis and --sort. The part that completes the set publishes OUTPUT; a part that dies is run again; a part finding OUTPUT already made does nothing. One status line goes to stderr (not with --quiet)'
            cand -f 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost, even when OUTPUT is also an input)'
            cand --force 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost, even when OUTPUT is also an input)'
            cand --no-sync 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;repair'= {
            cand --like 'For .npy files whose header was lost (see below): assume the dtype, order, trailing dims and header length of this file (a sibling written the same way)'
            cand --check 'Change nothing; say what would be done and exit 1 if any file needs repair'
            cand --zero-fill 'Complete a partial last row with zero bytes instead of dropping it'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;convert-stacked'= {
            cand -o 'Where to write the joined array (`-` for stdout). A FIFO or a device is written through, never replaced'
            cand --output 'Where to write the joined array (`-` for stdout). A FIFO or a device is written through, never replaced'
            cand --axis 'Join like np.concatenate(..., axis=N) instead of np.vstack'
            cand --in-place 'Replace INPUT with the joined array (temporary file + rename, under the lock `npy append` takes)'
            cand --stack 'Join like np.stack: a new leading axis (all shapes equal)'
            cand --drop-incomplete 'Convert the complete arrays when the last one was cut short (an interrupted np.save), and say how many bytes were left out'
            cand -f 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost)'
            cand --force 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost)'
            cand --no-sync 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;show'= {
            cand --head 'Only the first N rows (positions along axis 0), after INDEX'
            cand --tail 'Only the last N rows (positions along axis 0), after INDEX'
            cand --precision 'Digits after the decimal point at most, for floats (numpy default 8)'
            cand --threshold 'Summarize arrays of more than N elements (numpy default 1000)'
            cand --edgeitems 'Items kept at each end of a summarized axis (numpy default 3)'
            cand --linewidth 'Characters per line before wrapping (numpy default 75)'
            cand --csv 'Write CSV instead of numpy''s text'
            cand --header 'With --csv, a first line naming the fields of a structured array'
            cand --json 'Write JSON (nested arrays, as a.tolist()) instead of numpy''s text'
            cand --full 'Never summarize with `...` (np.set_printoptions(threshold=sys.maxsize))'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;unzip'= {
            cand -d 'Directory to write into (created if missing)'
            cand --dir 'Directory to write into (created if missing)'
            cand -f 'Replace files that already exist'
            cand --force 'Replace files that already exist'
            cand --no-sync 'Skip fsync before each rename (still safe against a killed process, not against power loss)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;zip'= {
            cand -o 'The archive to write'
            cand --output 'The archive to write'
            cand -c 'Deflate the members (like np.savez_compressed)'
            cand --compress 'Deflate the members (like np.savez_compressed)'
            cand -f 'Replace OUT if it exists'
            cand --force 'Replace OUT if it exists'
            cand --no-sync 'Skip fsync before the rename (still safe against a killed process, not against power loss)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;stats'= {
            cand --axis 'Reduce along axis 0 only: one result per column (per position of the dimensions after the first). Only 0 is supported'
            cand --json 'Print one JSON object with the keys count, nan, inf, min, max, mean, std (with --axis 0 each holds an array shaped like the remaining dimensions)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;diff'= {
            cand --rtol 'Relative tolerance (np.isclose''s rtol; default 1e-5 once --atol is given)'
            cand --atol 'Absolute tolerance (np.isclose''s atol; default 1e-8 once --rtol is given)'
            cand --first 'How many differing elements to list'
            cand --equal-nan 'Count NaN as equal to NaN (and NaT to NaT)'
            cand --json 'Print one JSON object (also when the arrays are equal)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;completions'= {
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;help'= {
            cand inspect 'Show what .npy files hold, reading their headers only'
            cand append 'Append arrays to a .npy file in place, along its growth axis'
            cand concat 'Join .npy files into one, without loading them'
            cand repair 'Make files left behind by interrupted writers loadable again'
            cand convert-stacked 'Turn a file holding several np.save arrays back to back into one array'
            cand show 'Print an array, or part of it, exactly as numpy prints it'
            cand unzip 'Write the members of an .npz archive out as .npy files'
            cand zip 'Build an .npz archive (as np.savez writes) from .npy files'
            cand stats 'Count, NaN, ±Inf, min, max, mean and std of an array''s values'
            cand diff 'Tell whether two .npy files hold equal arrays, and where they differ'
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'npy;help;inspect'= {
        }
        &'npy;help;append'= {
        }
        &'npy;help;concat'= {
        }
        &'npy;help;repair'= {
        }
        &'npy;help;convert-stacked'= {
        }
        &'npy;help;show'= {
        }
        &'npy;help;unzip'= {
        }
        &'npy;help;zip'= {
        }
        &'npy;help;stats'= {
        }
        &'npy;help;diff'= {
        }
        &'npy;help;completions'= {
        }
        &'npy;help;help'= {
        }
    ]
    $completions[$command]
}
