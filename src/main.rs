//! `npy`: grow, join, inspect, repair and convert NumPy `.npy` files.
//! All the work is in the library; this only runs it and sets the exit code.

fn main() -> std::process::ExitCode {
    npy_tools::main_entry()
}
