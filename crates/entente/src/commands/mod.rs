//! One module per subcommand. Each exposes `Args` (clap) and `run`.

pub mod validate;
