
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
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'npy;inspect' {
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
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Fail at once if another process holds the lock, instead of waiting')
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The file to write (`-` for stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The file to write (`-` for stdout)')
            [CompletionResult]::new('--axis', '--axis', [CompletionResultType]::ParameterName, 'Axis to join along; negative counts from the end')
            [CompletionResult]::new('--files-from', '--files-from', [CompletionResultType]::ParameterName, 'Read input paths from FILE, one per line (`-` for stdin); they follow any INPUT given on the command line')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort all input paths first: `natural` puts chunk_2 before chunk_10')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists')
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
            [CompletionResult]::new('--like', '--like', [CompletionResultType]::ParameterName, 'For files whose header cannot be read: assume the dtype, order, trailing dims and header length of this file (a sibling written the same way)')
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the joined array')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the joined array')
            [CompletionResult]::new('--axis', '--axis', [CompletionResultType]::ParameterName, 'Join like np.concatenate(..., axis=N) instead of np.vstack')
            [CompletionResult]::new('--in-place', '--in-place', [CompletionResultType]::ParameterName, 'Replace INPUT with the joined array (temporary file + rename)')
            [CompletionResult]::new('--stack', '--stack', [CompletionResultType]::ParameterName, 'Join like np.stack: a new leading axis (all shapes equal)')
            [CompletionResult]::new('--drop-incomplete', '--drop-incomplete', [CompletionResultType]::ParameterName, 'Convert the complete arrays when the last one was cut short (an interrupted np.save), and say how many bytes were left out')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync before the rename (still safe against a killed process, not against power loss: OUTPUT may then appear with missing data)')
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
