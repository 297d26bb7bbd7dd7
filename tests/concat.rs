//! `npy concat` integration tests.
