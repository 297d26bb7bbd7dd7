//! inspect tests.
