//! `npy append` integration tests.
