//! `npy repair` integration tests.
