
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
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'npy;inspect'= {
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
            cand --no-wait 'Fail at once if another process holds the lock, instead of waiting'
            cand --no-sync 'Skip fsync (still safe against a killed process, not power loss)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;concat'= {
            cand -o 'The file to write (`-` for stdout)'
            cand --output 'The file to write (`-` for stdout)'
            cand --axis 'Axis to join along; negative counts from the end'
            cand --files-from 'Read input paths from FILE, one per line (`-` for stdin); they follow any INPUT given on the command line'
            cand --sort 'Sort all input paths first: `natural` puts chunk_2 before chunk_10'
            cand -f 'Replace OUTPUT if it exists'
            cand --force 'Replace OUTPUT if it exists'
            cand --no-sync 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)'
            cand -q 'Never show progress bars'
            cand --quiet 'Never show progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'npy;repair'= {
            cand --like 'For files whose header cannot be read: assume the dtype, order, trailing dims and header length of this file (a sibling written the same way)'
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
            cand -o 'Where to write the joined array'
            cand --output 'Where to write the joined array'
            cand --axis 'Join like np.concatenate(..., axis=N) instead of np.vstack'
            cand --in-place 'Replace INPUT with the joined array (temporary file + rename)'
            cand --stack 'Join like np.stack: a new leading axis (all shapes equal)'
            cand --drop-incomplete 'Convert the complete arrays when the last one was cut short (an interrupted np.save), and say how many bytes were left out'
            cand -f 'Replace OUTPUT if it exists'
            cand --force 'Replace OUTPUT if it exists'
            cand --no-sync 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)'
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
        &'npy;help;completions'= {
        }
        &'npy;help;help'= {
        }
    ]
    $completions[$command]
}
