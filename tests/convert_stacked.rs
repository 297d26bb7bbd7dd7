//! `npy convert_stacked` integration tests.
