//! One integration-test binary: a module per subcommand, plus the shared
//! harness in `common`. numpy is the oracle wherever it can be.

mod common;

mod append;
mod cli;
mod concat;
mod convert_stacked;
mod diff;
mod docs;
mod fidelity;
mod format;
mod inspect;
mod keeptext;
mod npz;
mod part;
mod reliability;
mod repair;
mod safety;
mod show;
mod speed;
mod stats;
mod wire;
