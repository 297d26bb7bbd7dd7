
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'npy' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'npy'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'npy' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show what .npy files hold, reading their headers only')
            [CompletionResult]::new('append', 'append', [CompletionResultType]::ParameterValue, 'Append arrays to a .npy file in place, along its growth axis')
            [CompletionResult]::new('concat', 'concat', [CompletionResultType]::ParameterValue, 'Join .npy files into one, without loading them')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Make files left behind by interrupted writers loadable again')
            [CompletionResult]::new('convert-stacked', 'convert-stacked', [CompletionResultType]::ParameterValue, 'Turn a file holding several np.save arrays back to back into one array')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print an array, or part of it, exactly as numpy prints it')
            [CompletionResult]::new('unzip', 'unzip', [CompletionResultType]::ParameterValue, 'Write the members of an .npz archive out as .npy files')
            [CompletionResult]::new('zip', 'zip', [CompletionResultType]::ParameterValue, 'Build an .npz archive (as np.savez writes) from .npy files')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count, NaN, ±Inf, min, max, mean and std of an array''s values')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Tell whether two .npy files hold equal arrays, and where they differ')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'npy;inspect' {
            [CompletionResult]::new('--files-from', '--files-from', [CompletionResultType]::ParameterName, 'Read more paths from FILE, one per line (`-` for stdin); they follow any FILE given on the command line')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Inspect every .npy file below each directory given, in sorted order')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Inspect every .npy file below each directory given, in sorted order')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per file per line')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Exit 1 when any file is not `ok`')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;append' {
            [CompletionResult]::new('--dtype', '--dtype', [CompletionResultType]::ParameterName, 'With --raw: the rows'' dtype as numpy names it (`float64`, `int32`, `f8`, `d`, `<f8`, `|u1`) or a record descr (`[(''x'', ''<i4'')]`). Required when TARGET does not exist; else checked against TARGET')
            [CompletionResult]::new('--shape', '--shape', [CompletionResultType]::ParameterName, 'With --raw: the shape of one row, e.g. `3` or `3,4` (TARGET''s dims other than the growth axis); omit for rows of single values')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Sources hold raw row bytes in TARGET''s memory order (no .npy header); only whole rows are appended')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Fail at once if another process (npy, flock(1), ...) holds the lock on TARGET, instead of waiting')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync (still safe against a killed process, not power loss)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;concat' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The file to write (`-` for stdout). A FIFO or a device is written through, never replaced')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The file to write (`-` for stdout). A FIFO or a device is written through, never replaced')
            [CompletionResult]::new('--axis', '--axis', [CompletionResultType]::ParameterName, 'Axis to join along; negative counts from the end')
            [CompletionResult]::new('--files-from', '--files-from', [CompletionResultType]::ParameterName, 'Read input paths from FILE, one per line (`-` for stdin); they follow any INPUT given on the command line')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort all input paths first: `natural` puts chunk_2 before chunk_10')
            [CompletionResult]::new('--part', '--part', [CompletionResultType]::ParameterName, 'Write only part K of N of OUTPUT (K from 1 to N), so that N processes, on one machine or many sharing a filesystem, make OUTPUT together. Every part must be given the same inputs, --axis and --sort. The part that completes the set publishes OUTPUT; a part that dies is run again; a part finding OUTPUT already made does nothing. One status line goes to stderr (not with --quiet)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost, even when OUTPUT is also an input)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost, even when OUTPUT is also an input)')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;repair' {
            [CompletionResult]::new('--like', '--like', [CompletionResultType]::ParameterName, 'For .npy files whose header was lost (see below): assume the dtype, order, trailing dims and header length of this file (a sibling written the same way)')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Change nothing; say what would be done and exit 1 if any file needs repair')
            [CompletionResult]::new('--zero-fill', '--zero-fill', [CompletionResultType]::ParameterName, 'Complete a partial last row with zero bytes instead of dropping it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;convert-stacked' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the joined array (`-` for stdout). A FIFO or a device is written through, never replaced')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the joined array (`-` for stdout). A FIFO or a device is written through, never replaced')
            [CompletionResult]::new('--axis', '--axis', [CompletionResultType]::ParameterName, 'Join like np.concatenate(..., axis=N) instead of np.vstack')
            [CompletionResult]::new('--in-place', '--in-place', [CompletionResultType]::ParameterName, 'Replace INPUT with the joined array (temporary file + rename, under the lock `npy append` takes)')
            [CompletionResult]::new('--stack', '--stack', [CompletionResultType]::ParameterName, 'Join like np.stack: a new leading axis (all shapes equal)')
            [CompletionResult]::new('--drop-incomplete', '--drop-incomplete', [CompletionResultType]::ParameterName, 'Convert the complete arrays when the last one was cut short (an interrupted np.save), and say how many bytes were left out')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists (a regular file only; under the lock `npy append` takes, so no append to it is lost)')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;show' {
            [CompletionResult]::new('--head', '--head', [CompletionResultType]::ParameterName, 'Only the first N rows (positions along axis 0), after INDEX')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Only the last N rows (positions along axis 0), after INDEX')
            [CompletionResult]::new('--precision', '--precision', [CompletionResultType]::ParameterName, 'Digits after the decimal point at most, for floats (numpy default 8)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Summarize arrays of more than N elements (numpy default 1000)')
            [CompletionResult]::new('--edgeitems', '--edgeitems', [CompletionResultType]::ParameterName, 'Items kept at each end of a summarized axis (numpy default 3)')
            [CompletionResult]::new('--linewidth', '--linewidth', [CompletionResultType]::ParameterName, 'Characters per line before wrapping (numpy default 75)')
            [CompletionResult]::new('--csv', '--csv', [CompletionResultType]::ParameterName, 'Write CSV instead of numpy''s text')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'With --csv, a first line naming the fields of a structured array')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Write JSON (nested arrays, as a.tolist()) instead of numpy''s text')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Never summarize with `...` (np.set_printoptions(threshold=sys.maxsize))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;unzip' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Directory to write into (created if missing)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory to write into (created if missing)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Replace files that already exist')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace files that already exist')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync before each rename (still safe against a killed process, not against power loss)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;zip' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The archive to write')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The archive to write')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Deflate the members (like np.savez_compressed)')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'Deflate the members (like np.savez_compressed)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Replace OUT if it exists')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUT if it exists')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync before the rename (still safe against a killed process, not against power loss)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;stats' {
            [CompletionResult]::new('--axis', '--axis', [CompletionResultType]::ParameterName, 'Reduce along axis 0 only: one result per column (per position of the dimensions after the first). Only 0 is supported')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object with the keys count, nan, inf, min, max, mean, std (with --axis 0 each holds an array shaped like the remaining dimensions)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;diff' {
            [CompletionResult]::new('--rtol', '--rtol', [CompletionResultType]::ParameterName, 'Relative tolerance (np.isclose''s rtol; default 1e-5 once --atol is given)')
            [CompletionResult]::new('--atol', '--atol', [CompletionResultType]::ParameterName, 'Absolute tolerance (np.isclose''s atol; default 1e-8 once --rtol is given)')
            [CompletionResult]::new('--first', '--first', [CompletionResultType]::ParameterName, 'How many differing elements to list')
            [CompletionResult]::new('--equal-nan', '--equal-nan', [CompletionResultType]::ParameterName, 'Count NaN as equal to NaN (and NaT to NaT)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object (also when the arrays are equal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;completions' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Never show progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'npy;help' {
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show what .npy files hold, reading their headers only')
            [CompletionResult]::new('append', 'append', [CompletionResultType]::ParameterValue, 'Append arrays to a .npy file in place, along its growth axis')
            [CompletionResult]::new('concat', 'concat', [CompletionResultType]::ParameterValue, 'Join .npy files into one, without loading them')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Make files left behind by interrupted writers loadable again')
            [CompletionResult]::new('convert-stacked', 'convert-stacked', [CompletionResultType]::ParameterValue, 'Turn a file holding several np.save arrays back to back into one array')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print an array, or part of it, exactly as numpy prints it')
            [CompletionResult]::new('unzip', 'unzip', [CompletionResultType]::ParameterValue, 'Write the members of an .npz archive out as .npy files')
            [CompletionResult]::new('zip', 'zip', [CompletionResultType]::ParameterValue, 'Build an .npz archive (as np.savez writes) from .npy files')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count, NaN, ±Inf, min, max, mean and std of an array''s values')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Tell whether two .npy files hold equal arrays, and where they differ')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'npy;help;inspect' {
            break
        }
        'npy;help;append' {
            break
        }
        'npy;help;concat' {
            break
        }
        'npy;help;repair' {
            break
        }
        'npy;help;convert-stacked' {
            break
        }
        'npy;help;show' {
            break
        }
        'npy;help;unzip' {
            break
        }
        'npy;help;zip' {
            break
        }
        'npy;help;stats' {
            break
        }
        'npy;help;diff' {
            break
        }
        'npy;help;completions' {
            break
        }
        'npy;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
