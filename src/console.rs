//! The one path every byte to stdout and stderr takes, so that a closed pipe
//! or a closed descriptor can never panic (`println!` and `eprintln!` do) or
//! quietly turn a failed run into a success.
//!
//! - stderr: messages are written and any error is ignored (there is nowhere
//!   left to report it); the exit code still says what happened.
//! - stdout, a reader that went away (`EPIPE`, `npy inspect *.npy | head`):
//!   not an error. Lines printed afterwards are dropped and the command keeps
//!   going, so work it does besides printing (repairs, checks) still finishes
//!   and its exit code still counts every file. A stream of array bytes
//!   (`concat -o -`) stops: there is no one left to read it.
//! - stdout closed before npy started (`>&-`), or a write that fails for
//!   another reason (`> /dev/full`): an error, exit 1, said on stderr.
//!
//! A stdout closed by the caller (`>&-`) is told from one sent to
//! `/dev/null` on purpose by looking before Rust's runtime starts (see
//! [`init`]).

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{anyhow, Result};

pub use crate::npy::error::io_words;
use crate::npy::error::lower_first;

/// stdout was closed when npy started.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The reader of stdout went away (a write failed with `EPIPE`).
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Looks at descriptor 1 before Rust's runtime starts: the runtime puts
/// `/dev/null` on any of the descriptors 0, 1, 2 the caller left closed (so
/// no file npy opens can take their number), after which a closed stdout
/// looks exactly like `/dev/null` opened on purpose (`> /dev/null`, Python's
/// `subprocess.DEVNULL`). Functions in `.init_array` run before `main`.
extern "C" fn note_closed_stdout() {
    // SAFETY: fcntl(F_GETFD) only queries the descriptor table.
    if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

#[used]
#[link_section = ".init_array"]
static NOTE_CLOSED_STDOUT: extern "C" fn() = note_closed_stdout;

/// Call first thing in `main`. (What it needs to know about stdout was
/// noted before `main`, see `note_closed_stdout`; this keeps that code
/// linked in.)
pub fn init() {
    std::hint::black_box(&NOTE_CLOSED_STDOUT);
}

/// Writes a message to stderr. Errors are ignored: stderr is where they
/// would be reported.
pub fn eprint(msg: &str) {
    let mut e = io::stderr().lock();
    let _ = e.write_all(msg.as_bytes()).and_then(|()| e.flush());
}

/// Whether stdout's reader went away; what is printed from now on is dropped.
pub fn stdout_gone() -> bool {
    STDOUT_GONE.load(Ordering::Relaxed)
}

/// Fails when stdout cannot take output at all (closed when npy started),
/// for commands to check before doing work whose only result goes there.
pub fn stdout_usable() -> Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Err(anyhow!(
            "<stdout>: standard output is closed, so nothing can be written to it"
        ));
    }
    Ok(())
}

/// Whether stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    !STDOUT_CLOSED.load(Ordering::Relaxed) && io::stdout().is_terminal()
}

/// Prints `text` (a result line) to stdout. A reader that went away is not an
/// error: the text is dropped and `Ok` returned, so the caller carries on
/// with its work. Any other failure is an error naming `<stdout>`.
pub fn print(text: &str) -> Result<()> {
    stdout_usable()?;
    if stdout_gone() {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(anyhow!("<stdout>: cannot write: {}", io_words(&e))),
    }
}

/// stdout as a byte stream for array data. A reader that went away ends the
/// stream with a `BrokenPipe` error, which `main_entry` does not report.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Err(io::Error::other("standard output is closed"));
        }
        io::stdout().lock().write(buf).inspect_err(note_pipe)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush().inspect_err(note_pipe)
    }
}

fn note_pipe(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        STDOUT_GONE.store(true, Ordering::Relaxed);
    }
}

/// An error and its causes as one line, `what: why: cause`, with IO errors
/// in words (see [`io_words`]).
pub fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        let s = match c.downcast_ref::<io::Error>() {
            Some(io) => io_words(io),
            None => strip_os_error(&c.to_string()),
        };
        // A context that already ends with its cause's words ("x: cannot
        // open: No such file") is not repeated.
        if parts.last().is_some_and(|p| p.ends_with(&s)) {
            continue;
        }
        parts.push(s);
    }
    parts.join(": ")
}

/// Removes every " (os error N)" from a message built with an IO error's
/// `Display`, lower-casing the words before it.
fn strip_os_error(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(" (os error ") {
        let Some(j) = rest[i..].find(')') else { break };
        let head = &rest[..i];
        // Lower-case the error's first word (it follows the last ": ").
        match head.rfind(": ") {
            Some(k) => {
                out.push_str(&head[..k + 2]);
                out.push_str(&lower_first(&head[k + 2..]));
            }
            None => out.push_str(&lower_first(head)),
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_in_words() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(io_words(&e), "no such file or directory");
        let a = anyhow::Error::new(e).context("x.npy: cannot open");
        assert_eq!(
            error_line(&a),
            "x.npy: cannot open: no such file or directory"
        );
        assert_eq!(
            strip_os_error("a.npy: cannot open: Permission denied (os error 13); nothing changed"),
            "a.npy: cannot open: permission denied; nothing changed"
        );
        assert_eq!(lower_first("EOF reached"), "EOF reached");
    }
}

#[cfg(test)]
mod core_errors {
    //! How the core's one error type prints (`npy::Error`, see
    //! `src/npy/error.rs`): exactly as the `anyhow` context chains it
    //! replaced.
    use std::io;
    use std::path::Path;

    use super::error_line;
    use crate::npy::{Error, ErrorKind, FormatError};

    fn enoent() -> io::Error {
        io::Error::from_raw_os_error(libc::ENOENT)
    }

    /// The line printed for a core error, as `main_entry` prints it.
    fn line(e: Error) -> String {
        error_line(&anyhow::Error::from(e))
    }

    #[test]
    fn prints_as_the_context_chain_it_replaces() {
        // `io.with_context(|| "a.npy: cannot open")`, as the core used to say it.
        let old = anyhow::Error::new(enoent()).context("a.npy: cannot open");
        let new = Error::io("cannot open", enoent()).at("a.npy");
        assert_eq!(line(new), error_line(&old));
        assert_eq!(
            error_line(&old),
            "a.npy: cannot open: no such file or directory"
        );

        // A typed error under a name: `fe.with_context(|| "b.npy")`.
        let old = anyhow::Error::new(FormatError::Magic).context("b.npy");
        let new = Error::from(FormatError::Magic).at("b.npy");
        assert_eq!(line(new), error_line(&old));

        // A FormatError holding an IO error says it once.
        let new = Error::from(FormatError::Io(enoent())).at("c.npy");
        assert_eq!(line(new), "c.npy: no such file or directory");

        // An IO error with no words of its own.
        let new = Error::from(enoent()).at("<stdin>");
        assert_eq!(line(new), "<stdin>: no such file or directory");
        assert_eq!(
            Error::from(enoent()).to_string(),
            "no such file or directory"
        );
    }

    #[test]
    fn the_name_is_said_once_and_an_inner_name_is_kept() {
        let e = Error::invalid("changed while being read").at("in.npy");
        assert_eq!(e.path(), Some(Path::new("in.npy")));
        // The same name again: unchanged.
        let e = e.at("in.npy");
        assert_eq!(e.to_string(), "in.npy: changed while being read");
        // Another name: both, outer first, as `IN: OUT: what`.
        let e = Error::io("cannot write", enoent())
            .at("out.npy")
            .at("src.bin");
        assert_eq!(e.path(), Some(Path::new("src.bin")));
        assert!(matches!(e.kind(), ErrorKind::Within(_)));
        assert_eq!(
            line(e),
            "src.bin: out.npy: cannot write: no such file or directory"
        );
    }

    #[test]
    fn io_causes_stay_in_the_chain() {
        // `is_broken_pipe` and `error_line` look for the io::Error.
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        let e = anyhow::Error::from(Error::io("cannot write", pipe).at("<stdout>"));
        assert!(crate::is_broken_pipe(&e));
        let e = Error::io("cannot read", enoent())
            .at("a.npy")
            .at("b.npy")
            .doing("ignored: not an IO kind at the top");
        assert!(std::error::Error::source(&e).is_some_and(|s| s.is::<io::Error>()));
        // `doing` rewords an IO error, keeping its name and cause.
        let e = Error::io("cannot open", enoent())
            .at("a.npy")
            .doing("cannot open for writing");
        assert_eq!(
            line(e),
            "a.npy: cannot open for writing: no such file or directory"
        );
    }
}
