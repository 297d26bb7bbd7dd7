//! Joining arrays without loading them: what `concat` and `convert-stacked`
//! share.
//!
//! [`Planner`] takes the inputs' headers one at a time (constant memory, so a
//! stacked file of ten million arrays plans like one of three), checks that
//! they join, and works out the result exactly as numpy would: its shape, its
//! header, and its memory order. numpy's `np.concatenate` chooses the result's
//! memory order from the inputs' strides (`PyArray_CreateMultiSortedStridePerm`)
//! and `np.save` writes Fortran order only for a result that is F- but not
//! C-contiguous; [`OrderVotes`] reproduces both, so a header comes out
//! byte-identical to numpy's.
//!
//! [`execute`] then writes the result as a plan of byte ranges. In the
//! result's memory order every input contributes, for each index of the axes
//! before the join axis ("outer"), one contiguous block. When there is one
//! outer index (joining along the growth axis) that is one contiguous copy per
//! input, by [`super::io::copy_range`] when it is large; otherwise
//! the blocks are interleaved through one bounded buffer, a batch of outer
//! indices at a time, reading each input's batch with one positioned read.
//! An input stored in the other memory order than the result's is read
//! transposed, any range of it on demand, from a memory map ([`Transposed`]),
//! so inputs of any size join in bounded memory.
//!
//! The planning lives below this module, in `npy::plan` (checking headers
//! and working out the result), so that `npy::scan` can judge a stacked file
//! by it without depending on `join`. This module is split by concern:
//! `exec` (writing the result), `transpose` (reordering the bytes of an
//! input stored in the other memory order) and `stacked`
//! (`convert-stacked`'s passes over one file of arrays back to back). The
//! output ([`Sink`], [`Out`]) lives beside the other IO in `npy::sink`, and
//! the memory maps that survive their file shrinking in `npy::map`.

mod exec;
pub mod inputs;
pub mod stacked;
mod transpose;

use std::fs::File;
use std::path::Path;

use super::error::Result;

pub use super::map::{Guarded, Shrank};
pub use super::plan::{
    both_contiguous, loaded_strides, saved_order, Geometry, Mode, Order, OrderVotes, Planner,
};
pub use super::sink::{Out, Sink};
pub use exec::execute;
pub use inputs::check_inputs;
pub use transpose::{transpose, Transposed};

/// One input's data, as [`Parts::visit`] hands it out.
pub struct Part<'a> {
    pub file: &'a File,
    /// The file's name, for messages.
    pub name: &'a Path,
    pub data_offset: u64,
    /// Steps along the join axis.
    pub axis_len: u64,
    /// Whether its bytes are in Fortran order (its header's `fortran_order`).
    pub fortran_order: bool,
}

/// The inputs, in order; visited once per batch of outer indices.
pub trait Parts {
    fn visit(&mut self, f: &mut dyn FnMut(Part<'_>) -> Result<()>) -> Result<()>;
    /// Whether the inputs lie back to back in one file, so reading ahead pays.
    fn sequential(&self) -> bool {
        false
    }
}
